import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStrategyRegistry, STRATEGIES } from '../../src/registry/index.js';
import { startTestServer } from '../helpers/server.js';

const ACTIVATE = 'mutation($key: String!) { activateStrategy(strategyKey: $key) { configVersion } }';
const UPDATE = 'mutation($i: UpdateConfigInput!) { updateConfig(input: $i) { config { version } } }';
const ROLLBACK = `mutation($to: Int!, $v: Int) { rollbackConfig(toVersion: $to, expectedVersion: $v) {
  rolledBackTo changedFields config { activeStrategyKey tradingEnabled scanIntervalSeconds tunableOverrides version } status { configVersion } } }`;
const HISTORY = '{ configHistory { version operation actor config { activeStrategyKey scanIntervalSeconds tunableOverrides version } } }';

describe('history and rollback', () => {
  it('configHistory lists every accepted version, newest first, with the whole config', async () => {
    const server = await startTestServer();
    await server.gql(ACTIVATE, { key: 'gold' });
    await server.gql(UPDATE, { i: { scanIntervalSeconds: 15 } });
    const res = await server.gql(HISTORY);
    expect(res.body.data?.configHistory).toEqual([
      {
        version: 3,
        operation: 'updateConfig',
        actor: 'admin',
        config: { activeStrategyKey: 'gold', scanIntervalSeconds: 15, tunableOverrides: {}, version: 3 },
      },
      {
        version: 2,
        operation: 'activateStrategy',
        actor: 'admin',
        config: { activeStrategyKey: 'gold', scanIntervalSeconds: 30, tunableOverrides: {}, version: 2 },
      },
      {
        version: 1,
        operation: 'baseline',
        actor: 'system',
        config: { activeStrategyKey: 'momentum', scanIntervalSeconds: 30, tunableOverrides: {}, version: 1 },
      },
    ]);
  });

  it('rollbackConfig re-applies a past version as a new version (overrides added since are removed) and audits it', async () => {
    const server = await startTestServer();
    await server.gql(UPDATE, { i: { activeStrategyKey: 'gold', tunableOverrides: { gold: { fast_ma_period: 10 } } } }); // v2
    const v3 = await server.gql(UPDATE, {
      i: {
        activeStrategyKey: 'range',
        tradingEnabled: false,
        scanIntervalSeconds: 5,
        tunableOverrides: { gold: { slow_ma_period: 80 }, range: { band_period: 30 } },
      },
    }); // v3
    expect(v3.body.data?.updateConfig.config.version).toBe(3);
    const res = await server.gql(ROLLBACK, { to: 2, v: 3 });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.rollbackConfig).toEqual({
      rolledBackTo: 2,
      changedFields: ['activeStrategyKey', 'tradingEnabled', 'scanIntervalSeconds', 'tunableOverrides'],
      config: {
        activeStrategyKey: 'gold',
        tradingEnabled: true,
        scanIntervalSeconds: 30,
        tunableOverrides: { gold: { fast_ma_period: 10 } },
        version: 4,
      },
      status: { configVersion: 4 },
    });
    const onDisk = await readFile(path.join(server.runtimeDir, 'config.yaml'), 'utf8');
    expect(onDisk).toContain('active_strategy_key: gold');
    expect(onDisk).not.toContain('slow_ma_period');
    const last = (await readFile(path.join(server.runtimeDir, 'audit.log'), 'utf8')).trim().split('\n').at(-1) as string;
    expect(JSON.parse(last)).toMatchObject({ operation: 'rollbackConfig', actor: 'admin', version: 4, details: { rolledBackTo: 2 } });
    // And it is itself a version one can roll back to.
    const again = await server.gql(ROLLBACK, { to: 3 });
    expect(again.body.data?.rollbackConfig.config).toMatchObject({ activeStrategyKey: 'range', scanIntervalSeconds: 5, version: 5 });
  });

  it('refuses unknown versions and stale expectedVersion clearly, writing nothing', async () => {
    const server = await startTestServer();
    await server.gql(ACTIVATE, { key: 'gold' });
    const file = path.join(server.runtimeDir, 'config.yaml');
    const before = await readFile(file);
    for (const to of [0, 3, 999]) {
      const res = await server.gql(ROLLBACK, { to });
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0]).toMatchObject({
        message: `Unknown config version: ${to} (kept: versions 1 to 2)`,
        extensions: { code: 'BAD_USER_INPUT', reason: 'unknown', oldestKeptVersion: 1, newestKeptVersion: 2 },
      });
    }
    const stale = await server.gql(ROLLBACK, { to: 1, v: 1 });
    expect(stale.status).toBe(409);
    expect(stale.body.errors?.[0]?.message).toBe('Config version conflict: expected 1, current 2');
    expect(await readFile(file)).toEqual(before);
  });

  it('keeps the last 100 versions; an older one is refused as expired', async () => {
    const server = await startTestServer();
    const keys = ['gold', 'range'];
    for (let i = 0; i < 104; i++) expect((await server.gql(ACTIVATE, { key: keys[i % 2] })).status).toBe(200); // v2..v105
    const history = (await server.gql('{ configHistory { version } }')).body.data?.configHistory;
    expect(history).toHaveLength(100);
    expect(history[0].version).toBe(105);
    expect(history[99].version).toBe(6);
    const expired = await server.gql(ROLLBACK, { to: 5 });
    expect(expired.status).toBe(400);
    expect(expired.body.errors?.[0]).toMatchObject({
      message: 'Config version 5 has expired from the history (kept: versions 6 to 105)',
      extensions: { code: 'BAD_USER_INPUT', reason: 'expired' },
    });
    expect((await server.gql(ROLLBACK, { to: 6 })).body.data?.rollbackConfig.config.version).toBe(106);
  });

  it('validates against today’s registry: a version naming a strategy since removed is refused', async () => {
    const first = await startTestServer();
    await first.gql(UPDATE, { i: { tunableOverrides: { gold: { fast_ma_period: 12 } } } }); // v2 mentions gold
    await first.gql(UPDATE, { i: { tunableOverrides: { gold: null } } }); // v3 does not
    await first.close();
    const { gold: _removed, ...rest } = STRATEGIES;
    const server = await startTestServer({ runtimeDir: first.runtimeDir, strategies: createStrategyRegistry(rest) });
    const before = await readFile(path.join(server.runtimeDir, 'config.yaml'));
    const res = await server.gql(ROLLBACK, { to: 2 });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.body.errors?.[0]?.message).toContain('unknown strategy "gold"');
    expect(await readFile(path.join(server.runtimeDir, 'config.yaml'))).toEqual(before);
  });

  it('a preset keyed like an Object property (constructor): its overrides are rolled back like any other', async () => {
    const server = await startTestServer();
    const ok = (q: string) => server.gql(q).then((r) => expect(r.body.errors).toBeUndefined());
    await ok('mutation { upsertPreset(input: { key: "constructor", base: "gold", name: "Ctor" }) { changed } }');
    await ok('mutation { updateConfig(input: { tunableOverrides: { constructor: { fast_ma_period: 10 } } }) { changed } }'); // v2
    await ok('mutation { updateConfig(input: { tunableOverrides: { constructor: null } }) { changed } }'); // v3
    const res = await server.gql(ROLLBACK, { to: 2 });
    expect(res.body.errors).toBeUndefined();
    // It answered changed: false with no override (and, with another field changed, audited a rollback without it).
    expect(res.body.data?.rollbackConfig).toMatchObject({
      changedFields: ['tunableOverrides'],
      config: { tunableOverrides: { constructor: { fast_ma_period: 10 } }, version: 4 },
    });
    expect(await readFile(path.join(server.runtimeDir, 'config.yaml'), 'utf8')).toMatch(/constructor:\n\s+fast_ma_period: 10/);
    // And back again: v3 had none.
    const back = await server.gql(ROLLBACK, { to: 3 });
    expect(back.body.data?.rollbackConfig.config).toMatchObject({ tunableOverrides: {}, version: 5 });
  });

  it('a version whose active strategy (a preset) was deleted since: refused in the rollback’s terms, not as a bare bad key', async () => {
    const server = await startTestServer();
    const preset = (q: string) => server.gql(q).then((r) => expect(r.body.errors).toBeUndefined());
    await preset('mutation { upsertPreset(input: { key: "range_wide", base: "range", name: "Range wide" }) { changed } }');
    await preset('mutation { activateStrategy(strategyKey: "range_wide") { configVersion } }'); // v2
    await preset('mutation { activateStrategy(strategyKey: "gold") { configVersion } }'); // v3
    await preset('mutation { deletePreset(key: "range_wide") { changed } }');
    const before = await readFile(path.join(server.runtimeDir, 'config.yaml'));
    const res = await server.gql(ROLLBACK, { to: 2 });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]).toMatchObject({
      message:
        'Cannot roll back to version 2: its active strategy range_wide is not a strategy now (a preset deleted since?); restore it first, or roll back to another version',
      extensions: { code: 'BAD_USER_INPUT', issues: [{ path: ['toVersion'] }] },
    });
    expect(await readFile(path.join(server.runtimeDir, 'config.yaml'))).toEqual(before);
  });

  it('a version whose tunable overrides name a preset deleted since: refused in the rollback’s terms, with what does not fit', async () => {
    const server = await startTestServer();
    const ok = (q: string) => server.gql(q).then((r) => expect(r.body.errors).toBeUndefined());
    await ok('mutation { upsertPreset(input: { key: "gold_fast", base: "gold", name: "Gold fast" }) { changed } }');
    await ok('mutation { updateConfig(input: { tunableOverrides: { gold_fast: { fast_ma_period: 9 } } }) { changed } }'); // v2
    await ok('mutation { updateConfig(input: { tunableOverrides: { gold_fast: null } }) { changed } }'); // v3
    await ok('mutation { deletePreset(key: "gold_fast") { changed } }');
    const before = await readFile(path.join(server.runtimeDir, 'config.yaml'));
    const res = await server.gql(ROLLBACK, { to: 2 });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.body.errors?.[0]?.message).toMatch(
      /^Cannot roll back to version 2: its settings do not fit the strategies now \(tunableOverrides\.gold_fast: unknown strategy "gold_fast".*\); restore what they name, or roll back to another version$/,
    );
    expect(await readFile(path.join(server.runtimeDir, 'config.yaml'))).toEqual(before);
  });
});
