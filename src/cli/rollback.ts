import { execute } from '../client/http.js';
import { MAX_VERSION } from '../config/errors.js';
import { decimalSetting } from '../env-setting.js';
import { RollbackConfigDocument } from '../generated/graphql.js';
import { UsageError } from '../usage-error.js';
import { fileKeys, printJson, runClientCommand } from './client-command.js';
import { EXIT } from './exit-codes.js';
import { type Action, stringFlag } from './program.js';
import { parseIfVersion } from './version-flag.js';
import { jsonWithWait, parseWait, printApplied, printNotApplied, reportUnappliedWait, settingsForWait } from './wait-flag.js';

/** `stratctl rollback <version>`: re-applies the settings of a past version as a new version. */
export const rollback: Action = async (flags, [raw], ctx) => {
  const toVersion = decimalSetting(raw ?? '');
  // Versions are GraphQL Ints (32-bit), as --if-version checks: a larger one was refused by the server in GraphQL's words.
  if (!(toVersion >= 1 && toVersion <= MAX_VERSION))
    throw new UsageError(`<version> must be a config version from "stratctl history" (a whole number up to ${MAX_VERSION}), not "${raw}"`);
  const expectedVersion = parseIfVersion(stringFlag(flags, 'if-version'));
  const wait = parseWait(flags);
  return runClientCommand(flags, ctx, async (ctx) => {
    const { rollbackConfig: result } = await execute(settingsForWait(ctx.settings, wait), RollbackConfigDocument, {
      toVersion,
      expectedVersion,
      ...wait,
    });
    const unapplied = reportUnappliedWait(
      ctx,
      result.changed
        ? `rolled back to version ${toVersion}'s settings (config version ${result.config.version})`
        : `version ${toVersion}'s settings were already in force (config version ${result.config.version})`,
      result.runnerWait,
    );
    if (ctx.json) {
      printJson(ctx, jsonWithWait(result));
      return unapplied ?? EXIT.ok;
    }
    ctx.print(
      result.changed
        ? `rolled back to version ${toVersion}'s settings: config version ${result.config.version} (changed ${result.changedFields.map(fileKeys).join(', ')})`
        : `version ${toVersion}'s settings are already in force (config version ${result.config.version}): nothing written`,
    );
    // Timed out: the change stands, so stdout says what it is, then that the runner has not applied it (exit 6).
    if (unapplied !== null && result.runnerWait) {
      printNotApplied(ctx, result.runnerWait);
      return unapplied;
    }
    printApplied(ctx, result.runnerWait, result.changed);
  });
};
