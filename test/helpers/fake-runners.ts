import { Listeners } from '../../src/listeners.js';
import type { RunnerState, RunnerStateSource } from '../../src/runner/state.js';

/** Published runner states without a runner: what RunnerFleet hears, set by the test. */
export const T0 = Date.parse('2030-01-01T00:00:00.000Z');
export const iso = (ms: number) => new Date(ms).toISOString();

/** A runner state heartbeating at `at` (1 s heartbeats: STALE once 3 s old). */
export const runnerState = (id: string, at: number, extra: Partial<RunnerState> = {}): RunnerState =>
  ({
    id,
    host: 'h',
    pid: 1,
    instruments: null,
    feed: 'sim',
    startedAt: iso(T0),
    heartbeatAt: iso(at),
    heartbeatIntervalMs: 1000,
    stopped: false,
    applied: null,
    lastScanAt: null,
    lastSignals: [],
    error: null,
    ...extra,
  }) as RunnerState;

/** A runner state heartbeating now, every 200 ms (the etcd tests' runners, published for real). */
export const liveRunnerState = (id: string, patch: Partial<RunnerState> = {}): RunnerState => {
  const now = new Date().toISOString();
  return {
    ...runnerState(id, Date.now(), { host: 'test-host', pid: 4242, startedAt: now, heartbeatAt: now, heartbeatIntervalMs: 200 }),
    ...patch,
  };
};

export function fakeRunnerSource() {
  const listeners = new Listeners();
  let states: RunnerState[] = [];
  const source: RunnerStateSource = {
    list: () => states,
    subscribe: (l) => listeners.add(l),
    close: () => listeners.clear(),
  };
  return {
    source,
    publish(next: RunnerState[]) {
      states = next;
      listeners.emit();
    },
  };
}
