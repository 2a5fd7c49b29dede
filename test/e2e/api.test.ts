import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { isAdminTokenProof, newAdminProofChallenge } from '../../src/auth/admin-proof.js';
import { deletePreset } from '../../src/config/preset-changes.js';
import type { Change, CommitOptions } from '../../src/config/store.js';
import { VERSION_BOUND_WAY_OUT, writeFailureWords } from '../../src/page/views/dialog.js';
import { GRAPHQL_PATHS } from '../helpers/graphql-paths.js';
import { startTestServer, TEST_TOKEN } from '../helpers/server.js';

const ACTIVATE = `mutation Activate($key: String!, $expectedVersion: Int) {
  activateStrategy(strategyKey: $key, expectedVersion: $expectedVersion) {
    activeStrategyKey previousStrategyKey configVersion changed
    status { activeStrategyKey configVersion }
  }
}`;
const UPDATE = `mutation Update($input: UpdateConfigInput!) {
  updateConfig(input: $input) {
    changedFields
    config { activeStrategyKey tradingEnabled scanIntervalSeconds tunableOverrides version updatedAt }
    status { configVersion }
  }
}`;

const configPath = (dir: string) => path.join(dir, 'config.yaml');

describe('queries', () => {
  it('lists the five strategies with their metadata', async () => {
    const server = await startTestServer();
    const res = await server.gql(`{ strategies { key name description instruments tunables riskLevel sessionPreference isActive
      tunableDefinitions { name type default min max description } } }`);
    expect(res.status).toBe(200);
    const list = res.body.data?.strategies;
    expect(list.map((s: { key: string }) => s.key)).toEqual(['momentum', 'gold', 'range', 'eur_usd_5m_safe', 'momentum_v2']);
    const gold = list.find((s: { key: string }) => s.key === 'gold');
    expect(gold).toMatchObject({
      name: 'Gold Trend',
      instruments: ['XAU_USD'],
      riskLevel: 'HIGH',
      sessionPreference: 'NY',
      isActive: false,
    });
    expect(gold.tunables).toMatchObject({ fast_ma_period: 20, slow_ma_period: 50 });
    expect(gold.tunableDefinitions).toContainEqual(
      expect.objectContaining({ name: 'fast_ma_period', type: 'INTEGER', default: 20, min: 2, max: 200 }),
    );
    for (const s of list) {
      expect(s.description.length).toBeGreaterThan(40);
      expect(s.instruments.length).toBeGreaterThan(0);
      expect(Object.keys(s.tunables).length).toBeGreaterThan(2);
    }
    expect(list.filter((s: { isActive: boolean }) => s.isActive).map((s: { key: string }) => s.key)).toEqual(['momentum']);
  });

  it.each([
    ['instrument: "EUR_USD"', ['momentum', 'eur_usd_5m_safe', 'momentum_v2']],
    ['instrument: "xau/usd"', ['gold']],
    ['instrument: "BTC_USD"', []],
    ['riskLevel: LOW', ['range', 'eur_usd_5m_safe']],
    ['riskLevel: HIGH', ['gold', 'momentum_v2']],
    ['sessionPreference: LONDON', ['momentum', 'eur_usd_5m_safe']],
    ['sessionPreference: ASIA', ['range']],
    ['instrument: "EUR_USD", riskLevel: LOW, sessionPreference: LONDON', ['eur_usd_5m_safe']],
  ])('filters strategies(%s)', async (filter, expected) => {
    const server = await startTestServer();
    const res = await server.gql(`{ strategies(${filter}) { key } }`);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.strategies.map((s: { key: string }) => s.key)).toEqual(expected);
  });

  it('refuses an unknown enum value in a filter as a validation error', async () => {
    const server = await startTestServer();
    const res = await server.gql('{ strategies(riskLevel: EXTREME) { key } }');
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.message).toMatch(/EXTREME/);
  });

  it('looks up strategy(key): a known key, and null for an unknown one', async () => {
    const server = await startTestServer();
    const res = await server.gql('{ known: strategy(key: "range") { key name riskLevel } unknown: strategy(key: "nope") { key } }');
    expect(res.body).toEqual({ data: { known: { key: 'range', name: 'Range Mean Reversion', riskLevel: 'LOW' }, unknown: null } });
  });

  it('reports status and config from the file on disk, created with defaults', async () => {
    const server = await startTestServer();
    const res = await server.gql(
      '{ status { activeStrategyKey activeStrategy { key } configVersion configUpdatedAt configDigest tradingEnabled configError { message } } config { activeStrategyKey tradingEnabled scanIntervalSeconds tunableOverrides version } }',
    );
    expect(res.body.data?.status).toMatchObject({
      activeStrategyKey: 'momentum',
      activeStrategy: { key: 'momentum' },
      configVersion: 1,
      tradingEnabled: true,
      configError: null,
    });
    expect(res.body.data?.status.configDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(res.body.data?.config).toEqual({
      activeStrategyKey: 'momentum',
      tradingEnabled: true,
      scanIntervalSeconds: 30,
      tunableOverrides: {},
      version: 1,
    });
    const onDisk = parse(await readFile(configPath(server.runtimeDir), 'utf8'));
    expect(onDisk).toMatchObject({ active_strategy_key: 'momentum', trading_enabled: true, scan_interval_seconds: 30, version: 1 });
  });
});

