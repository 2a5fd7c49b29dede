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
  --wait                answer once the runner has applied the change (exit 6 if it has not in time)
  --timeout-ms <ms>     how long --wait waits, 1 to 300000 (default 10000)

${CLIENT_HELP}
`;

const DEFAULT_WAIT_MS = 10_000;

function parseTimeout(raw: string | undefined, wait: boolean): number | undefined {
  if (raw === undefined) return undefined;
  if (!wait) throw new UsageError('--timeout-ms goes with --wait');
  const ms = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || ms < 1 || ms > 300_000)
    throw new UsageError(`--timeout-ms must be 1 to 300000 milliseconds, not "${raw}"`);
  return ms;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...CLIENT_OPTIONS, ...IF_VERSION_OPTION, wait: { type: 'boolean' }, 'timeout-ms': { type: 'string' } },
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
  const timeoutMs = parseTimeout(values['timeout-ms'], values.wait ?? false);
  return runClientCommand(values, async (ctx) => {
    const variables = { strategyKey, expectedVersion, waitForRunner: values.wait ?? false, timeoutMs };
    // The server holds the answer while it waits for the runner; give the request that long and more.
    const settings = { ...ctx.settings, timeoutMs: (timeoutMs ?? DEFAULT_WAIT_MS) + 30_000 };
    const { activateStrategy: result } = await execute(settings, ActivateStrategyDocument, variables);
    const wait = result.runnerWait;
    const waitFailed = wait !== null && !wait.applied;
    if (waitFailed) {
      process.stderr.write(
        `error: activated ${result.activeStrategyKey} (config version ${result.configVersion}), but the runner has not applied it: ${wait.message}\n` +
          `Runner state ${wait.runnerState}: check "stratctl status" (is the runner running?), or wait longer with --timeout-ms.\n`,
      );
    }
    if (ctx.json) {
      printJson(ctx, result);
      return waitFailed ? EXIT.waitTimeout : EXIT.ok;
    }
    if (waitFailed) return EXIT.waitTimeout;
    ctx.print(
      result.previousStrategyKey === result.activeStrategyKey
        ? `${result.activeStrategyKey} was already active (config version ${result.configVersion})`
        : `activated ${result.activeStrategyKey} (was ${result.previousStrategyKey}); config version ${result.configVersion}`,
    );
    if (wait) ctx.print(`the runner applied it (${wait.waitedMs} ms)`);
  });
}
