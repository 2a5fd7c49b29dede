import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ConfigSnapshot, StoreEvent } from '../../src/config/store.js';
import { createControlPlaneMetrics } from '../../src/metrics/control-plane-metrics.js';
import type { RunnerView } from '../../src/runner/fleet.js';
import type { RunnerState } from '../../src/runner/state.js';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function fakePlane() {
  const storeListeners = new Set<(e: StoreEvent) => void>();
  const runnerListeners = new Set<() => void>();
  let views: RunnerView[] = [];
  const config = (version: number, digest: string): ConfigSnapshot =>
    ({
      config: {
        activeStrategyKey: 'gold',
        tradingEnabled: true,
        scanIntervalSeconds: 30,
        tunableOverrides: {},
        version,
        updatedAt: iso(T0),
      },
      digest,
    }) as never;
  let current = config(1, 'sha256:one');
  let presetsVersion = 0;
  let problems: { config: unknown; presets: unknown } = { config: null, presets: null };
  let connected = true;
  let strategies = new Set(['gold', 'range', 'momentum']);
  return {
    store: {
      state: () => ({ config: current, presets: { version: presetsVersion, digest: 'sha256:p', presets: [] }, strategies }) as never,
      problem: () => problems.config as never,
      strategiesProblem: () => problems.presets as never,
      info: () => ({ kind: 'ETCD' as const, location: 'etcd://a:1/p/', connected, lastContactAt: null }),
      subscribe: (l: (e: StoreEvent) => void) => {
        storeListeners.add(l);
        return () => storeListeners.delete(l);
      },
    },
    runners: {
      views: () => views,
      subscribe: (l: () => void) => {
        runnerListeners.add(l);
        return () => runnerListeners.delete(l);
      },
    },
    commit(version: number, digest: string, at: number) {
      const previous = current;
      current = config(version, digest);
      const audit = { time: iso(at) } as never;
      for (const l of storeListeners) l({ type: 'changed', previous, current, audit, source: 'commit' });
    },
    /** The stored presets kept out (or back in force), as the store reports it. */
    presets(version: number, problem: unknown) {
      presetsVersion = version;
      problems = { ...problems, presets: problem };
      if (problem) for (const l of storeListeners) l({ type: 'presetsInvalid', error: problem as never });
    },
    /** A new preset set in force: the strategies are these keys. */
    presetsChanged(keys: string[]) {
      strategies = new Set(keys);
      for (const l of storeListeners) l({ type: 'presetsChanged' } as never);
    },
    /** The store reachable or not (etcd away, or its credentials refused). */
    reach(reachable: boolean) {
      connected = reachable;
    },
    configProblem(problem: unknown) {
      problems = { ...problems, config: problem };
      if (problem) for (const l of storeListeners) l({ type: 'invalid', error: problem as never });
    },
    show(fleet: RunnerView[]) {
      views = fleet;
      for (const l of runnerListeners) l();
    },
    publish(states: Partial<RunnerState>[]) {
      views = states.map((s) => ({
        health: 'RUNNING',
        state: { id: 'r1', startedAt: iso(T0), lastSignals: [], applied: null, ...s } as RunnerState,
      }));
      for (const l of runnerListeners) l();
    },
  };
}

const value = async (registry: Registry, name: string) =>
  ((await registry.getSingleMetric(name)?.get())?.values ?? []) as { labels: object; value: number; metricName?: string }[];