describe("effectiveTunables of a preset, live and in deletePreset's answer", () => {
  const SHOWN = '{ tunables effectiveTunables }';
  for (const { name, fastLane } of GRAPHQL_PATHS) {
    it(`answered by ${name}: its defaults, then the overrides in force; deleted, its defaults (not {})`, async () => {
      const server = await startTestServer({ fastLane, runner: false });
      const upsert = await server.gql(
        `mutation { upsertPreset(input: { key: "gold_x", base: "gold", name: "GX", tunables: { fast_ma_period: 7 } }) { strategy ${SHOWN} } }`,
      );
      expect(upsert.body.errors).toBeUndefined();
      const defaults = upsert.body.data?.upsertPreset.strategy.tunables;
      expect(defaults).toMatchObject({ fast_ma_period: 7, slow_ma_period: 50 });
      expect(Object.keys(defaults)).toHaveLength(5);
      expect(upsert.body.data?.upsertPreset.strategy.effectiveTunables).toEqual(defaults);

      const override = async (value: number | null) =>
        expect(
          (await server.gql(UPDATE, { input: { tunableOverrides: { gold_x: value === null ? null : { fast_ma_period: value } } } })).body
            .errors,
        ).toBeUndefined();
      await override(9);
      const live = await server.gql(`{ strategy(key: "gold_x") ${SHOWN} }`);
      expect(live.body.data?.strategy).toEqual({ tunables: defaults, effectiveTunables: { ...defaults, fast_ma_period: 9 } });
      // A preset with overrides in force cannot be deleted; without them, its answer shows its defaults.
      await override(null);

      const removed = await server.gql(`mutation { deletePreset(key: "gold_x") { strategy ${SHOWN} } }`);
      expect(removed.body.errors).toBeUndefined();
      expect(removed.body.data?.deletePreset.strategy).toEqual({ tunables: defaults, effectiveTunables: defaults });
    });
  }
});

