import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createToken } from '../../src/auth/token-file.js';
import { faultyAuditFs } from '../helpers/faulty-audit-fs.js';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, startTestServer, TEST_TOKEN } from '../helpers/server.js';

const ACTIVATE = 'mutation($key: String!) { activateStrategy(strategyKey: $key) { configVersion } }';
const AUDIT = '{ auditLog(last: 10) { time actor operation version digest changes { field before after } details } }';

async function auditLines(dir: string): Promise<any[]> {
  const text = await readFile(path.join(dir, 'audit.log'), 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('audit trail', () => {
  it('one durable line per accepted change: actor = token name, before → after, version, digest', async () => {
    const server = await startTestServer();
    const token = await createToken(server.runtimeDir, 'ci-deploy', 'operate');
    expect((await server.gql(ACTIVATE, { key: 'gold' }, token)).status).toBe(200);
    await server.gql(
      'mutation { updateConfig(input: { scanIntervalSeconds: 12, tunableOverrides: { gold: { fast_ma_period: 9 } } }) { changedFields } }',
    );
    const status = await server.gql('{ status { configDigest configVersion } }');

    const lines = await auditLines(server.runtimeDir);
    expect(lines.map((l) => [l.operation, l.actor, l.version])).toEqual([
      ['baseline', 'system', 1],
      ['activateStrategy', 'ci-deploy', 2],
      ['updateConfig', 'admin', 3],
    ]);
    expect(lines[1].changes).toEqual({ activeStrategyKey: { before: 'momentum', after: 'gold' } });
    expect(lines[2].changes).toEqual({
      scanIntervalSeconds: { before: 30, after: 12 },
      tunableOverrides: { before: {}, after: { gold: { fast_ma_period: 9 } } },
    });
    expect(lines[2].digest).toBe(status.body.data?.status.configDigest);
    expect(Date.parse(lines[2].time)).toBeGreaterThan(Date.now() - 60_000);

    const res = await server.gql(AUDIT, undefined, token);
    expect(res.body.data?.auditLog.map((e: any) => e.version)).toEqual([3, 2, 1]);
    expect(res.body.data?.auditLog[1]).toMatchObject({
      actor: 'ci-deploy',
      operation: 'activateStrategy',
      changes: [{ field: 'activeStrategyKey', before: 'momentum', after: 'gold' }],
    });
    expect((await server.gql('{ auditLog(last: 1) { version } }')).body.data?.auditLog).toEqual([{ version: 3 }]);
  });

  it('a refused change writes no audit line', async () => {
    const server = await startTestServer();
    const read = await createToken(server.runtimeDir, 'viewer', 'read');
    await server.gql(ACTIVATE, { key: 'nope' });
    await server.gql(ACTIVATE, { key: 'gold' }, read);
    await server.gql(ACTIVATE, { key: 'gold' }, null);
    await server.gql('mutation { activateStrategy(strategyKey: "gold", expectedVersion: 7) { configVersion } }');
    expect((await auditLines(server.runtimeDir)).map((l) => l.operation)).toEqual(['baseline']);
  });

  it('a torn last line is set aside at start, never fatal, and appends continue cleanly', async () => {
    const first = await startTestServer();
    await first.gql(ACTIVATE, { key: 'gold' });
    await first.close();
    const file = path.join(first.runtimeDir, 'audit.log');
    const torn = '{"time":"2026-11-28T10:00:00.000Z","actor":"adm';
    await writeFile(file, (await readFile(file, 'utf8')) + torn);

    const server = await startTestServer({ runtimeDir: first.runtimeDir });
    const aside = (await readdir(server.runtimeDir)).filter((f) => f.startsWith('audit.log.torn-'));
    expect(aside).toHaveLength(1);
    expect(await readFile(path.join(server.runtimeDir, aside[0] as string), 'utf8')).toBe(torn);
    expect((await server.gql(ACTIVATE, { key: 'range' })).status).toBe(200);
    expect((await auditLines(server.runtimeDir)).map((l) => l.version)).toEqual([1, 2, 3]);
    expect((await readdir(server.runtimeDir)).filter((f) => f.startsWith('audit.log.torn-'))).toHaveLength(1);
  });

  it('audit.log removed while the server runs: the next change starts a new one, and the log says what was lost', async () => {
    const dir = await tempRuntimeDir();
    const server = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    const activate = (key: string) => gql(server.url, ACTIVATE, { key }, { token: TEST_TOKEN });
    expect((await activate('gold')).status).toBe(200);
    await rm(path.join(dir, 'audit.log'));
    expect((await activate('range')).body.data?.activateStrategy).toEqual({ configVersion: 3 });
    await server.waitFor(/audit\.log was missing/);
    expect(server.stderr()).toContain('a new one was started');
    expect((await auditLines(dir)).map((l) => [l.operation, l.version])).toEqual([['activateStrategy', 3]]);
    // The history this process holds in memory still answers.
    const history = await gql(server.url, '{ auditLog(last: 5) { version } }', undefined, { token: TEST_TOKEN });
    expect(history.body.data?.auditLog).toEqual([{ version: 3 }, { version: 2 }, { version: 1 }]);
  });

  it('a version written but never audited (crash between the two) gets a recovery line at start', async () => {
    const first = await startTestServer();
    await first.gql(ACTIVATE, { key: 'gold' });
    await first.close();
    // The config write alone, as if the process died before appending its audit line.
    const config = path.join(first.runtimeDir, 'config.yaml');
    await writeFile(
      config,
      (await readFile(config, 'utf8'))
        .replace('active_strategy_key: gold', 'active_strategy_key: range')
        .replace('version: 2', 'version: 3'),
    );

    const server = await startTestServer({ runtimeDir: first.runtimeDir });
    const lines = await auditLines(server.runtimeDir);
    expect(lines.at(-1)).toMatchObject({
      operation: 'recovery',
      actor: 'system',
      version: 3,
      changes: { activeStrategyKey: { before: 'gold', after: 'range' } },
      details: { previousAuditedVersion: 2 },
    });
    const status = await server.gql('{ status { configVersion configDigest } }');
    expect(lines.at(-1).digest).toBe(status.body.data?.status.configDigest);
    // A second start finds nothing to recover.
    await server.close();
    const again = await startTestServer({ runtimeDir: first.runtimeDir });
    expect((await auditLines(again.runtimeDir)).length).toBe(lines.length);
  });

  it('a group of three cut short after its config write: the recovery line names the two versions nobody was answered for', async () => {
    const first = await startTestServer();
    await first.gql(ACTIVATE, { key: 'gold' });
    await first.close();
    // A group commit gives versions 3, 4 and 5 and writes only the last config; the kill came before the audit append.
    const config = path.join(first.runtimeDir, 'config.yaml');
    await writeFile(
      config,
      (await readFile(config, 'utf8'))
        .replace('active_strategy_key: gold', 'active_strategy_key: range')
        .replace('version: 2', 'version: 5'),
    );

    const server = await startTestServer({ runtimeDir: first.runtimeDir });
    const lines = await auditLines(server.runtimeDir);
    expect(lines.map((l) => l.version)).toEqual([1, 2, 5]);
    expect(lines.at(-1)).toMatchObject({
      operation: 'recovery',
      version: 5,
      details: { previousAuditedVersion: 2, skippedVersions: '3-4' },
    });
    expect((await server.gql(ACTIVATE, { key: 'gold' })).body.data).toBeDefined();
    expect((await auditLines(server.runtimeDir)).at(-1)).toMatchObject({ operation: 'activateStrategy', version: 6 });
  });

  it('a hand edit while running is recorded as handEdit by actor "file"', async () => {
    const server = await startTestServer();
    const file = path.join(server.runtimeDir, 'config.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('scan_interval_seconds: 30', 'scan_interval_seconds: 44'));
    await server.store.refresh();
    expect((await auditLines(server.runtimeDir)).at(-1)).toMatchObject({
      operation: 'handEdit',
      actor: 'file',
      // The file still says version 1, but versions never go backwards: it is in force as 2.
      version: 2,
      changes: { scanIntervalSeconds: { before: 30, after: 44 } },
    });
  });
});

describe('config.yaml missing at start', () => {
  const CONFIG = '{ status { activeStrategyKey configVersion } config { tradingEnabled scanIntervalSeconds tunableOverrides } }';

  it('with a trail: its last config is written again (not the defaults: trading stays off), as a new version whose recovery line says so', async () => {
    const runtimeDir = await tempRuntimeDir();
    const first = await startTestServer({ runtimeDir, runner: false });
    await first.gql(
      'mutation { updateConfig(input: { activeStrategyKey: "gold", tradingEnabled: false, scanIntervalSeconds: 45, tunableOverrides: { gold: { fast_ma_period: 12 } } }) { config { version } } }',
    );
    const before = (await first.gql(CONFIG)).body.data as { status: unknown };
    expect(before.status).toEqual({ activeStrategyKey: 'gold', configVersion: 2 });
    await first.close();
    await rm(path.join(runtimeDir, 'config.yaml'));

    const second = await startTestServer({ runtimeDir, runner: false });
    const after = (await second.gql(CONFIG)).body.data;
    expect(after).toEqual({ ...before, status: { activeStrategyKey: 'gold', configVersion: 3 } });
    const last = (await auditLines(runtimeDir)).at(-1);
    expect(last).toMatchObject({
      operation: 'recovery',
      version: 3,
      changes: {},
      details: { note: "config.yaml was missing at start: written again from the audit trail's last config (version 2)" },
    });
    expect(await readFile(path.join(runtimeDir, 'config.yaml'), 'utf8')).toContain('trading_enabled: false');
  });

  it('with a trail whose last config is no longer valid (it names a preset that is gone): the defaults with trading off, and the line says why', async () => {
    const runtimeDir = await tempRuntimeDir();
    const first = await startTestServer({ runtimeDir, runner: false });
    await first.gql('mutation { upsertPreset(input: { key: "gold_fast", base: "gold", name: "Gold fast" }) { presetsVersion } }');
    await first.gql(ACTIVATE, { key: 'gold_fast' });
    await first.close();
    await rm(path.join(runtimeDir, 'config.yaml'));
    await rm(path.join(runtimeDir, 'strategies.yaml'));

    const second = await startTestServer({ runtimeDir, runner: false });
    expect((await second.gql(CONFIG)).body.data?.status).toEqual({ activeStrategyKey: 'momentum', configVersion: 3 });
    // The defaults trade (trading_enabled: true): a strategy nobody chose, turned on by a recovery.
    expect((await second.gql('{ config { tradingEnabled } }')).body.data?.config).toEqual({ tradingEnabled: false });
    expect(await readFile(path.join(runtimeDir, 'config.yaml'), 'utf8')).toContain('trading_enabled: false');
    const last = (await auditLines(runtimeDir)).filter((l) => l.subject === 'CONFIG').at(-1);
    expect(last.details.note).toBe(
      "config.yaml was missing at start, and the audit trail's last config (version 2) is not valid with the strategies in force: written with the defaults and trading disabled: choose a strategy, then turn trading on (stratctl config set trading_enabled=true)",
    );
  });
});

describe('audit append faults', () => {
  for (const [step, code] of [
    ['append', 'ENOSPC'],
    ['fsync', 'EIO'],
    ['open', 'EACCES'],
  ] as const) {
    it(`${code} at ${step}: the mutation fails clearly, the change is undone, the previous config stays served`, async () => {
      const faults = faultyAuditFs();
      const runtimeDir = await tempRuntimeDir();
      const server = await startTestServer({ runtimeDir, fs: faults.fs });
      await server.gql(ACTIVATE, { key: 'gold' });
      const config = path.join(runtimeDir, 'config.yaml');
      const before = await readFile(config);
      const auditBefore = await readFile(path.join(runtimeDir, 'audit.log'));

      faults.fail(step, code);
      const res = await server.gql(ACTIVATE, { key: 'range' });
      expect(res.status).toBe(503);
      expect(res.body.data ?? null).toBeNull();
      expect(res.body.errors?.[0]?.message).toBe('Config could not be written');
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFIG_WRITE_FAILED', step: `audit ${step}`, errno: code });
      expect(await readFile(config)).toEqual(before);
      expect(await readFile(path.join(runtimeDir, 'audit.log'))).toEqual(auditBefore);
      const status = await server.gql('{ status { activeStrategyKey configVersion } }');
      expect(status.body.data?.status).toEqual({ activeStrategyKey: 'gold', configVersion: 2 });

      faults.heal();
      const ok = await server.gql(ACTIVATE, { key: 'range' });
      expect(ok.body.data?.activateStrategy.configVersion).toBe(3);
      expect((await auditLines(runtimeDir)).map((l) => l.version)).toEqual([1, 2, 3]);
    });
  }
});

describe('audit log unwritable at start', () => {
  it('the server refuses to start rather than serve changes it cannot audit', async () => {
    const faults = faultyAuditFs();
    faults.fail('open', 'EACCES');
    const runtimeDir = await tempRuntimeDir();
    await expect(startTestServer({ runtimeDir, fs: faults.fs })).rejects.toThrow(/cannot write the audit log .*audit\.log \(EACCES\)/);
  });
});
