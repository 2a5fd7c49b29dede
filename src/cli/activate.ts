import { parseArgs } from 'node:util';
import { execute } from '../client/http.js';
import { ActivateStrategyDocument } from '../generated/graphql.js';
import { UsageError } from '../settings.js';
import { CLIENT_HELP, CLIENT_OPTIONS, printJson, runClientCommand } from './client-command.js';
import { EXIT } from './exit-codes.js';
import { IF_VERSION_HELP, IF_VERSION_OPTION, parseIfVersion } from './version-flag.js';

export const help = `Usage: stratctl activate <strategy-key> [options]

Makes a strategy the active one (needs a token with scope operate). The runner switches on its
next scan, without a restart. "stratctl strategies" lists the keys.

Options:
${IF_VERSION_HELP}

${CLIENT_HELP}
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...CLIENT_OPTIONS, ...IF_VERSION_OPTION }, allowPositionals: true });
  if (values.help) {
    process.stdout.write(help);
    return EXIT.ok;
  }
  const [strategyKey, ...extra] = positionals;
  if (strategyKey === undefined) throw new UsageError('which strategy? give its key, e.g. stratctl activate gold');
  if (extra.length > 0) throw new UsageError(`one strategy key only (got "${positionals.join('", "')}")`);
  const expectedVersion = parseIfVersion(values['if-version']);
  return runClientCommand(values, async (ctx) => {
    const { activateStrategy: result } = await execute(ctx.settings, ActivateStrategyDocument, { strategyKey, expectedVersion });
    if (ctx.json) return printJson(ctx, result);
    ctx.print(
      result.previousStrategyKey === result.activeStrategyKey
        ? `${result.activeStrategyKey} was already active (config version ${result.configVersion})`
        : `activated ${result.activeStrategyKey} (was ${result.previousStrategyKey}); config version ${result.configVersion}`,
    );
  });
}
