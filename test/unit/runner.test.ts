import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { activateStrategy, updateConfig } from '../../src/config/changes.js';
import { StoreUnavailableError } from '../../src/config/errors.js';
import { openFileConfigStore } from '../../src/config/file-store.js';
import type { Change, CommitOptions, ConfigStore, StoreEvent } from '../../src/config/store.js';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';
import type { Logger } from '../../src/log.js';
import { createStrategyRegistry, defaultRegistry, STRATEGIES, type StrategyRegistry } from '../../src/registry/index.js';
import type { CandleFeed } from '../../src/runner/feed.js';
import { type ChangeScanClock, Runner } from '../../src/runner/runner.js';
import { createSimulatedFeed } from '../../src/runner/sim-feed.js';
import { type RunnerState, runnerHealth } from '../../src/runner/state.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { waitUntil } from '../helpers/wait.js';

const CONFIG = (key: string, intervalSeconds = 1) =>
  `active_strategy_key: ${key}\ntrading_enabled: true\nscan_interval_seconds: ${intervalSeconds}\ntunable_overrides: {}\nversion: 1\nupdated_at: 2026-11-28T00:00:00Z\n`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** A real runner on a real YAML store in a temp dir; states published are collected. */
async function start(
  options: {
    feed?: CandleFeed;
    fs?: FileSystem;
    key?: string;
    intervalSeconds?: number;
    changeScanClock?: ChangeScanClock;
    logger?: Logger;
    strategies?: StrategyRegistry;
  } = {},
) {
  const dir = await tempRuntimeDir();
  await writeFile(path.join(dir, 'config.yaml'), CONFIG(options.key ?? 'momentum', options.intervalSeconds));
  const store = await openFileConfigStore({
    strategies: options.strategies ?? defaultRegistry,
    runtimeDir: dir,
    fs: options.fs,
    pollMs: 60_000,
  });
  await store.start();
  store.watch?.pause(); // only the runner's own per-scan re-read brings changes in
  const published: RunnerState[] = [];
  const runner = new Runner({
    store,
    feed: options.feed ?? createSimulatedFeed(),
    publisher: { publish: async (s) => void published.push(s), close: async () => {} },
    heartbeatMs: 100,
    changeScanClock: options.changeScanClock,
    logger: options.logger,
  });
  runner.start();
  cleanups.push(async () => {
    await runner.stop();
    await store.close();
  });
  return { dir, store, runner, published };
}

