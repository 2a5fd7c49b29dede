import { parseArgs } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { execute } from '../client/http.js';
import { StatusDocument, UpdateConfigDocument, type UpdateConfigMutation } from '../generated/graphql.js';
import { UsageError } from '../settings.js';
import { CLIENT_HELP, CLIENT_OPTIONS, noPositionals, printJson, runClientCommand } from './client-command.js';
import { parseAssignments, SETTABLE_KEYS } from './config-assignments.js';
import { EXIT } from './exit-codes.js';
import { IF_VERSION_HELP, IF_VERSION_OPTION, parseIfVersion } from './version-flag.js';
import { parseWait, reportUnappliedWait, settingsForWait, WAIT_HELP, WAIT_OPTIONS } from './wait-flag.js';

export const help = `Usage: stratctl config get [options]
       stratctl config set <key>=<value> ... [options]

get  prints the runtime config in force, in the file's snake_case (--json: as the API names it).
set  changes some settings in one validated write (needs a token with scope admin). Keys:
       ${SETTABLE_KEYS.join('\n       ')}
     Values are YAML scalars (20, 0.5, true, gold); null removes an override.
     e.g. stratctl config set scan_interval_seconds=15 tunable_overrides.momentum.lookback_bars=20

Options (set only):
${IF_VERSION_HELP}
${WAIT_HELP}

${CLIENT_HELP}
`;

type Config = UpdateConfigMutation['updateConfig']['config'];

/** The config as the file spells it, so what `get` prints is what `set` takes. */
function asFile(config: Config): string {
  return toYaml({
    active_strategy_key: config.activeStrategyKey,
    trading_enabled: config.tradingEnabled,
    scan_interval_seconds: config.scanIntervalSeconds,
    tunable_overrides: config.tunableOverrides,
    version: config.version,
    updated_at: config.updatedAt,
  }).trimEnd();
}

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
  const [action, ...rest] = positionals;
  if (action === 'get') {
    noPositionals(rest);
    for (const flag of ['if-version', 'wait', 'timeout-ms'] as const)
      if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with config set`);
    return runClientCommand(values, async (ctx) => {
      const { config } = await execute(ctx.settings, StatusDocument);
      if (ctx.json) return printJson(ctx, config);
      ctx.print(asFile(config));
    });
  }
  if (action === 'set') {
    const input = parseAssignments(rest);
    const expectedVersion = parseIfVersion(values['if-version']);
    const wait = parseWait(values);
    return runClientCommand(values, async (ctx) => {
      const { updateConfig } = await execute(settingsForWait(ctx.settings, wait), UpdateConfigDocument, {
        input,
        expectedVersion,
        ...wait,
      });
      const unapplied = reportUnappliedWait(`config saved as version ${updateConfig.config.version}`, updateConfig.runnerWait);
      if (ctx.json) {
        printJson(ctx, updateConfig);
        return unapplied ?? EXIT.ok;
      }
      if (unapplied !== null) return unapplied;
      const changed = updateConfig.changedFields.length > 0 ? `changed ${updateConfig.changedFields.join(', ')}` : 'nothing changed';
      ctx.print(`${changed}; config version ${updateConfig.config.version}\n${asFile(updateConfig.config)}`);
      if (updateConfig.runnerWait) ctx.print(`the runner applied it (${updateConfig.runnerWait.waitedMs} ms)`);
    });
  }
  throw new UsageError(action === undefined ? 'config get or config set?' : `unknown action "${action}": config get or config set`);
}
