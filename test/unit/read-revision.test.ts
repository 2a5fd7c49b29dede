import { afterEach, describe, expect, it } from 'vitest';
import { activateStrategy } from '../../src/config/changes.js';
import { openFileConfigStore } from '../../src/config/file-store.js';
import { readRevision } from '../../src/http/fast-lane/read-revision.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { RunnerFleet } from '../../src/runner/fleet.js';
import type { RunnerState, RunnerStateSource } from '../../src/runner/state.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const HEARTBEAT_MS = 2000;
const T0 = Date.parse('2026-11-30T00:00:00.000Z');

const runnerState = (heartbeatAt: number, overrides: Partial<RunnerState> = {}): RunnerState => ({
  id: 'host:7',
  host: 'host',
  pid: 7,
  instruments: null,
  feed: 'sim:42',
  startedAt: new Date(T0).toISOString(),
  heartbeatAt: new Date(heartbeatAt).toISOString(),
  heartbeatIntervalMs: HEARTBEAT_MS,
  stopped: false,
  applied: null,
  lastScanAt: null,
  lastSignals: [],
  error: null,
  ...overrides,
});

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A real file store, a fleet over one published runner state, and a clock the test moves. */
async function setUp() {
  const store = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: await tempRuntimeDir() });
  await store.start();
  closers.push(() => store.close());
  let published: RunnerState[] = [runnerState(T0)];
  const source: RunnerStateSource = { list: () => published, subscribe: () => () => {}, close: () => {} };
  const clock = { now: T0 };
  const runners = new RunnerFleet(source, { tickMs: 60_000, now: () => clock.now });
  closers.push(() => runners.close());
  const revision = readRevision({ store, runners });
  closers.push(() => revision.close());
  const publish = (states: RunnerState[]) => {
    published = states;
  };
  return { store, runners, revision, clock, publish };
}

describe('the read revision (what a cached read is keyed by)', () => {
  it('stays put while nothing a read answers from changed, and the store gives the same state and info objects', async () => {
    const { store, revision, clock } = await setUp();
    const first = revision.current();
    const state = store.state();
    const info = store.info();
    clock.now += HEARTBEAT_MS; // time passes, the runner is still RUNNING
    expect(revision.current()).toBe(first);
    expect(revision.current()).toBe(first);
    expect(store.state()).toBe(state);
    expect(store.info()).toBe(info);
  });

  it('moves on a commit, and the store then answers with new state and info objects', async () => {
    const { store, revision } = await setUp();
    const before = revision.current();
    const state = store.state();
    const info = store.info();
    await store.commit(activateStrategy('gold', { actor: 'test' }));
    const after = revision.current();
    expect(after).not.toBe(before);
    expect(store.state()).not.toBe(state);
    expect(store.state().config.config.activeStrategyKey).toBe('gold');
    expect(store.info()).not.toBe(info);
    expect(revision.current()).toBe(after);
  });

  it('moves when a runner publishes a new state (a heartbeat), when one joins or leaves, and when one turns STALE by the clock alone', async () => {
    const { runners, revision, clock, publish } = await setUp();
    let seen = revision.current();
    const moved = () => {
      const now = revision.current();
      const changed = now !== seen;
      seen = now;
      return changed;
    };
    publish([runnerState(T0 + 1000)]);
    expect(moved()).toBe(true);
    expect(moved()).toBe(false);
    publish([runnerState(T0 + 1000), runnerState(T0 + 1000, { id: 'host:8', pid: 8 })]);
    expect(moved()).toBe(true);
    publish([runnerState(T0 + 1000)]);
    expect(moved()).toBe(true);
    // No new state: three heartbeats missed is STALE, and a read must not answer RUNNING from its cache.
    clock.now = T0 + 1000 + 3 * HEARTBEAT_MS;
    expect(moved()).toBe(false);
    clock.now += 1;
    expect(runners.views()[0]?.health).toBe('STALE');
    expect(moved()).toBe(true);
    expect(moved()).toBe(false);
  });

  it('visits the runners as views() reports them: each state with its health now', async () => {
    const { runners, clock, publish } = await setUp();
    publish([runnerState(T0, { id: 'b' }), runnerState(T0 - 10 * HEARTBEAT_MS, { id: 'a' }), runnerState(T0, { id: 'c', stopped: true })]);
    clock.now = T0 + 1;
    const visited: [string, string][] = [];
    runners.forEach((state, health) => {
      visited.push([state.id, health]);
    });
    const views = runners.views().map((v): [string, string] => [v.state?.id ?? '', v.health]);
    expect(visited.sort()).toEqual(views);
    expect(views).toEqual([
      ['a', 'STALE'],
      ['b', 'RUNNING'],
      ['c', 'STOPPED'],
    ]);
  });
});
