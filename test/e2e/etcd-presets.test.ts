import { createClient } from 'graphql-sse';
import { expect, it } from 'vitest';
import { ConfigFileError } from '../../src/config/errors.js';
import type { StoreSettings } from '../../src/store-settings.js';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { freshPrefix, rawClient } from '../helpers/etcd-stores.js';
import { DELETE, fixedFeed, fixedGoldCandles, STATIC_KEYS, status, strategyKeys, UPSERT } from '../helpers/presets.js';
import { startTestServer } from '../helpers/server.js';
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
});
