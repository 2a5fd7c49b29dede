import { execute } from '../client/http.js';
import { ActivateStrategyDocument } from '../generated/graphql.js';
import { printJson, runClientCommand } from './client-command.js';
import { EXIT } from './exit-codes.js';
import type { Action } from './program.js';
import { stringFlag } from './program.js';
import { parseIfVersion } from './version-flag.js';
import { jsonWithWait, parseWait, printApplied, printNotApplied, reportUnappliedWait, settingsForWait } from './wait-flag.js';

/** `stratctl activate <strategy-key>`: makes a strategy the active one. */
export const activate: Action = async (flags, [strategyKey], ctx) => {
  const expectedVersion = parseIfVersion(stringFlag(flags, 'if-version'));
  const wait = parseWait(flags);
  return runClientCommand(flags, ctx, async (ctx) => {
    const variables = { strategyKey: strategyKey as string, expectedVersion, ...wait };
    const { activateStrategy: result } = await execute(settingsForWait(ctx.settings, wait), ActivateStrategyDocument, variables);
    // A no-op said "activated ..." before "nothing changed" when the wait timed out.
    const unapplied = reportUnappliedWait(
      ctx,
      result.changed
        ? `activated ${result.activeStrategyKey} (config version ${result.configVersion})`
        : `${result.activeStrategyKey} was already active (config version ${result.configVersion})`,
      result.runnerWait,
    );
    if (ctx.json) {
      printJson(ctx, jsonWithWait(result));
      return unapplied ?? EXIT.ok;
    }
    ctx.print(
      result.previousStrategyKey === result.activeStrategyKey
        ? `${result.activeStrategyKey} was already active (config version ${result.configVersion})`
        : `activated ${result.activeStrategyKey} (was ${result.previousStrategyKey}); config version ${result.configVersion}`,
    );
    // Timed out: the change stands, so stdout says what it is, then that the runner has not applied it (exit 6).
    if (unapplied !== null && result.runnerWait) {
      printNotApplied(ctx, result.runnerWait);
      return unapplied;
    }
    printApplied(ctx, result.runnerWait, result.changed);
  });
};
