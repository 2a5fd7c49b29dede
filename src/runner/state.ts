import * as z from 'zod';
import { servedTimeSchema } from '../config/schema.js';

/** One instrument's result in a scan. */
const signalRecordSchema = z.object({
  instrument: z.string(),
  strategyKey: z.string(),
  direction: z.enum(['LONG', 'SHORT', 'FLAT']),
  reason: z.string(),
  values: z.record(z.string(), z.number()),
  /** The last close the signal was computed on (null: no data); a state from an older runner has none. */
  price: z.number().nullable().default(null),
  /** Time of the last candle the signal was computed on (null: no data). */
  candleTime: servedTimeSchema.nullable(),
  /**
   * Why there is no real signal (the feed failed: no candleTime), or why it is not a new one (a CSV
   * replay past its end: computed again on the last bars, with their candleTime), or null.
   */
  error: z.string().nullable(),
  /**
   * The scan that made it: its number in this runner's run (1 for the first scan after a start; the
   * run is the state's `startedAt`). With the run it tells a signal heard twice from the next scan's
   * equal one, and a restart from a feed going back, exactly. Absent in states from older runners.
   */
  scan: z.number().int().positive().optional(),
});
export type RunnerSignalRecord = z.infer<typeof signalRecordSchema>;

const appliedSchema = z.object({
  configVersion: z.number().int(),
  configDigest: z.string(),
  strategyKey: z.string(),
  scanIntervalSeconds: z.number(),
  tradingEnabled: z.boolean(),
  appliedAt: servedTimeSchema,
  /** The preset set the strategies came from (absent in states published before presets existed). */
  presetsVersion: z.number().int().optional(),
  presetsDigest: z.string().optional(),
});
export type AppliedConfig = z.infer<typeof appliedSchema>;

/** What a runner publishes about itself: the runner's side of the desired/applied split. */
export const runnerStateSchema = z.object({
  /**
   * `--runner-id`, default `<host>:<pid>`: unique in a fleet. Not held to the CLI's pattern
   * (src/cli/runner.ts) here: this schema reads every record in the store, and a runner whose id
   * it refused (one started before the CLI checked, or a record written by other tooling) would
   * vanish from the fleet while it trades. The page makes any id safe to show instead (cut, its
   * bidi controls shown, isolated: src/page/dom.ts `shownId`).
   */
  id: z.string().min(1),
  host: z.string(),
  pid: z.number().int(),
  /** The instruments this runner scans (a subset of the active strategy's; null: all of them). */
  instruments: z.array(z.string()).nullable().default(null),
  feed: z.string(),
  /**
   * When the process started (`processStart`) and its pid namespace (`pidNamespace`), where they
   * can be told: what lets a runner started on the same host under the same id tell that this one
   * is dead (its pid gone or reused) and take the id over at once. Absent in states published before.
   */
  processStart: z.string().optional(),
  pidns: z.string().optional(),
  /**
   * The boot and the machine it was published from (`machineIdentity`), where they can be told: a
   * pid is checked only in the same boot (another machine may share the host name); another boot of
   * the same machine, before it last booted, means the process is gone. Absent in states published before.
   */
  bootId: z.string().optional(),
  machineId: z.string().optional(),
  /**
   * The times the API serves (DateTime) are RFC 3339 within years 0000-9999 (`servedTimeSchema`): a
   * state with another (written by hand: a runner writes `toISOString()`) is not a runner's state, and
   * is treated as any other (its source says why in the log). Served as they were, the DateTime scalar
   * failed the field ("Unexpected error.") or answered `+010000-...`, and a `heartbeatAt` no one can
   * parse kept the runner RUNNING for ever on the file store (its age NaN).
   */
  startedAt: servedTimeSchema,
  heartbeatAt: servedTimeSchema,
  /** How often the heartbeat is refreshed; readers call the runner STALE after STALE_AFTER_HEARTBEATS of them. */
  heartbeatIntervalMs: z.number().int().positive(),
  /** Set on a clean shutdown. */
  stopped: z.boolean(),
  applied: appliedSchema.nullable(),
  lastScanAt: servedTimeSchema.nullable(),
  /** Scans finished since this runner started (metrics count new ones from it); absent from a state published before any. */
  scanCount: z.number().int().nonnegative().optional(),
  /**
   * Signals with data (no `error`) this runner reported since it started, by strategy and direction:
   * what the API's metrics count new ones from. `lastSignals` holds only the last scan's, and a scan
   * whose state the API never saw (the store away, two quick scans heard as one) lost its signals
   * from the count. Absent in states from older runners (the API then counts `lastSignals`).
   */
  signalCounts: z.record(z.string(), z.partialRecord(z.enum(['LONG', 'SHORT', 'FLAT']), z.number().int().nonnegative())).optional(),
  /** How long the last scan took, in ms. */
  lastScanMs: z.number().nonnegative().optional(),
  lastSignals: z.array(signalRecordSchema),
  /** What keeps the runner from doing what the config asks (invalid file, failing feed), or null. */
  error: z.string().nullable(),
});
export type RunnerState = z.infer<typeof runnerStateSchema>;