describe('activateStrategy', () => {
  it('without a token: 401 UNAUTHENTICATED with WWW-Authenticate, file untouched', async () => {
    const server = await startTestServer();
    const before = await readFile(configPath(server.runtimeDir));
    const res = await server.gql(ACTIVATE, { key: 'gold' }, null);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(res.body.data).toBeNull();
    expect(res.body.errors?.[0]).toMatchObject({ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } });
    expect(await readFile(configPath(server.runtimeDir))).toEqual(before);
  });

  it('with a wrong token: 401, the token not echoed, file untouched', async () => {
    const server = await startTestServer();
    const before = await readFile(configPath(server.runtimeDir));
    const wrong = 'wrong-token-that-is-long-enough-1234';
    const res = await server.gql(ACTIVATE, { key: 'gold' }, wrong);
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0]).toMatchObject({ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } });
    expect(JSON.stringify(res.body)).not.toContain(wrong);
    expect(await readFile(configPath(server.runtimeDir))).toEqual(before);
  });

  it('with an invalid key: 400 with the exact message, file byte-identical', async () => {
    const server = await startTestServer();
    const before = await readFile(configPath(server.runtimeDir));
    const res = await server.gql(ACTIVATE, { key: 'invalid_strategy' });
    expect(res.status).toBe(400);
    expect(res.body.data).toBeNull();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors?.[0]).toMatchObject({
      message: 'Invalid strategy key: invalid_strategy',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(await readFile(configPath(server.runtimeDir))).toEqual(before);
  });

  it('with a valid key: file updated, version +1, status shows it', async () => {
    const server = await startTestServer();
    const res = await server.gql(ACTIVATE, { key: 'gold' });
    expect(res.status).toBe(200);
    expect(res.body.data?.activateStrategy).toEqual({
      activeStrategyKey: 'gold',
      previousStrategyKey: 'momentum',
      configVersion: 2,
      changed: true,
      status: { activeStrategyKey: 'gold', configVersion: 2 },
    });
    const onDisk = parse(await readFile(configPath(server.runtimeDir), 'utf8'));
    expect(onDisk).toMatchObject({ active_strategy_key: 'gold', version: 2 });
    const status = await server.gql('{ status { activeStrategyKey configVersion } strategy(key: "gold") { isActive } }', undefined, null);
    expect(status.body.data).toEqual({ status: { activeStrategyKey: 'gold', configVersion: 2 }, strategy: { isActive: true } });
  });

  it('refuses a stale expectedVersion with CONFLICT 409 and the current version', async () => {
    const server = await startTestServer();
    await server.gql(ACTIVATE, { key: 'gold' });
    const before = await readFile(configPath(server.runtimeDir));
    const res = await server.gql(ACTIVATE, { key: 'range', expectedVersion: 1 });
    expect(res.status).toBe(409);
    expect(res.body.errors?.[0]).toMatchObject({
      message: 'Config version conflict: expected 1, current 2',
      extensions: { code: 'CONFLICT', currentVersion: 2 },
    });
    expect(await readFile(configPath(server.runtimeDir))).toEqual(before);
    const ok = await server.gql(ACTIVATE, { key: 'range', expectedVersion: 2 });
    expect(ok.body.data?.activateStrategy.configVersion).toBe(3);
  });

  it('keeps a comment an operator wrote by hand in config.yaml', async () => {
    const server = await startTestServer();
    const file = configPath(server.runtimeDir);
    const original = await readFile(file, 'utf8');
    await writeFile(
      file,
      `# Desk note: do not raise the scan interval above 60 before the ECB meeting.\n${original.replace('trading_enabled: true', 'trading_enabled: true # keep on: signals only')}`,
    );
    await server.store.refresh();
    const res = await server.gql(ACTIVATE, { key: 'range' });
    expect(res.body.data?.activateStrategy.activeStrategyKey).toBe('range');
    const after = await readFile(file, 'utf8');
    expect(after).toContain('# Desk note: do not raise the scan interval above 60 before the ECB meeting.');
    expect(after).toContain('trading_enabled: true # keep on: signals only');
    expect(after).toContain('active_strategy_key: range');
  });

  it('50 concurrent activations: valid YAML after, version +50 exactly, active key one of those sent', async () => {
    const server = await startTestServer();
    const keys = ['momentum', 'gold', 'range', 'eur_usd_5m_safe', 'momentum_v2'];
    const sent = Array.from({ length: 50 }, (_, i) => keys[i % keys.length] as string);
    const results = await Promise.all(sent.map((key) => server.gql(ACTIVATE, { key })));
    expect(results.map((r) => r.status)).toEqual(sent.map(() => 200));
    // An activation of the key already in force (by the time it commits) is a no-op: no version used.
    const changed = results.filter((r) => r.body.data?.activateStrategy.changed);
    expect(changed.length).toBeGreaterThanOrEqual(40);
    const versions = changed.map((r) => r.body.data?.activateStrategy.configVersion).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: changed.length }, (_, i) => i + 2));
    const onDisk = parse(await readFile(configPath(server.runtimeDir), 'utf8'));
    expect(onDisk.version).toBe(1 + changed.length);
    expect(sent).toContain(onDisk.active_strategy_key);
    const status = await server.gql('{ status { configVersion activeStrategyKey } }');
    expect(status.body.data?.status).toEqual({ configVersion: 1 + changed.length, activeStrategyKey: onDisk.active_strategy_key });
  });
});

