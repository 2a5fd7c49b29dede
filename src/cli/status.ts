import { execute } from '../client/http.js';
import { StatusDocument } from '../generated/graphql.js';
import { UsageError } from '../usage-error.js';
import { printJson, runClientCommand } from './client-command.js';
import { type Action, stringFlag } from './program.js';

const DEFAULT_RECONNECT_MS = 60_000;

function reconnectTimeout(raw: string | undefined, watch: boolean): number {
  if (raw === undefined) return DEFAULT_RECONNECT_MS;
  if (!watch) throw new UsageError('--reconnect-timeout-ms goes with --watch');
  if (!/^\d+$/.test(raw.trim()) || Number(raw) > 86_400_000)
    throw new UsageError(`--reconnect-timeout-ms must be 0 to 86400000 milliseconds, not "${raw}"`);
  return Number(raw);
}

/** What the server says of a store it cannot reach (etcd without quorum, say). */
export const storeAway = (store: { kind: string; lastContactAt?: string | null }) =>
  `the server cannot reach its ${store.kind.toLowerCase()} store (last contact ${store.lastContactAt ?? 'never'}): what it shows is the state it last saw, and changes are refused until the store is back`;

/** `stratctl status [--watch]`: what is active, the version in force, what the runner applied. */
export const status: Action = async (flags, _args, ctx) => {
  const reconnectMs = reconnectTimeout(stringFlag(flags, 'reconnect-timeout-ms'), flags.watch === true);
  if (flags.watch === true) {
    const { watchStatus } = await import('./status-watch.js'); // graphql-sse only when watching
    return runClientCommand(flags, ctx, (ctx) => watchStatus(ctx, reconnectMs));
  }
  return runClientCommand(flags, ctx, async (ctx) => {
    const { status, config } = await execute(ctx.settings, StatusDocument);
    if (ctx.json) return printJson(ctx, status);
    const lines: [string, string][] = [
      ['store', status.store.kind.toLowerCase()],
      ['active strategy', status.activeStrategyKey],
      ['config version', String(status.configVersion)],
      ['updated at', status.configUpdatedAt],
      ['trading enabled', String(status.tradingEnabled)],
      ['scan interval', `${config.scanIntervalSeconds}s`],
      ['config digest', status.configDigest],
      ['presets version', String(status.presetsVersion)],
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
    // With the store away, runners read STALE and changes are refused: say why, first.
    if (!status.store.connected) lines.push(['STORE UNREACHABLE', storeAway(status.store)]);
    // The message names the file already ("config.yaml: invalid config", then a line per problem).
    if (status.configError) lines.push(['CONFIG FILE INVALID', status.configError.message]);
    if (status.strategiesError) lines.push(['PRESETS NOT IN FORCE', status.strategiesError.message]);
    const width = Math.max(...lines.map(([k]) => k.length)) + 2;
    ctx.print(lines.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join('\n'));
  });
};