/**
 * A published value as a runner's state, or why it is not one (`heartbeatAt: must be an RFC 3339
 * time, ...`: the first problems, by field), for the sources' logs: a state refused without a word
 * showed only as the runner gone.
 */
export function parseRunnerStateText(text: string): { state: RunnerState } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { problem: 'not JSON' };
  }
  const parsed = runnerStateSchema.safeParse(json);
  if (parsed.success) return { state: parsed.data };
  const shown = parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || '(the whole value)'}: ${issue.message}`);
  const more = parsed.error.issues.length - shown.length;
  return { problem: `${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}` };
}

/** A runner whose heartbeat is older than this many intervals is STALE. */
export const STALE_AFTER_HEARTBEATS = 3;

export type RunnerHealth = 'RUNNING' | 'STALE' | 'STOPPED' | 'ERROR';

/** `heartbeatAt` in ms, parsed once per state (states are immutable; the API classifies one on every status read). */
const heartbeats = new WeakMap<RunnerState, number>();
export function heartbeatMs(state: RunnerState): number {
  let ms = heartbeats.get(state);
  if (ms === undefined) {
    ms = Date.parse(state.heartbeatAt);
    heartbeats.set(state, ms);
  }
  return ms;
}

/**
 * Classifies a published state at time `nowMs` (null: no runner has published anything). The
 * heartbeat's age is counted from `receivedAtMs`, when this process received the state (its own
 * clock), when the source knows it; else from the state's `heartbeatAt` (the runner's clock: the
 * same one only when the runner runs on this host).
 */
export function runnerHealth(state: RunnerState | null, nowMs: number, receivedAtMs?: number): RunnerHealth {
  if (!state || state.stopped) return 'STOPPED';
  const heardAt = receivedAtMs ?? heartbeatMs(state);
  if (nowMs - heardAt > STALE_AFTER_HEARTBEATS * state.heartbeatIntervalMs) return 'STALE';
  return state.error ? 'ERROR' : 'RUNNING';
}

/**
 * Where a runner publishes its state: `runner-state.json` in the runtime dir (file store), or a
 * lease-backed `runners/<id>` key (etcd), which disappears when the runner's lease expires.
 */
export interface RunnerStatePublisher {
  publish(state: RunnerState): Promise<void>;
  /**
   * Before the first publish: refuses an id another running runner holds (etcd; the file store's
   * runner lock does this there). A wait it makes ends with StartAbortedError when `signal` aborts.
   */
  claim?(self: { host: string; pid: number }, signal?: AbortSignal): Promise<void>;
  /** After the final (stopped) state: release what the publisher holds (a lease, a temp file). */
  close(): Promise<void>;
}

/** Where the API reads every runner's last published state (the file, etcd, or the embedded runner). */
export interface RunnerStateSource {
  /** Every runner known now, in id order. */
  list(): readonly RunnerState[];
  /** Told whenever a runner's state changes (heartbeats included). */
  subscribe(listener: () => void): () => void;
  /**
   * When this process received runner `id`'s current state, on this process's clock (ms). Sources
   * of runners on other hosts give it, so that a skew between the hosts' clocks never shows a live
   * runner STALE (or a dead one RUNNING); without it the state's own `heartbeatAt` is judged.
   */
  receivedAt?(id: string): number | undefined;
  /**
   * Reads the published states again now (the state file, etcd's runner keys), settled when that
   * read is done. A source that follows them by watch events (and a poll) may be a heartbeat or more
   * behind when its process is busy or the watch is late: the fleet asks for this before it calls a
   * runner STALE on the state it holds.
   */
  refresh?(): Promise<void>;
  close(): void;
}
