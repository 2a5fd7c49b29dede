import { hostname } from 'node:os';
import { z } from 'zod';

/** One instrument's result in a scan. */
const signalRecordSchema = z.object({
  instrument: z.string(),
  strategyKey: z.string(),
  direction: z.enum(['LONG', 'SHORT', 'FLAT']),
  reason: z.string(),
  values: z.record(z.string(), z.number()),
  /** The last close the signal was computed on (null: no data); a state file from an older runner has none. */
  price: z.number().nullable().default(null),
  /** Time of the last candle the signal was computed on (null: no data). */
  candleTime: z.string().nullable(),
  /** Why there is no real signal (the feed failed), or null. */
  error: z.string().nullable(),
});
export type RunnerSignalRecord = z.infer<typeof signalRecordSchema>;

const appliedSchema = z.object({
  configVersion: z.number().int(),
  configDigest: z.string(),
  strategyKey: z.string(),
  scanIntervalSeconds: z.number(),
  tradingEnabled: z.boolean(),
  appliedAt: z.string(),
});
export type AppliedConfig = z.infer<typeof appliedSchema>;

/** What a runner publishes about itself: the runner's side of the desired/applied split. */
export const runnerStateSchema = z.object({
  /** `<host>:<pid>` unless named; optional so a state file written before runner ids still reads. */
  id: z.string().optional(),
  host: z.string().optional(),
  pid: z.number().int(),
  feed: z.string(),
  startedAt: z.string(),
  heartbeatAt: z.string(),
  /** How often the heartbeat is refreshed; readers call the runner STALE after STALE_AFTER_HEARTBEATS of them. */
  heartbeatIntervalMs: z.number().int().positive(),
  /** Set on a clean shutdown. */
  stopped: z.boolean(),
  applied: appliedSchema.nullable(),
  lastScanAt: z.string().nullable(),
  lastSignals: z.array(signalRecordSchema),
  /** What keeps the runner from doing what the config asks (invalid file, failing feed), or null. */
  error: z.string().nullable(),
});
export type RunnerState = z.infer<typeof runnerStateSchema>;

/** Who this process is, as a runner: the default runner id is `<host>:<pid>`. */
export function runnerIdentity(): { id: string; host: string } {
  const host = hostname();
  return { id: `${host}:${process.pid}`, host };
}

/** The id a published state names, or the default one built from its host and pid. */
export function runnerIdOf(state: RunnerState): string {
  return state.id ?? `${state.host ?? 'unknown'}:${state.pid}`;
}

/** A runner whose heartbeat is older than this many intervals is STALE. */
export const STALE_AFTER_HEARTBEATS = 3;

export type RunnerHealth = 'RUNNING' | 'STALE' | 'STOPPED' | 'ERROR';

/** Classifies a published state at time `nowMs` (null: no runner has published anything). */
export function runnerHealth(state: RunnerState | null, nowMs: number): RunnerHealth {
  if (!state || state.stopped) return 'STOPPED';
  if (nowMs - Date.parse(state.heartbeatAt) > STALE_AFTER_HEARTBEATS * state.heartbeatIntervalMs) return 'STALE';
  return state.error ? 'ERROR' : 'RUNNING';
}

/** Where a runner publishes its state. First implementation: a file in the runtime dir; later: an etcd lease. */
export interface RunnerStatePublisher {
  publish(state: RunnerState): Promise<void>;
}

/** Where the API reads a runner's state from (the file, or the embedded runner itself). */
export interface RunnerStateChannel {
  latest(): RunnerState | null;
  subscribe(listener: (state: RunnerState | null) => void): () => void;
  close(): void;
}