describe('control-plane metrics (alone, fake store and fleet)', () => {
  it('the presets version, and the config or presets not in force, as levels an alert can watch (and counted as events)', async () => {
    const plane = fakePlane();
    const registry = new Registry();
    createControlPlaneMetrics(plane, registry, () => T0);
    const problems = async () =>
      Object.fromEntries(
        (await value(registry, 'control_plane_store_problem')).map((v) => [(v.labels as { subject: string }).subject, v.value]),
      );
    expect(await problems()).toEqual({ config: 0, presets: 0 });
    expect((await value(registry, 'control_plane_store_connected'))[0]?.value).toBe(1);
    plane.reach(false);
    expect((await value(registry, 'control_plane_store_connected'))[0]?.value).toBe(0);
    plane.reach(true);
    expect((await value(registry, 'control_plane_store_connected'))[0]?.value).toBe(1);
    expect((await value(registry, 'control_plane_presets_version'))[0]?.value).toBe(0);
    expect((await value(registry, 'control_plane_presets_errors_total'))[0]?.value).toBe(0);

    plane.presets(3, new Error('kept out: ...'));
    expect(await problems()).toEqual({ config: 0, presets: 1 });
    expect((await value(registry, 'control_plane_presets_version'))[0]?.value).toBe(3);
    expect((await value(registry, 'control_plane_presets_errors_total'))[0]?.value).toBe(1);
    plane.configProblem(new Error('invalid'));
    expect(await problems()).toEqual({ config: 1, presets: 1 });
    expect((await value(registry, 'control_plane_config_errors_total'))[0]?.value).toBe(1);

    plane.presets(4, null);
    plane.configProblem(null);
    expect(await problems()).toEqual({ config: 0, presets: 0 });
    expect((await value(registry, 'control_plane_store_connected'))[0]?.value).toBe(1);
    plane.reach(false);
    expect((await value(registry, 'control_plane_store_connected'))[0]?.value).toBe(0);
    plane.reach(true);
    expect((await value(registry, 'control_plane_store_connected'))[0]?.value).toBe(1);
    expect((await value(registry, 'control_plane_presets_version'))[0]?.value).toBe(4);
  });

  it('runners by state, every state present from the start, and each runner with its state now', async () => {
    const plane = fakePlane();
    const registry = new Registry();
    createControlPlaneMetrics(plane, registry, () => T0);
    const counts = async () =>
      Object.fromEntries((await value(registry, 'control_plane_runners')).map((v) => [(v.labels as { state: string }).state, v.value]));
    const states = async () => (await value(registry, 'control_plane_runner_state')).map((v) => [v.labels, v.value]);
    expect(await counts()).toEqual({ RUNNING: 0, STALE: 0, STOPPED: 0, ERROR: 0 });
    expect(await states()).toEqual([]);
    const runner = (id: string) => ({ id, startedAt: iso(T0), lastSignals: [], applied: null }) as unknown as RunnerState;
    plane.show([
      { health: 'RUNNING', state: runner('acct-fx') },
      { health: 'STALE', state: runner('acct-metals') },
      { health: 'RUNNING', state: runner('acct-rates') },
    ]);
    expect(await counts()).toEqual({ RUNNING: 2, STALE: 1, STOPPED: 0, ERROR: 0 });
    expect(await states()).toEqual([
      [{ runner: 'acct-fx', state: 'RUNNING' }, 1],
      [{ runner: 'acct-metals', state: 'STALE' }, 1],
      [{ runner: 'acct-rates', state: 'RUNNING' }, 1],
    ]);
    // The dead one gone from the list: so are its series; the count says so.
    plane.show([
      { health: 'ERROR', state: runner('acct-fx') },
      { health: 'RUNNING', state: runner('acct-rates') },
    ]);
    expect(await counts()).toEqual({ RUNNING: 1, STALE: 0, STOPPED: 0, ERROR: 1 });
    expect(await states()).toEqual([
      [{ runner: 'acct-fx', state: 'ERROR' }, 1],
      [{ runner: 'acct-rates', state: 'RUNNING' }, 1],
    ]);
  });

  it('the refusals an alert watches exist at 0 from the start (a series born at 1 shows no rise to rate()), and count up', async () => {
    const plane = fakePlane();
    const registry = new Registry();
    const metrics = createControlPlaneMetrics(plane, registry, () => T0);
    const refusals = async () =>
      (await value(registry, 'control_plane_http_refusals_total')).map((v) => [
        (v.labels as { reason: string }).reason,
        (v.labels as { status: string }).status,
        v.value,
      ]);
    expect(await refusals()).toEqual([
      ['rate-limited', '429', 0],
      ['subscriptions-per-client', '429', 0],
      ['connection-limit', '0', 0],
      ['client-connection-limit', '0', 0],
      // Node's parser refusals (a slowloris flood shows as a rise of these).
      ['headers-timeout', '408', 0],
      ['request-timeout', '408', 0],
      ['headers-too-large', '431', 0],
      ['bad-request', '400', 0],
    ]);
    metrics.refusal('rate-limited', 429);
    metrics.refusal('not-found', 404);
    expect(await refusals()).toEqual([
      ['rate-limited', '429', 1],
      ['subscriptions-per-client', '429', 0],
      ['connection-limit', '0', 0],
      ['client-connection-limit', '0', 0],
      ['headers-timeout', '408', 0],
      ['request-timeout', '408', 0],
      ['headers-too-large', '431', 0],
      ['bad-request', '400', 0],
      ['not-found', '404', 1],
    ]);
  });

  it("each running runner's heartbeat age, from when this process heard it (its own clock), so it rises before STALE; none for a stopped or unlisted runner", async () => {
    const plane = fakePlane();
    const registry = new Registry();
    let now = T0;
    createControlPlaneMetrics(plane, registry, () => now);
    const ages = async () =>
      Object.fromEntries(
        (await value(registry, 'control_plane_runner_heartbeat_age_seconds')).map((v) => [
          (v.labels as { runner: string }).runner,
          v.value,
        ]),
      );
    expect(await ages()).toEqual({});
    const runner = (id: string, extra: Partial<RunnerState> = {}) =>
      ({ id, startedAt: iso(T0), heartbeatAt: iso(T0 - 60_000), lastSignals: [], applied: null, ...extra }) as unknown as RunnerState;
    plane.show([
      // Heard now, though its own clock says a minute ago (clocks differ between hosts): the age is 0.
      { health: 'RUNNING', state: runner('acct-fx'), heardAtMs: T0 },
      { health: 'RUNNING', state: runner('acct-metals'), heardAtMs: T0 - 4_000 },
      { health: 'STOPPED', state: runner('acct-rates', { stopped: true } as never), heardAtMs: T0 - 4_000 },
    ]);
    expect(await ages()).toEqual({ 'acct-fx': 0, 'acct-metals': 4 });
    now = T0 + 2_500;
    expect(await ages()).toEqual({ 'acct-fx': 2.5, 'acct-metals': 6.5 });
    plane.show([{ health: 'RUNNING', state: runner('acct-fx'), heardAtMs: T0 + 2_500 }]);
    expect(await ages()).toEqual({ 'acct-fx': 0 });
  });

  it('reload seconds: accepted -> applied once per runner, whichever the process heard first', async () => {
    const plane = fakePlane();
    const registry = new Registry();
    createControlPlaneMetrics(plane, registry, () => T0 + 10_000);
    plane.commit(2, 'sha256:two', T0 + 1_000);
    const applied = (version: number, digest: string, at: number) => ({
      configVersion: version,
      configDigest: digest,
      strategyKey: 'gold',
      scanIntervalSeconds: 30,
      tradingEnabled: true,
      appliedAt: iso(at),
    });
    plane.publish([{ applied: applied(2, 'sha256:two', T0 + 1_250) }]);
    plane.publish([{ applied: applied(2, 'sha256:two', T0 + 1_250) }]); // the same state again: no second observation
    // A runner elsewhere applied v3 before this process heard of the change.
    plane.publish([{ applied: applied(3, 'sha256:three', T0 + 2_100) }]);
    plane.commit(3, 'sha256:three', T0 + 2_000);
    const reload = await value(registry, 'control_plane_reload_seconds');
    expect(reload.find((v) => v.metricName === 'control_plane_reload_seconds_count')?.value).toBe(2);
    expect(reload.find((v) => v.metricName === 'control_plane_reload_seconds_sum')?.value).toBeCloseTo(0.35, 6);
  });

  it('scans: counted from the cumulative scanCount (scans between two looks included), none from before this process', async () => {
    const plane = fakePlane();
    plane.publish([{ id: 'old', startedAt: iso(T0 - 60_000), scanCount: 500, lastScanMs: 3 }]);
    const registry = new Registry();
    createControlPlaneMetrics(plane, registry, () => T0);
    plane.publish([
      {
        id: 'old',
        startedAt: iso(T0 - 60_000),
        scanCount: 503,
        lastScanMs: 4,
        lastSignals: [
          {
            instrument: 'XAU_USD',
            strategyKey: 'gold',
            direction: 'LONG',
            reason: '',
            values: {},
            price: null,
            candleTime: null,
            error: null,
          },
        ],
      },
    ]);
    plane.publish([{ id: 'old', startedAt: iso(T0 + 5_000), scanCount: 2, lastScanMs: 4 }]); // restarted
    const scans = await value(registry, 'control_plane_runner_scans_total');
    expect(scans).toEqual([{ labels: { runner: 'old' }, value: 5 }]);
    expect(await value(registry, 'control_plane_signals_total')).toEqual([{ labels: { strategy: 'gold', direction: 'LONG' }, value: 1 }]);
  });

  it('signals: counted from the cumulative signalCounts (every scan between two looks), a restart from 0, none from before this process; without them from lastSignals', async () => {
    const plane = fakePlane();
    const total = (n: number) => ({ gold: { LONG: n, FLAT: 2 * n } });
    // Already running when this process started: its 10 scans so far are not counted here.
    plane.publish([{ id: 'r1', startedAt: iso(T0 - 60_000), scanCount: 10, signalCounts: total(10) }]);
    const registry = new Registry();
    createControlPlaneMetrics(plane, registry, () => T0);
    const signals = async () =>
      Object.fromEntries(
        (await value(registry, 'control_plane_signals_total')).map((v) => [
          `${(v.labels as Record<string, string>).strategy} ${(v.labels as Record<string, string>).direction}`,
          v.value,
        ]),
      );
    // Eight scans went by unseen (the store away): all eight count, not only the last one's signals.
    plane.publish([{ id: 'r1', startedAt: iso(T0 - 60_000), scanCount: 18, signalCounts: total(18), lastSignals: [] }]);
    expect(await signals()).toEqual({ 'gold LONG': 8, 'gold FLAT': 16 });
    // Restarted: its counts start again, all of them new.
    plane.publish([{ id: 'r1', startedAt: iso(T0 + 5_000), scanCount: 3, signalCounts: { gold: { SHORT: 3 } } }]);
    expect(await signals()).toEqual({ 'gold LONG': 8, 'gold FLAT': 16, 'gold SHORT': 3 });
    // An older runner publishes no counts: its last scan's signals count, once per scan seen.
    const signal = {
      instrument: 'XAU_USD',
      strategyKey: 'gold',
      direction: 'SHORT',
      reason: '',
      values: {},
      price: null,
      candleTime: null,
      error: null,
    };
    plane.publish([{ id: 'r1', startedAt: iso(T0 + 9_000), scanCount: 1, lastSignals: [signal] as never }]);
    plane.publish([{ id: 'r1', startedAt: iso(T0 + 9_000), scanCount: 4, lastSignals: [signal] as never }]);
    expect(await signals()).toEqual({ 'gold LONG': 8, 'gold FLAT': 16, 'gold SHORT': 5 });
  });

  it('signals: a preset removed loses its series (each preset ever run left up to three, for ever)', async () => {
    const plane = fakePlane();
    const registry = new Registry();
    createControlPlaneMetrics(plane, registry, () => T0);
    const signal = (strategyKey: string, direction: string) => ({
      instrument: 'XAU_USD',
      strategyKey,
      direction,
      reason: '',
      values: {},
      price: null,
      candleTime: null,
      error: null,
    });
    plane.presetsChanged(['gold', 'gold_fast']);
    plane.publish([{ id: 'r1', scanCount: 1, lastSignals: [signal('gold_fast', 'LONG')] as never }]);
    plane.publish([{ id: 'r1', scanCount: 2, lastSignals: [signal('gold_fast', 'SHORT')] as never }]);
    plane.publish([{ id: 'r1', scanCount: 3, lastSignals: [signal('gold', 'LONG')] as never }]);
    expect((await value(registry, 'control_plane_signals_total')).map((v) => v.labels)).toEqual([
      { strategy: 'gold_fast', direction: 'LONG' },
      { strategy: 'gold_fast', direction: 'SHORT' },
      { strategy: 'gold', direction: 'LONG' },
    ]);
    plane.presetsChanged(['gold']);
    expect(await value(registry, 'control_plane_signals_total')).toEqual([{ labels: { strategy: 'gold', direction: 'LONG' }, value: 1 }]);
  });

  it('scans: a runner the fleet no longer lists loses its series (a runner restarting as <host>:<pid> added one each time, for ever)', async () => {
    const plane = fakePlane();
    const registry = new Registry();
    createControlPlaneMetrics(plane, registry, () => T0);
    for (let pid = 1; pid <= 5; pid++) {
      // Each restart is a new runner id; the fleet drops the one before once its retention ends.
      plane.publish([{ id: `host:${pid}`, startedAt: iso(T0 + pid * 1_000), scanCount: 3, lastScanMs: 1 }]);
    }
    expect(await value(registry, 'control_plane_runner_scans_total')).toEqual([{ labels: { runner: 'host:5' }, value: 3 }]);
    plane.publish([]);
    expect(await value(registry, 'control_plane_runner_scans_total')).toEqual([]);
  });

  it('a runner listed again after a gap (its state file removed and republished; its etcd key expired and put again): counted on from where it was, not again from its start', async () => {
    const plane = fakePlane();
    const registry = new Registry();
    createControlPlaneMetrics(plane, registry, () => T0);
    const state = (scans: number) => ({
      id: 'r10',
      startedAt: iso(T0 + 1_000),
      scanCount: scans,
      signalCounts: { momentum: { LONG: scans, SHORT: 2 * scans } },
    });
    plane.publish([state(8)]);
    plane.publish([]);
    plane.publish([state(9)]);
    const signals = (await value(registry, 'control_plane_signals_total')).map((v) => v.value);
    // 9 scans: 9 LONG and 18 SHORT, not 8 + 9 and 16 + 18.
    expect(signals.sort((a, b) => a - b)).toEqual([9, 18]);
    expect(await value(registry, 'control_plane_runner_scans_total')).toEqual([{ labels: { runner: 'r10' }, value: 1 }]);
  });
});
