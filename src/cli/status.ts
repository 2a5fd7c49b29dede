import { execute } from '../client/http.js';
import { decimalSetting } from '../env-setting.js';
import { StatusDocument, type StatusQuery } from '../generated/graphql.js';
import { UsageError } from '../usage-error.js';
import { printJson, runClientCommand } from './client-command.js';
import { type Action, stringFlag } from './program.js';

const DEFAULT_RECONNECT_MS = 60_000;

function reconnectTimeout(raw: string | undefined, watch: boolean): number {
  if (raw === undefined) return DEFAULT_RECONNECT_MS;
  if (!watch) throw new UsageError('--reconnect-timeout-ms goes with --watch');
  const ms = decimalSetting(raw);
  if (!(ms <= 86_400_000)) throw new UsageError(`--reconnect-timeout-ms must be 0 to 86400000 milliseconds, not "${raw}"`);
  return ms;
}

/** What the server says of a store it cannot reach (etcd without quorum, say). */
export const storeAway = (store: { kind: string; lastContactAt?: string | null }) =>
  `the server cannot reach its ${store.kind.toLowerCase()} store (last contact ${store.lastContactAt ?? 'never'}): what it shows is the state it last saw, and changes are refused until the store is back`;

type RunnerLine = { state: string; inSync: boolean; appliedConfigVersion?: number | null; appliedStrategyKey?: string | null };

/** `RUNNING, in sync (applied version 3, gold)`: one runner, or the fleet's summary. */
export function runnerSummary(runner: RunnerLine): string {
  const applied =
    runner.appliedConfigVersion == null
      ? 'nothing applied yet'
      : `applied version ${runner.appliedConfigVersion}, ${runner.appliedStrategyKey}`;
  return `${runner.state}, ${runner.inSync ? 'in sync' : 'NOT in sync'} (${applied})`;
}

/** The runners of a fleet that are not RUNNING, as `r2 STALE, r3 ERROR` (empty with one runner: its state says it). */
export function runnersAtFault(runners: readonly { id?: string | null; state: string }[]): string {
  if (runners.length <= 1) return '';
  return runners
    .filter((r) => r.state !== 'RUNNING')
    .map((r) => `${r.id ?? '?'} ${r.state}`)
    .join(', ');
}

type StatusAnswer = StatusQuery['status'];

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What in `status` is not what stratctl reads, or null when it is (the fields scripts and the text read). */
function statusShapeProblem(status: unknown): string | null {
  if (!isObject(status)) return `status is ${status === null ? 'null' : Array.isArray(status) ? 'an array' : typeof status}, not an object`;
  const fields = [
    ['activeStrategyKey', 'string'],
    ['configVersion', 'number'],
    ['configUpdatedAt', 'string'],
    ['configDigest', 'string'],
    ['tradingEnabled', 'boolean'],
    ['presetsVersion', 'number'],
  ] as const;
  for (const [name, type] of fields) if (typeof status[name] !== type) return `status.${name} is not a ${type}`;
  // Present, as null or an error: a missing one read as null, and `jq -e '.configError == null'` passed.
  for (const name of ['configError', 'strategiesError']) {
    const error = status[name];
    if (error !== null && !(isObject(error) && typeof error.message === 'string')) return `status.${name} is neither null nor an error`;
  }
  const { runner, runners, store } = status;
  if (!isObject(runner) || typeof runner.state !== 'string' || typeof runner.inSync !== 'boolean') return 'status.runner is not a runner';
  if (!Array.isArray(runners) || !runners.every((r) => isObject(r) && typeof r.state === 'string'))
    return 'status.runners is not a list of runners';
  if (!isObject(store) || typeof store.kind !== 'string' || typeof store.connected !== 'boolean') return 'status.store is not a store';
  return null;
}

/**
 * `status` as stratctl reads it, checked before a line is printed. `--json` passed any answer
 * through (`{"status": null}` printed null, exit 0, where the text said BAD_RESPONSE, exit 1): a
 * TypeError here is that BAD_RESPONSE in both modes (runClientCommand).
 */
export function checkedStatus<T>(status: T): T {
  const problem = statusShapeProblem(status);
  if (problem !== null) throw new TypeError(problem);
  return status;
}

/**
 * `stratctl status` as text: a `key: value` line each, values in one column. A value of several lines
 * (a config file problem: its headline, then a line per problem) continues in that column, so its
 * lines read as part of it, not as keys of their own.
 */
export function statusText(status: StatusAnswer, config: Pick<StatusQuery['config'], 'scanIntervalSeconds'>): string {
  const lines: [string, string][] = [
    ['store', status.store.kind.toLowerCase()],
    ['active strategy', status.activeStrategyKey],
    ['config version', String(status.configVersion)],
    ['updated at', status.configUpdatedAt],
    // The kill switch, as status --watch and README say it (`trading on` / `TRADING OFF`): off is loud.
    status.tradingEnabled ? ['trading', 'on'] : ['TRADING', 'OFF'],
    ['scan interval', `${config.scanIntervalSeconds}s`],
    ['config digest', status.configDigest],
    ['presets version', String(status.presetsVersion)],
  ];
  const { runner, runners } = status;
  if (runners.length <= 1) {
    // One runner (or none): its line, its id, its times.
    lines.push(['runner', `${runnerSummary(runner)}${runner.id ? ` [${runner.id}]` : ''}`]);
    if (runner.lastScanAt) lines.push(['last scan', runner.lastScanAt]);
    if (runner.heartbeatAt) lines.push(['heartbeat', runner.heartbeatAt]);
    if (runner.error) lines.push(['RUNNER ERROR', runner.error]);
  } else {
    // A fleet: the worst state first, then each runner by id, so the one at fault is named.
    lines.push(['runners', `${runners.length}, worst ${runner.state}${runner.inSync ? '' : ', NOT all in sync'}`]);
    for (const r of runners) {
      lines.push([`  ${r.id ?? '?'}`, `${runnerSummary(r)}${r.heartbeatAt ? `, heartbeat ${r.heartbeatAt}` : ''}`]);
      if (r.error) lines.push([`  ${r.id ?? '?'} ERROR`, r.error]);
    }
  }
  // With the store away, runners read STALE and changes are refused: say why, first.
  if (!status.store.connected) lines.push(['STORE UNREACHABLE', storeAway(status.store)]);
  // The message names the file already ("config.yaml: invalid config", then a line per problem).
  if (status.configError) lines.push(['CONFIG FILE INVALID', status.configError.message]);
  if (status.strategiesError) lines.push(['PRESETS NOT IN FORCE', status.strategiesError.message]);
  const width = Math.max(...lines.map(([k]) => k.length)) + 2;
  return lines.map(([k, v]) => `${`${k}:`.padEnd(width)}${v.replace(/\n/g, `\n${' '.repeat(width)}`)}`).join('\n');
}

/** `stratctl status [--watch]`: what is active, the version in force, what the runner applied. */
export const status: Action = async (flags, _args, ctx) => {
  const reconnectMs = reconnectTimeout(stringFlag(flags, 'reconnect-timeout-ms'), flags.watch === true);
  if (flags.watch === true) {
    const { watchStatus } = await import('./status-watch.js'); // graphql-sse only when watching
    return runClientCommand(flags, ctx, (ctx) => watchStatus(ctx, reconnectMs));
  }
  return runClientCommand(flags, ctx, async (ctx) => {
    const { status: answer, config } = await execute(ctx.settings, StatusDocument);
    const status = checkedStatus(answer);
    if (ctx.json) return printJson(ctx, status);
    ctx.print(statusText(status, config));
  });
};
