import { createClient } from 'graphql-sse';
import { expect, it } from 'vitest';
import { ConfigFileError } from '../../src/config/errors.js';
import type { StoreSettings } from '../../src/store-settings.js';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { freshPrefix, rawClient } from '../helpers/etcd-stores.js';
import { gql } from '../helpers/http.js';
import {
  ACTIVATE,
  DELETE,
  fixedFeed,
  fixedGoldCandles,
  STATIC_KEYS,
  STATUS,
  STRATEGIES,
  status,
  strategyKeys,
  UPSERT,
} from '../helpers/presets.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, startTestServer, TEST_TOKEN } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

const GOLD_FAST = { key: 'gold_fast', base: 'gold', name: 'Gold Trend (fast)', tunables: { fast_ma_period: 3, slow_ma_period: 5 } };

describeWithEtcd('presets on etcd: two API replicas on one prefix, over HTTP', () => {
  it('an upsert through A is heard on B (strategiesChanged), listed and activated there (REST), run by the runner with its tunables; B refuses deleting it', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const store: StoreSettings = { kind: 'etcd', url: cluster.url(prefix), tls: {} };
    const a = await startTestServer({ store, runner: { heartbeatMs: 200, feed: fixedFeed(fixedGoldCandles()) } });
    const b = await startTestServer({ store, runner: false });

    const client = createClient({ url: b.url, retryAttempts: 0 });
    const heard: string[][] = [];
    const errors: unknown[] = [];
    let onConnected!: () => void;
    const connected = new Promise<void>((resolve) => {
      onConnected = resolve;
    });
    const dispose = client.subscribe<{ strategiesChanged: { key: string }[] }>(
      { query: 'subscription { strategiesChanged { key } }' },
      { next: (r) => heard.push((r.data?.strategiesChanged ?? []).map((s) => s.key)), error: (e) => errors.push(e), complete: () => {} },
      { connected: () => onConnected() },
    );
    try {
      await connected;
      const added = await a.gql(UPSERT, { input: GOLD_FAST });
      expect(added.body.data?.upsertPreset).toMatchObject({ changed: true, presetsVersion: 1 });
      await waitUntil(
        async () => heard,
        (h) => h.some((keys) => keys.includes('gold_fast')),
        { what: 'B hears the upsert made through A' },
      );
      expect(heard.at(-1)).toEqual([...STATIC_KEYS, 'gold_fast']);
      expect(errors).toEqual([]);
    } finally {
      dispose();
      client.dispose();
    }
    expect(await strategyKeys(b)).toEqual([...STATIC_KEYS, 'gold_fast']);
    expect((await status(b)).presetsVersion).toBe(1);

    // REST on B lists it and activates it; A's runner (the fleet's) runs the base's signal with the preset's tunables.
    const listed = (await (await fetch(`${b.origin}/api/strategies`)).json()) as { strategies: Record<string, unknown>[] };
    expect(listed.strategies.at(-1)).toMatchObject({ key: 'gold_fast', source: 'preset', base: 'gold' });
    const activate = await fetch(`${b.origin}/api/strategy/activate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${b.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ strategy_key: 'gold_fast' }),
    });
    expect(activate.status).toBe(200);
    expect(await activate.json()).toMatchObject({ active_strategy_key: 'gold_fast', changed: true });
    const running = await waitUntil(
      () => status(b),
      (s) => s.runner.lastSignals[0]?.strategyKey === 'gold_fast',
      { what: 'a scan of gold_fast, seen from B' },
    );
    expect(running.runner).toMatchObject({ appliedStrategyKey: 'gold_fast', appliedPresetsVersion: 1 });
    expect(running.runner.lastSignals[0]).toMatchObject({
      instrument: 'XAU_USD',
      direction: 'LONG',
      reason: 'fast MA(3) above slow MA(5) by 0.2415%',
    });

    const refused = await b.gql(DELETE, { key: 'gold_fast' });
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.message).toMatch(/^Refused: the config in force uses/);
    expect((await status(a)).presetsVersion).toBe(1);
  });

  it('with the strategies key invalid, running replicas keep the last good set (/ready 503); a replica starting now refuses to', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const store: StoreSettings = { kind: 'etcd', url: cluster.url(prefix), tls: {} };
    const a = await startTestServer({ store, runner: false });
    await a.gql(UPSERT, { input: GOLD_FAST });
    await rawClient(cluster).put(`/${prefix}/strategies`).value('version: 2\npresets:\n  gold_fast: {base: gold}\n');
    await waitUntil(
      () => status(a),
      (s) => s.strategiesError !== null,
      { what: 'the invalid key reported' },
    );
    expect(await strategyKeys(a)).toContain('gold_fast');
    const ready = await fetch(`${a.origin}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reasons: string[] }).reasons.join('\n')).toMatch(
      /^presets not in force: strategies: invalid presets/m,
    );
    const starting = startTestServer({ store, runner: false });
    await expect(starting).rejects.toBeInstanceOf(ConfigFileError);
    await expect(starting).rejects.toThrow(/strategies: invalid presets\n.*presets\.gold_fast\.name: is required/);
  });

  it('serve (a process) starts while a put of strategies is kept out: it runs the kept set, and status and /ready report the put', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const store: StoreSettings = { kind: 'etcd', url: cluster.url(prefix), tls: {} };
    const raw = rawClient(cluster);
    const a = await startTestServer({ store, runner: false });
    await a.gql(UPSERT, { input: GOLD_FAST });
    expect((await a.gql(ACTIVATE, { key: 'gold_fast' })).status).toBe(200);
    const inForceText = await raw.get(`/${prefix}/strategies`).string();
    await raw.put(`/${prefix}/strategies`).value('version: 2\npresets: {}\n');
    await waitUntil(
      () => raw.get(`/${prefix}/strategies.kept`).string(),
      (kept) => kept === inForceText,
      { what: 'the set in force kept by A' },
    );
    await a.close();

    // A restart: the config names gold_fast, which only the kept set has.
    const b = await spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', cluster.url(prefix)], {
      CONTROL_PLANE_TOKEN: TEST_TOKEN,
    });
    await b.waitFor(/strategies is kept out .*stay in force/);
    const ask = (query: string, variables?: Record<string, unknown>) => gql(b.url, query, variables, { token: TEST_TOKEN });
    const running = (await ask(STATUS)).body.data?.status;
    expect(running).toMatchObject({ activeStrategyKey: 'gold_fast', presetsVersion: 1 });
    expect(running.strategiesError.problems[0].message).toMatch(
      /^kept out: this version of the presets would leave the config invalid \(active_strategy_key: Invalid strategy key: gold_fast\)/,
    );
    expect(((await ask(STRATEGIES)).body.data?.strategies ?? []).map((s: { key: string }) => s.key)).toEqual([...STATIC_KEYS, 'gold_fast']);
    const ready = await fetch(new URL('/ready', b.url));
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reasons: string[] }).reasons.join('\n')).toMatch(
      /^presets not in force: strategies: .*\n.*kept out/m,
    );

    // The config stops using the preset: the put goes in through the restarted replica.
    expect((await ask(ACTIVATE, { key: 'gold' })).status).toBe(200);
    const after = await waitUntil(
      async () => (await ask(STATUS)).body.data?.status,
      (s) => s.strategiesError === null,
      { what: 'the put in force' },
    );
    expect(after).toMatchObject({ activeStrategyKey: 'gold', presetsVersion: 2 });
    await waitUntil(
      () => raw.get(`/${prefix}/strategies.kept`).string(),
      (kept) => kept === null,
      { what: 'the kept copy removed' },
    );
  });
});
