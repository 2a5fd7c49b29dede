import { expect, it } from 'vitest';
import { STAND_IN_DIGEST } from '../../src/config/store.js';
import { Runner } from '../../src/runner/runner.js';
import { createSimulatedFeed } from '../../src/runner/sim-feed.js';
import type { RunnerState } from '../../src/runner/state.js';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { activate, eventually, freshPrefix, openReplica, rawClient } from '../helpers/etcd-stores.js';
import { waitUntil } from '../helpers/wait.js';

const INVALID =
  'active_strategy_key: gold\ntrading_enabled: true\nscan_interval_seconds: banana\ntunable_overrides: {}\nversion: 9\nupdated_at: 2026-12-01T00:00:00Z\n';

/** A runner-only process's view: a runner on the prefix's config store, every state it publishes kept. */
async function runnerOn(store: Awaited<ReturnType<typeof openReplica>>['config']) {
  const published: RunnerState[] = [];
  const runner = new Runner({
    store,
    feed: createSimulatedFeed(),
    publisher: { publish: async (s) => void published.push(s), close: async () => {} },
    heartbeatMs: 100,
  });
  runner.start();
  return { runner, published };
}

describeWithEtcd('a runner that starts while the stored config is invalid (real etcd)', () => {
  it('runs the last audited config (not the defaults nobody activated), and says it keeps that version', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const api = await openReplica(cluster, prefix);
    await api.config.start();
    const { current: accepted } = await api.config.commit(activate('gold'));
    await api.close();
    await rawClient(cluster).put(`/${prefix}/config`).value(INVALID);

    const view = await openReplica(cluster, prefix);
    expect(view.config.problem()?.publicMessage).toMatch(/scan_interval_seconds/);
    expect(view.config.state().config).toMatchObject({
      config: { activeStrategyKey: 'gold', version: accepted.config.version },
      digest: accepted.digest,
    });
    const { runner } = await runnerOn(view.config);
    try {
      const state = await waitUntil(
        async () => runner.latest(),
        (s) => s.lastScanAt !== null,
        { what: 'a scan of the last good config' },
      );
      expect(state.applied).toMatchObject({ strategyKey: 'gold', configVersion: accepted.config.version, configDigest: accepted.digest });
      expect(state.lastSignals.map((s) => s.strategyKey)).toEqual(['gold']);
      expect(state.error).toContain(`config file invalid, keeping version ${accepted.config.version}:`);
    } finally {
      await runner.stop();
    }
  });

  it('with no good config ever stored (no audit trail), waits and scans nothing until a valid one arrives', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const raw = rawClient(cluster);
    await raw.put(`/${prefix}/config`).value(INVALID);
    const view = await openReplica(cluster, prefix);
    expect(view.config.problem()).not.toBeNull();
    expect(view.config.state().config.digest).toBe(STAND_IN_DIGEST);
    const { runner, published } = await runnerOn(view.config);
    try {
      await eventually('the waiting error published', () => published.some((s) => s.error?.includes('waiting for a valid one')));
      expect(runner.latest()).toMatchObject({ applied: null, lastScanAt: null, lastSignals: [] });
      expect(runner.latest().error).toMatch(
        /^config file invalid: .*scan_interval_seconds.*; waiting for a valid one before the first scan$/s,
      );

      await raw.put(`/${prefix}/config`).value(INVALID.replace('banana', '5'));
      const state = await waitUntil(
        async () => runner.latest(),
        (s) => s.lastScanAt !== null,
        { what: 'the first scan, of the valid config' },
      );
      expect(state.applied).toMatchObject({ strategyKey: 'gold', configVersion: 9 });
      expect(state.error).toBeNull();
      // Nothing before the valid config: no state applied the defaults, none carried a signal.
      const before = published.slice(
        0,
        published.findIndex((s) => s.applied !== null),
      );
      expect(before.length).toBeGreaterThan(0);
      expect(before.every((s) => s.applied === null && s.lastSignals.length === 0 && s.lastScanAt === null)).toBe(true);
      expect(published.every((s) => s.applied?.strategyKey !== 'momentum')).toBe(true);
    } finally {
      await runner.stop();
    }
  });
});