describe('updateConfig', () => {
  it('a partial update keeps the other fields', async () => {
    const server = await startTestServer();
    await server.gql(UPDATE, { input: { tunableOverrides: { momentum: { lookback_bars: 40 }, gold: { trailing: null } } } }).then((r) => {
      expect(r.status).toBe(400); // gold has no such tunable
    });
    const first = await server.gql(UPDATE, { input: { tunableOverrides: { momentum: { lookback_bars: 40, entry_threshold_pct: 0.2 } } } });
    expect(first.body.errors).toBeUndefined();
    const res = await server.gql(UPDATE, {
      input: { scanIntervalSeconds: 5, tunableOverrides: { momentum: { entry_threshold_pct: null } } },
    });
    expect(res.status).toBe(200);
    expect(res.body.data?.updateConfig).toMatchObject({
      changedFields: ['scanIntervalSeconds', 'tunableOverrides'],
      config: {
        activeStrategyKey: 'momentum',
        tradingEnabled: true,
        scanIntervalSeconds: 5,
        tunableOverrides: { momentum: { lookback_bars: 40 } },
        version: 3,
      },
      status: { configVersion: 3 },
    });
    const onDisk = parse(await readFile(configPath(server.runtimeDir), 'utf8'));
    expect(onDisk).toMatchObject({
      active_strategy_key: 'momentum',
      trading_enabled: true,
      scan_interval_seconds: 5,
      tunable_overrides: { momentum: { lookback_bars: 40 } },
      version: 3,
    });
    const effective = await server.gql('{ strategy(key: "momentum") { effectiveTunables } }');
    expect(effective.body.data?.strategy.effectiveTunables).toMatchObject({ lookback_bars: 40, entry_threshold_pct: 0.15 });
  });

  it('refuses invalid values with per-field issues and changes nothing', async () => {
    const server = await startTestServer();
    const before = await readFile(configPath(server.runtimeDir));
    const issuesOf = (body: { errors?: { extensions?: { issues?: { path: string[]; message: string }[] } }[] }) =>
      Object.fromEntries((body.errors?.[0]?.extensions?.issues ?? []).map((i) => [i.path.join('.'), i.message]));

    // What is wrong with the input's shape and bounds is said at the edge, all at once.
    const shape = await server.gql(UPDATE, {
      input: { scanIntervalSeconds: 0, tunableOverrides: { momentum: { lookback_bars: 'twenty' } } },
    });
    expect(shape.status).toBe(400);
    expect(shape.body.data).toBeNull();
    expect(shape.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(shape.body.errors?.[0]?.message).toMatch(/^Invalid config: scanIntervalSeconds: must be at least 1 second/);
    expect(issuesOf(shape.body)).toMatchObject({ scanIntervalSeconds: 'must be at least 1 second' });
    expect(Object.keys(issuesOf(shape.body))).toContain('tunableOverrides.momentum.lookback_bars');

    // A key that names no strategy is refused as the seed words it.
    const key = await server.gql(UPDATE, { input: { activeStrategyKey: 'nope', tradingEnabled: false } });
    expect(key.status).toBe(400);
    expect(key.body.errors?.[0]?.message).toBe('Invalid strategy key: nope');

    // What only the strategies in force can say (unknown strategy or tunable, a tunable's bounds), per field.
    const res = await server.gql(UPDATE, {
      input: { tunableOverrides: { momentum: { lookback_bars: 1000, made_up: 1 }, ghost: { x: 1 } } },
    });
    expect(res.status).toBe(400);
    expect(res.body.data).toBeNull();
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(issuesOf(res.body)).toEqual({
      'tunableOverrides.momentum.lookback_bars': 'must be an integer in [2, 500], got 1000',
      'tunableOverrides.momentum.made_up': expect.stringMatching(/^unknown tunable "made_up" for strategy "momentum"/),
      'tunableOverrides.ghost': expect.stringMatching(/^unknown strategy "ghost"/),
    });

    // Each value within its bounds, but together nonsense: gold's fast average longer than its slow one
    // (50 by default) would invert its crossover signals.
    const rule = await server.gql(UPDATE, { input: { tunableOverrides: { gold: { fast_ma_period: 60 } } } });
    expect(rule.status).toBe(400);
    expect(rule.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(issuesOf(rule.body)).toEqual({
      'tunableOverrides.gold.fast_ma_period': expect.stringMatching(/^fast_ma_period \(60\) must be less than slow_ma_period \(50\): /),
    });
    expect(await readFile(configPath(server.runtimeDir))).toEqual(before);
    // Both moved together are fine.
    const both = await server.gql(UPDATE, { input: { tunableOverrides: { gold: { fast_ma_period: 60, slow_ma_period: 120 } } } });
    expect(both.body.errors).toBeUndefined();
  });

  it('names an unknown strategy key where the caller sent it: activeStrategyKey for updateConfig, strategyKey for activateStrategy', async () => {
    const server = await startTestServer({ runner: false });
    const before = await readFile(configPath(server.runtimeDir));
    const update = await server.gql(UPDATE, { input: { activeStrategyKey: 'nope' } });
    expect(update.status).toBe(400);
    expect(update.body.errors?.[0]).toMatchObject({
      message: 'Invalid strategy key: nope',
      // Still located at the field (an error with an array `path` of its own lost both: graphql-js took it for located).
      locations: [expect.any(Object)],
      path: ['updateConfig'],
      extensions: { code: 'BAD_USER_INPUT', issues: [{ path: ['activeStrategyKey'], message: 'Invalid strategy key: nope' }] },
    });
    const activate = await server.gql(ACTIVATE, { key: 'nope' });
    expect(activate.status).toBe(400);
    expect(activate.body.errors?.[0]).toMatchObject({
      message: 'Invalid strategy key: nope',
      locations: [expect.any(Object)],
      path: ['activateStrategy'],
      extensions: { code: 'BAD_USER_INPUT', issues: [{ path: ['strategyKey'], message: 'Invalid strategy key: nope' }] },
    });
    // REST says it in the seed's words, whichever route (its detail names no GraphQL field).
    const post = (p: string, body: object) =>
      fetch(`${server.origin}${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
        body: JSON.stringify(body),
      });
    for (const [route, body] of [
      ['/api/config', { active_strategy_key: 'nope' }],
      ['/api/strategy/activate', { strategy_key: 'nope' }],
    ] as const) {
      const rest = await post(route, body);
      expect(rest.status, route).toBe(400);
      expect(await rest.json(), route).toEqual({ detail: 'Invalid strategy key: nope' });
    }
    expect(await readFile(configPath(server.runtimeDir))).toEqual(before);
  });

  it('a preset deleted between the check and the commit: activateStrategy still names its own strategyKey', async () => {
    const server = await startTestServer({ runner: false });
    const upsert = await server.gql('mutation { upsertPreset(input: { key: "gold_fast", base: "gold", name: "Gold fast" }) { changed } }');
    expect(upsert.body.errors).toBeUndefined();
    // The key passes the check before the commit; the preset is gone when the commit judges it.
    const commit = server.store.commit.bind(server.store);
    vi.spyOn(server.store, 'commit').mockImplementationOnce(async (change: Change, options?: CommitOptions) => {
      await commit(deletePreset('gold_fast', { actor: 'admin' }));
      return commit(change, options);
    });
    const activate = await server.gql(ACTIVATE, { key: 'gold_fast' });
    expect(activate.status).toBe(400);
    expect(activate.body.errors?.[0]).toMatchObject({
      message: 'Invalid strategy key: gold_fast',
      extensions: { code: 'BAD_USER_INPUT', issues: [{ path: ['strategyKey'], message: 'Invalid strategy key: gold_fast' }] },
    });
    expect(server.store.state().config.config.activeStrategyKey).toBe('momentum');
  });

  it('refuses an empty update', async () => {
    const server = await startTestServer();
    const res = await server.gql(UPDATE, { input: {} });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('needs the token', async () => {
    const server = await startTestServer();
    const res = await server.gql(UPDATE, { input: { tradingEnabled: false } }, null);
    expect(res.status).toBe(401);
  });
});

describe('hand edits', () => {
  it('a valid hand edit is served as it stands; an invalid one is reported and refuses writes until fixed', async () => {
    const server = await startTestServer();
    const file = configPath(server.runtimeDir);
    const good = await readFile(file, 'utf8');
    await writeFile(file, good.replace('active_strategy_key: momentum', 'active_strategy_key: gold'));
    await server.store.refresh();
    let res = await server.gql('{ status { activeStrategyKey configVersion configError { message } } }');
    // The file still says version 1; versions never go backwards, so the hand edit is in force as 2.
    expect(res.body.data?.status).toEqual({ activeStrategyKey: 'gold', configVersion: 2, configError: null });

    await writeFile(file, good.replace('active_strategy_key: momentum', 'active_strategy_key: golld'));
    await server.store.refresh();
    res = await server.gql('{ status { activeStrategyKey configError { location problems { line message } changesRefused } } }');
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.status.activeStrategyKey).toBe('gold');
    expect(res.body.data?.status.configError.problems).toEqual([{ line: 5, message: 'active_strategy_key: Invalid strategy key: golld' }]);
    expect(res.body.data?.status.configError.changesRefused).toBe(true);
    const ready = await fetch(`${server.origin}/ready`);
    expect(ready.status).toBe(503);

    const broken = await readFile(file);
    const refused = await server.gql(ACTIVATE, { key: 'range' });
    expect(refused.status).toBe(409);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('CONFIG_FILE_INVALID');
    expect(await readFile(file)).toEqual(broken);

    await writeFile(file, good);
    await server.store.refresh();
    res = await server.gql('{ status { activeStrategyKey configError { message } } }');
    expect(res.body.data?.status).toEqual({ activeStrategyKey: 'momentum', configError: null });
    expect((await fetch(`${server.origin}/ready`)).status).toBe(200);
  });
});

describe('versions stay within GraphQL Int (the README helper session F7)', () => {
  it('a hand edit above 2147483647 is refused as invalid; at 2147483647 a change is refused (503, nothing written), and status still answers', async () => {
    const server = await startTestServer();
    const file = configPath(server.runtimeDir);
    const good = await readFile(file, 'utf8');
    const STATUS = '{ status { activeStrategyKey configVersion configError { problems { message } } } }';
    await writeFile(file, good.replace(/^version: 1$/m, 'version: 2147483648'));
    await server.store.refresh();
    let res = await server.gql(STATUS);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.status).toEqual({
      activeStrategyKey: 'momentum',
      configVersion: 1,
      configError: { problems: [{ message: 'version: must be at most 2147483647' }] },
    });

    // The last version a change may have: valid, in force; the next change cannot be numbered.
    await writeFile(
      file,
      good.replace(/^version: 1$/m, 'version: 2147483647').replace('active_strategy_key: momentum', 'active_strategy_key: gold'),
    );
    await server.store.refresh();
    res = await server.gql(STATUS);
    expect(res.body.data?.status).toEqual({ activeStrategyKey: 'gold', configVersion: 2147483647, configError: null });
    const before = await readFile(file, 'utf8');
    const refused = await server.gql(ACTIVATE, { key: 'range' });
    expect(refused.status).toBe(503);
    expect(refused.body.errors?.[0]).toMatchObject({
      message: 'Config could not be written',
      extensions: { code: 'CONFIG_WRITE_FAILED', step: 'number the next version (2147483647 is the last one)', errno: 'EOVERFLOW' },
    });
    // The operator page's words for this very refusal (its dialogs send nothing at the bound; a
    // client whose view lags still gets it): the step, and that no retry can help.
    const [error] = refused.body.errors!;
    expect(writeFailureWords({ message: error!.message, code: 'CONFIG_WRITE_FAILED', extensions: error!.extensions ?? {} })).toEqual([
      'Step: number the next version (2147483647 is the last one) (EOVERFLOW: value too large).',
      `No further config version can be written: retrying cannot help. ${VERSION_BOUND_WAY_OUT}`,
    ]);
    expect(await readFile(file, 'utf8')).toBe(before);
    res = await server.gql(STATUS);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.status.configVersion).toBe(2147483647);

    // A second hand edit after the bound (its version not above the last, so numbered last + 1): no
    // version is left for it. Kept out like an invalid file; the last good config stays, status answers.
    await writeFile(file, before.replace('active_strategy_key: gold', 'active_strategy_key: momentum'));
    await server.store.refresh();
    res = await server.gql(STATUS);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.status).toEqual({
      activeStrategyKey: 'gold',
      configVersion: 2147483647,
      configError: {
        problems: [
          {
            message: 'this hand edit cannot be numbered: version 2147483647, the last a config may have, is already recorded in audit.log',
          },
        ],
      },
    });
    expect((await fetch(`${server.origin}/ready`)).status).toBe(503);
    const kept = await server.gql(ACTIVATE, { key: 'range' });
    expect(kept.status).toBe(409);
    expect(kept.body.errors?.[0]?.extensions?.code).toBe('CONFIG_FILE_INVALID');
    // A start on it is refused the same way (exit 78, as for an invalid file), not served as 2147483648.
    await server.close();
    await expect(startTestServer({ runtimeDir: server.runtimeDir })).rejects.toThrow(
      /this hand edit cannot be numbered: version 2147483647/,
    );
    // Nor is a missing config.yaml written again past the bound.
    await rm(file);
    await expect(startTestServer({ runtimeDir: server.runtimeDir })).rejects.toThrow(/the file is missing and cannot be written again/);
    await writeFile(file, before);
    const restarted = await startTestServer({ runtimeDir: server.runtimeDir });
    res = await restarted.gql(STATUS);
    expect(res.body.data?.status).toEqual({ activeStrategyKey: 'gold', configVersion: 2147483647, configError: null });

    // The preset set's version too.
    await writeFile(path.join(restarted.runtimeDir, 'strategies.yaml'), 'version: 2147483648\npresets: {}\n');
    await restarted.store.refresh();
    res = await restarted.gql('{ status { presetsVersion strategiesError { problems { message } } } }');
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.status.presetsVersion).toBe(0);
    expect(res.body.data?.status.strategiesError.problems[0].message).toBe(
      'version: must be a whole number from 0 to 2147483647, got 2147483648',
    );
  });
});

describe('the presets version at 2147483647', () => {
  it('a hand edit of strategies.yaml that would be numbered past it is refused as invalid; the last good set stays, and a start on it is refused', async () => {
    const server = await startTestServer();
    const file = path.join(server.runtimeDir, 'strategies.yaml');
    const atBound = 'version: 2147483647\npresets:\n  gold_fast:\n    base: gold\n    name: Gold fast\n';
    const STATUS = '{ status { presetsVersion strategiesError { problems { message } } } strategy(key: "gold_fast") { name } }';
    await writeFile(file, atBound);
    await server.store.refresh();
    let res = await server.gql(STATUS);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({ status: { presetsVersion: 2147483647, strategiesError: null }, strategy: { name: 'Gold fast' } });

    // Its version not above the last audited one, it would be numbered 2147483648: no version is left for it.
    await writeFile(file, atBound.replace('name: Gold fast', 'name: Gold faster'));
    await server.store.refresh();
    res = await server.gql(STATUS);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({
      status: {
        presetsVersion: 2147483647,
        strategiesError: {
          problems: [
            {
              message:
                'this hand edit cannot be numbered: version 2147483647, the last a preset set may have, is already recorded in audit.log',
            },
          ],
        },
      },
      strategy: { name: 'Gold fast' },
    });
    expect((await fetch(`${server.origin}/ready`)).status).toBe(503);
    const presetsLines = (await readFile(path.join(server.runtimeDir, 'audit.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { subject: string; version: number })
      .filter((line) => line.subject === 'PRESETS');
    expect(presetsLines.map((line) => line.version)).toEqual([2147483647]);
    // A change through the API is refused like on any invalid file, and writes nothing.
    const upsert = await server.gql(
      'mutation { upsertPreset(input: { key: "range_slow", base: "range", name: "Range slow" }) { presetsVersion } }',
    );
    expect(upsert.status).toBe(409);
    expect(upsert.body.errors?.[0]?.extensions?.code).toBe('CONFIG_FILE_INVALID');
    expect(await readFile(file, 'utf8')).toBe(atBound.replace('name: Gold fast', 'name: Gold faster'));

    // A start on it is refused the same way (exit 78), not served as 2147483648.
    await server.close();
    await expect(startTestServer({ runtimeDir: server.runtimeDir })).rejects.toThrow(
      /this hand edit cannot be numbered: version 2147483647/,
    );
    // Put back as it was audited, it is in force again.
    await writeFile(file, atBound);
    const restarted = await startTestServer({ runtimeDir: server.runtimeDir });
    res = await restarted.gql(STATUS);
    expect(res.body.data).toEqual({ status: { presetsVersion: 2147483647, strategiesError: null }, strategy: { name: 'Gold fast' } });
  });
});

describe('HTTP', () => {
  it('follows GraphQL over HTTP: GET for queries, the graphql-response media type, mutations refused over GET', async () => {
    const server = await startTestServer();
    const get = await fetch(`${server.url}?query=${encodeURIComponent('{ status { activeStrategyKey } }')}`, {
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    expect(await get.json()).toEqual({ data: { status: { activeStrategyKey: 'momentum' } } });

    const mutation = await fetch(
      `${server.url}?query=${encodeURIComponent('mutation { activateStrategy(strategyKey: "gold") { configVersion } }')}`,
      {
        headers: { accept: 'application/graphql-response+json', authorization: `Bearer ${server.token}` },
      },
    );
    expect(mutation.status).toBe(405);
    expect((await server.gql('{ config { activeStrategyKey } }')).body.data?.config.activeStrategyKey).toBe('momentum');

    const badJson = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(badJson.status).toBe(400);
    const invalid = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: '{ nope }' }),
    });
    expect(invalid.status).toBe(400);
  });

  it('masks unexpected errors', async () => {
    const server = await startTestServer();
    // A store that fails in an unexpected way: the client sees only the masked error.
    server.store.state = () => {
      throw new Error('secret internal detail /etc/passwd');
    };
    const res = await server.gql('{ config { version } }');
    expect(res.status).toBe(500);
    expect(res.body.errors?.[0]).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(res.body)).not.toMatch(/passwd|stack|\.ts/);
  });

  it('/health is 200 with JSON; /ready is 200 while the config is valid', async () => {
    const server = await startTestServer();
    const health = await fetch(`${server.origin}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const ready = await fetch(`${server.origin}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, configVersion: 1 });
  });

  it("/health proves, to a challenge, that it holds the admin token, for its own address and port (stratctl's check before it sends admin.token)", async () => {
    const server = await startTestServer({ adminTokenFile: true });
    const port = Number(new URL(server.origin).port);
    const challenge = newAdminProofChallenge();
    for (const method of ['GET', 'HEAD']) {
      const health = await fetch(`${server.origin}/health`, { method, headers: { 'x-admin-token-challenge': challenge } });
      expect(health.status).toBe(200);
      expect(health.headers.get('cache-control')).toBe('no-store');
      const proof = health.headers.get('x-admin-token-proof');
      expect(await isAdminTokenProof(proof, TEST_TOKEN, challenge, '127.0.0.1', port), method).toBe(true);
      expect(await isAdminTokenProof(proof, 'another-token-0123456789', challenge, '127.0.0.1', port)).toBe(false);
      // For this socket's address: not for the same port on another loopback address (a relay there).
      expect(await isAdminTokenProof(proof, TEST_TOKEN, challenge, '127.0.0.2', port)).toBe(false);
      expect(await isAdminTokenProof(proof, TEST_TOKEN, challenge, '::1', port)).toBe(false);
    }
    // No challenge, or something else in its place: no proof.
    const bad: Record<string, string>[] = [{}, { 'x-admin-token-challenge': 'not-hex' }, { 'x-admin-token-challenge': 'a'.repeat(300) }];
    for (const headers of bad) {
      const health = await fetch(`${server.origin}/health`, { headers });
      expect(health.status).toBe(200);
      expect(health.headers.get('x-admin-token-proof')).toBeNull();
    }
  });

  it('serves GraphiQL with no CDN asset and a useful default query', async () => {
    const server = await startTestServer();
    const res = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('strategy-control-plane');
    expect(html).toContain('activeStrategyKey');
    expect(html).not.toMatch(/<script[^>]+src="https?:|<link[^>]+href="https?:/);
  });
});