describe('runner', () => {
  it('applies the config at start and scans each instrument of the strategy', async () => {
    const { runner } = await start({ key: 'momentum_v2' });
    expect(runner.latest().applied).toMatchObject({ configVersion: 1, strategyKey: 'momentum_v2', scanIntervalSeconds: 1 });
    const state = await waitUntil(
      async () => runner.latest(),
      (s) => s.lastScanAt !== null,
      { what: 'first scan' },
    );
    expect(state.lastSignals.map((s) => s.instrument)).toEqual(['EUR_USD', 'GBP_USD', 'USD_JPY', 'AUD_USD']);
    expect(state.lastSignals.every((s) => s.error === null && s.candleTime !== null)).toBe(true);
    expect(runnerHealth(state, Date.now())).toBe('RUNNING');
  });

  it('scans a lone change at once, and a burst of changes together once the spacing is over (each applied at once)', async () => {
    // The change clock is stepped by hand; a scan due later runs when the test fires it.
    let now = 0;
    const due: { run: () => void; ms: number; cancelled: boolean }[] = [];
    const changeScanClock: ChangeScanClock = {
      now: () => now,
      later(run, ms) {
        const entry = { run, ms, cancelled: false };
        due.push(entry);
        return () => {
          entry.cancelled = true;
        };
      },
    };
    // Which strategy each scan asked the feed for, by its instruments (momentum: 3 pairs, gold: XAU_USD only).
    const sim = createSimulatedFeed();
    const asked: string[] = [];
    const feed: CandleFeed = {
      description: 'recording',
      candles: (instrument, count) => {
        asked.push(instrument);
        return sim.candles(instrument, count);
      },
    };
    // No periodic scan comes in between (an hour's interval): every scan here is one for a change.
    const { runner, store } = await start({ feed, key: 'momentum', intervalSeconds: 3600, changeScanClock });
    const scanned = (key: string, after: number) =>
      waitUntil(
        async () => runner.latest(),
        (s) => (s.scanCount ?? 0) > after && s.lastSignals[0]?.strategyKey === key,
        { what: `a scan of ${key}` },
      );
    const first = await scanned('momentum', 0);
    // Every scan the runner makes finishes within a few turns of the event loop (the feed answers from memory).
    const turns = async () => {
      for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    };

    // A lone change, long after the last: scanned at once.
    now = 10_000;
    await store.commit(activateStrategy('gold', { actor: 'test' }));
    const lone = await scanned('gold', first.scanCount ?? 0);
    expect(due).toEqual([]);

    // Two more changes 10 and 20 ms later: each applied at once, neither scanned yet.
    asked.length = 0;
    now = 10_010;
    await store.commit(activateStrategy('range', { actor: 'test' }));
    expect(runner.latest().applied?.strategyKey).toBe('range');
    now = 10_020;
    await store.commit(activateStrategy('momentum', { actor: 'test' }));
    expect(runner.latest().applied?.strategyKey).toBe('momentum');
    await turns();
    expect(runner.latest().scanCount).toBe(lone.scanCount);
    expect(asked).toEqual([]);
    // One scan is due, 100 ms after the last change's scan began; it scans what is applied then.
    expect(due.map((d) => d.ms)).toEqual([90]);
    now = 10_100;
    due[0]!.run();
    const together = await scanned('momentum', lone.scanCount ?? 0);
    expect(together.scanCount).toBe((lone.scanCount ?? 0) + 1);
    expect(asked).toEqual(['EUR_USD', 'GBP_USD', 'USD_JPY']); // range's pairs were never asked for

    // Quiet again: the next change is scanned at once.
    now = 20_000;
    await store.commit(activateStrategy('gold', { actor: 'test' }));
    await scanned('gold', together.scanCount ?? 0);
    expect(due).toHaveLength(1);
  });

  it('holds a feed failure as ERROR while every instrument fails, through config changes, and clears it when the feed recovers', async () => {
    let failing = true;
    const sim = createSimulatedFeed();
    const feed: CandleFeed = {
      description: 'flaky',
      candles: (instrument, count) => (failing ? Promise.reject(new Error('broker down')) : sim.candles(instrument, count)),
    };
    const { runner, store } = await start({ feed });
    const failed = await waitUntil(
      async () => runner.latest(),
      (s) => s.error !== null,
      { what: 'scan error' },
    );
    expect(failed.error).toBe('scan failed: broker down');
    expect(failed.lastSignals[0]).toMatchObject({ direction: 'FLAT', reason: 'no data: broker down', error: 'broker down' });
    expect(runnerHealth(failed, Date.now())).toBe('ERROR');
    await store.commit(updateConfig({ tradingEnabled: false }, { actor: 'test' })); // a config change must not hide the feed problem
    expect(runner.latest().applied?.configVersion).toBe(2);
    expect(runner.latest().error).toBe('scan failed: broker down');
    failing = false;
    // The scan the change started may straddle the recovery (its first instrument failed, the next did
    // not: a partial failure is no error); the first whole scan after it is all good.
    const recovered = await waitUntil(
      async () => runner.latest(),
      (s) => s.error === null && s.lastSignals.every((signal) => signal.error === null),
      { what: 'recovery', timeoutMs: 10_000 },
    );
    expect(recovered.error).toBeNull();
  });

  it('every instrument failing, some of them past the end of a replay: the error names the failure, not the end', async () => {
    const sim = createSimulatedFeed();
    // momentum: EUR_USD's replay has ended (candles, and the end said), GBP_USD and USD_JPY fail.
    const feed: CandleFeed = {
      description: 'mixed',
      candles: (instrument, count) =>
        instrument === 'EUR_USD' ? sim.candles(instrument, count) : Promise.reject(new Error(`no candles for ${instrument}`)),
      ended: (instrument) => (instrument === 'EUR_USD' ? 'csv feed ended at 2026-01-05T00:00:00Z for EUR_USD' : null),
    };
    const { runner } = await start({ feed });
    const state = await waitUntil(
      async () => runner.latest(),
      (s) => s.lastScanAt !== null,
      { what: 'scan' },
    );
    expect(state.lastSignals.map((s) => s.error)).toEqual([
      'csv feed ended at 2026-01-05T00:00:00Z for EUR_USD',
      'no candles for GBP_USD',
      'no candles for USD_JPY',
    ]);
    expect(state.error).toBe('scan failed: no candles for GBP_USD');
  });

  it('reports one failing instrument on its signal without calling the runner failed, and says so in its log once (it said nothing), then when it is back', async () => {
    const sim = createSimulatedFeed();
    let gbp = false;
    const feed: CandleFeed = {
      description: 'partial',
      candles: (instrument, count) =>
        instrument === 'GBP_USD' && !gbp
          ? Promise.reject(new Error('no candles for GBP_USD in partial.csv'))
          : sim.candles(instrument, count),
    };
    const lines: [string, string][] = [];
    const at = (level: string) => (_fields: unknown, message: string) => void lines.push([level, message]);
    const { runner } = await start({ feed, logger: { info: at('info'), warn: at('warn'), error: at('error') } as never });
    const state = await waitUntil(
      async () => runner.latest(),
      (s) => (s.scanCount ?? 0) >= 2,
      { what: 'two scans' },
    );
    expect(state.error).toBeNull();
    expect(state.lastSignals.find((s) => s.instrument === 'GBP_USD')?.error).toBe('no candles for GBP_USD in partial.csv');
    const said = (text: string) => lines.filter(([, message]) => message.includes(text));
    expect(said('GBP_USD')).toEqual([
      ['warn', 'no data for GBP_USD: no candles for GBP_USD in partial.csv; its signal is FLAT until it has data'],
    ]);
    gbp = true;
    await waitUntil(
      async () => said('GBP_USD').length,
      (n) => n === 2,
      { what: 'the recovery said' },
    );
    expect(said('GBP_USD')[1]).toEqual(['info', 'data for GBP_USD again (partial)']);
  });

  it('a strategy whose signal function throws is said as its failure, not as "no data" (the feed had its candles)', async () => {
    const broken = createStrategyRegistry({
      ...STRATEGIES,
      momentum: {
        ...STRATEGIES.momentum!,
        signal: () => {
          throw new Error('division by zero');
        },
      },
    });
    const lines: [string, string][] = [];
    const at = (level: string) => (_fields: unknown, message: string) => void lines.push([level, message]);
    const { runner } = await start({ strategies: broken, logger: { info: at('info'), warn: at('warn'), error: at('error') } as never });
    const state = await waitUntil(
      async () => runner.latest(),
      (s) => s.lastScanAt !== null,
      { what: 'scan' },
    );
    expect(state.lastSignals[0]).toMatchObject({ direction: 'FLAT', reason: 'signal failed: division by zero', error: 'division by zero' });
    expect(lines.filter(([, m]) => m.includes('division by zero'))[0]).toEqual([
      'warn',
      `the signal of momentum failed for ${state.lastSignals[0]!.instrument}: division by zero; its signal is FLAT until it computes`,
    ]);
  });

  it('a signal whose values are not finite numbers is a failed signal (published as null, the API refused the whole state)', async () => {
    const infinite = createStrategyRegistry({
      ...STRATEGIES,
      momentum: {
        ...STRATEGIES.momentum!,
        signal: () => ({ direction: 'LONG', reason: 'up', values: { returnPct: Number.POSITIVE_INFINITY, lookback: 20 } }),
      },
    });
    const { runner } = await start({ strategies: infinite });
    const state = await waitUntil(
      async () => runner.latest(),
      (s) => s.lastScanAt !== null,
      { what: 'scan' },
    );
    expect(state.lastSignals[0]).toMatchObject({
      direction: 'FLAT',
      reason: 'signal failed: its values are not finite numbers (returnPct Infinity)',
      values: {},
    });
    expect(JSON.parse(JSON.stringify(state.lastSignals))).toEqual(state.lastSignals);
  });

  it('keeps what it applied and says so when the config cannot be read, then converges when it can', async () => {
    let broken = false;
    const fs: FileSystem = {
      ...nodeFileSystem,
      readFile: (file) =>
        broken ? Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })) : nodeFileSystem.readFile(file),
    };
    const { runner, dir } = await start({ fs });
    broken = true;
    const failing = await waitUntil(
      async () => runner.latest(),
      (s) => s.error !== null,
      { what: 'read error', timeoutMs: 10_000 },
    );
    expect(failing.error).toBe('cannot read the config (EIO), keeping what was applied');
    expect(failing.applied?.strategyKey).toBe('momentum');
    await writeFile(path.join(dir, 'config.yaml'), CONFIG('range'));
    broken = false;
    const fixed = await waitUntil(
      async () => runner.latest(),
      (s) => s.applied?.strategyKey === 'range',
      { what: 'converged', timeoutMs: 10_000 },
    );
    expect(fixed.error).toBeNull();
  });

  it('the store away is not a runner ERROR (it runs the last good config); back, it re-reads at once, not a scan interval later', async () => {
    const dir = await tempRuntimeDir();
    await writeFile(path.join(dir, 'config.yaml'), CONFIG('momentum').replace('scan_interval_seconds: 1', 'scan_interval_seconds: 3600'));
    const files = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir, pollMs: 60_000 });
    await files.start();
    // The store as a runner on etcd sees it: reads fail while etcd is away, and a connection event says it is back.
    let away = true;
    let reads = 0;
    const listeners = new Set<(event: StoreEvent) => void>();
    const store: ConfigStore = {
      info: files.info,
      commit: ((change: Change, options?: CommitOptions) => files.commit(change, options)) as ConfigStore['commit'],
      audit: (query) => files.audit(query),
      strategiesProblem: () => files.strategiesProblem(),
      start: () => files.start(),
      close: () => files.close(),
      state: () => files.state(),
      problem: () => files.problem(),
      refresh: () => {
        reads += 1;
        return away ? Promise.reject(new StoreUnavailableError()) : files.refresh();
      },
      subscribe: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    const runner = new Runner({ store, feed: createSimulatedFeed(), publisher: { publish: async () => {}, close: async () => {} } });
    runner.start();
    cleanups.push(async () => {
      await runner.stop();
      await files.close();
    });
    const running = await waitUntil(
      async () => ({ state: runner.latest(), reads }),
      ({ state, reads }) => state.applied?.strategyKey === 'momentum' && reads >= 1,
      { what: 'a scan with the store away' },
    );
    // Before: 'cannot read the config (StoreUnavailableError), keeping what was applied', ERROR on
    // every runner (and again for a moment when etcd came back, before the re-read).
    expect(running.state.error).toBeNull();
    expect(runnerHealth(running.state, Date.now())).toBe('RUNNING');

    // Changed while the store was away; back, the runner reads it at once.
    await writeFile(path.join(dir, 'config.yaml'), CONFIG('range').replace('scan_interval_seconds: 1', 'scan_interval_seconds: 3600'));
    away = false;
    for (const listener of listeners) listener({ type: 'connection', connected: true });
    const applied = await waitUntil(
      async () => runner.latest(),
      (s) => s.applied?.strategyKey === 'range',
      { what: 'the change applied on reconnect' },
    );
    expect(applied.error).toBeNull();
  });

  it('publishes a final STOPPED state on stop and then nothing more', async () => {
    const { runner, published } = await start();
    await runner.stop();
    const count = published.length;
    expect(published.at(-1)?.stopped).toBe(true);
    expect(runnerHealth(published.at(-1)!, Date.now())).toBe('STOPPED');
    await new Promise((r) => setTimeout(r, 250)); // two heartbeat intervals
    expect(published.length).toBe(count);
  });
});
