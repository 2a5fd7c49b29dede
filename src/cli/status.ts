import { parseArgs } from 'node:util';
import { execute } from '../client/http.js';
import { StatusDocument } from '../generated/graphql.js';
import { CLIENT_HELP, CLIENT_OPTIONS, noPositionals, printJson, runClientCommand } from './client-command.js';
import { EXIT } from './exit-codes.js';
import { watchStatus } from './status-watch.js';

export const help = `Usage: stratctl status [options]

Shows the active strategy, the config version in force, any problem with the config file, and
what the runner has applied (its state, version, last scan, error).

  --watch               then one line per change (config, runner), until Ctrl-C; with --json,
                        one JSON object per line

${CLIENT_HELP}
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...CLIENT_OPTIONS, watch: { type: 'boolean' } },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(help);
    return EXIT.ok;
  }
  noPositionals(positionals);
  if (values.watch) return runClientCommand(values, watchStatus);
  return runClientCommand(values, async (ctx) => {
    const { status, config } = await execute(ctx.settings, StatusDocument);
    if (ctx.json) return printJson(ctx, status);
    const lines: [string, string][] = [
      ['active strategy', status.activeStrategyKey],
      ['config version', String(status.configVersion)],
      ['updated at', status.configUpdatedAt],
      ['trading enabled', String(status.tradingEnabled)],
      ['scan interval', `${config.scanIntervalSeconds}s`],
      ['config digest', status.configDigest],
    ];
    const { runner } = status;
    const applied =
      runner.appliedConfigVersion === null
        ? 'nothing applied yet'
        : `applied version ${runner.appliedConfigVersion}, ${runner.appliedStrategyKey}`;
    lines.push(['runner', `${runner.state}, ${runner.inSync ? 'in sync' : 'NOT in sync'} (${applied})`]);
    if (runner.lastScanAt) lines.push(['last scan', runner.lastScanAt]);
    if (runner.heartbeatAt) lines.push(['heartbeat', runner.heartbeatAt]);
    if (runner.error) lines.push(['RUNNER ERROR', runner.error]);
    if (status.configError) lines.push(['CONFIG FILE INVALID', `${status.configError.location}: ${status.configError.message}`]);
    const width = Math.max(...lines.map(([k]) => k.length)) + 2;
    ctx.print(lines.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join('\n'));
  });
}
