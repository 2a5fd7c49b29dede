import { parseArgs } from 'node:util';
import { execute } from '../client/http.js';
import { ActivateStrategyDocument } from '../generated/graphql.js';
import { UsageError } from '../settings.js';
import { CLIENT_HELP, CLIENT_OPTIONS, printJson, runClientCommand } from './client-command.js';
import { EXIT } from './exit-codes.js';
import { IF_VERSION_HELP, IF_VERSION_OPTION, parseIfVersion } from './version-flag.js';
import { parseWait, reportUnappliedWait, settingsForWait, WAIT_HELP, WAIT_OPTIONS } from './wait-flag.js';

export const help = `Usage: stratctl activate <strategy-key> [options]

Makes a strategy the active one (needs a token with scope operate). The runner switches on its
next scan, without a restart. "stratctl strategies" lists the keys.

Options:
${IF_VERSION_HELP}
${WAIT_HELP}

${CLIENT_HELP}
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...CLIENT_OPTIONS, ...IF_VERSION_OPTION, ...WAIT_OPTIONS },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(help);
    return EXIT.ok;
  }
  const [strategyKey, ...extra] = positionals;
  if (strategyKey === undefined) throw new UsageError('which strategy? give its key, e.g. stratctl activate gold');
  if (extra.length > 0) throw new UsageError(`one strategy key only (got "${positionals.join('", "')}")`);
  const expectedVersion = parseIfVersion(values['if-version']);
  const wait = parseWait(values);
  return runClientCommand(values, async (ctx) => {
    const variables = { strategyKey, expectedVersion, ...wait };
    const { activateStrategy: result } = await execute(settingsForWait(ctx.settings, wait), ActivateStrategyDocument, variables);
    const unapplied = reportUnappliedWait(
      `activated ${result.activeStrategyKey} (config version ${result.configVersion})`,
      result.runnerWait,
    );
    if (ctx.json) {
      printJson(ctx, result);
      return unapplied ?? EXIT.ok;
    }
    if (unapplied !== null) return unapplied;
    ctx.print(
      result.previousStrategyKey === result.activeStrategyKey
        ? `${result.activeStrategyKey} was already active (config version ${result.configVersion})`
        : `activated ${result.activeStrategyKey} (was ${result.previousStrategyKey}); config version ${result.configVersion}`,
    );
    if (result.runnerWait) ctx.print(`the runner applied it (${result.runnerWait.waitedMs} ms)`);
  });
}
