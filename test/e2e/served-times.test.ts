import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { fileRunnerStateSource } from '../../src/runner/state-file.js';
import { etcdKeys } from '../../src/store-etcd/keys.js';
import { parseEtcdStoreUrl } from '../../src/store-etcd/url.js';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { freshPrefix, rawClient } from '../helpers/etcd-stores.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { startTestServer } from '../helpers/server.js';

/**
 * Times a runner publishes and audit entries record, as the API serves them (DateTime: RFC 3339,
 * years 0000-9999 in UTC). Each is read from a file or a key anyone may write; the two kinds that are
 * not such a time: a string no RFC 3339 parser reads (the scalar refuses it when served), and a valid
 * time whose UTC form is outside those years (served as an expanded year, `+010000-...`).
 */
const BAD_TIMES = ['2026-11-28 10:00', '9999-12-31T23:59:59-12:00'] as const;

const RUNNER_QUERY =
  '{ status { configVersion runner { id state heartbeatAt appliedAt lastScanAt lastSignals { candleTime runStartedAt } } runners { id state heartbeatAt } } signals(instrument: "EUR_USD") { candleTime runStartedAt } }';
const AUDIT_QUERY = '{ auditLog { version time } configHistory { version time } status { configVersion } }';

/** A runner's state with every time it publishes set to `time` where `where` says (the others now). */
function runnerStateWith(id: string, where: 'heartbeatAt' | 'startedAt' | 'appliedAt' | 'lastScanAt' | 'candleTime', time: string) {
  const now = new Date().toISOString();
  const at = (field: typeof where) => (field === where ? time : now);
  return JSON.stringify({
    id,
    host: 'h',
    pid: 1,
    instruments: null,
    feed: 'sim',
    startedAt: at('startedAt'),
    heartbeatAt: at('heartbeatAt'),
    heartbeatIntervalMs: 600_000,
    stopped: false,
    applied: {
      configVersion: 1,
      configDigest: 'sha256:x',
      strategyKey: 'momentum',
      scanIntervalSeconds: 30,
      tradingEnabled: false,
      appliedAt: at('appliedAt'),
    },
    lastScanAt: at('lastScanAt'),
    lastSignals: [
      {
        instrument: 'EUR_USD',
        strategyKey: 'momentum',
        direction: 'FLAT',
        reason: 'r',
        values: {},
        price: 1,
        candleTime: at('candleTime'),
        error: null,
        scan: 1,
      },
    ],
    error: null,
  });
}

const FIELDS = ['heartbeatAt', 'startedAt', 'appliedAt', 'lastScanAt', 'candleTime'] as const;

/** Every DateTime in a response is RFC 3339 with a four-digit year. */
function everyTimeReadable(body: unknown): void {
  JSON.stringify(body, (key, value) => {
    if (typeof value === 'string' && /(At|Time|time)$/.test(key))
      expect(value, key).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    return value;
  });
}

describe('a runner-state.json with a time the API cannot serve (file store, runner apart)', () => {
  it.each(FIELDS.flatMap((field) => BAD_TIMES.map((time) => [field, time] as const)))('%s = %s', async (field, time) => {
    const runtimeDir = await tempRuntimeDir();
    await writeFile(path.join(runtimeDir, 'runner-state.json'), runnerStateWith('r1', field, time));
    const server = await startTestServer({ runtimeDir, runner: false });
    const res = await server.gql(RUNNER_QUERY);
    expect(res.body.errors).toBeUndefined();
    everyTimeReadable(res.body);
    // Not a runner's state: no runner, as any other invalid state file.
    expect(res.body.data?.status.runner).toMatchObject({ id: null, state: 'STOPPED', heartbeatAt: null });
    expect(res.body.data?.status.runners).toEqual([]);
    expect(res.body.data?.signals).toEqual([]);
  });

  it('the API says why, once, and shows the runner once its state is one again', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'runner-state.json');
    await writeFile(file, runnerStateWith('r1', 'candleTime', BAD_TIMES[1]));
    const warn = vi.fn();
    const source = await fileRunnerStateSource(dir, { pollMs: 20, warn });
    expect(source.list()).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toBe(
      `runner state ${file} is not a runner's state (lastSignals.0.candleTime: must be, in UTC, within years 0000 to 9999 (RFC 3339)); no runner is shown from it until it is`,
    );
    await new Promise((r) => setTimeout(r, 100)); // five polls: said once
    expect(warn).toHaveBeenCalledTimes(1);
    await writeFile(file, runnerStateWith('r1', 'candleTime', '2026-11-28T10:00:00Z'));
    await vi.waitFor(() => expect(source.list().map((s) => s.id)).toEqual(['r1']), { timeout: 10_000 });
    source.close();
  });
});

const ACTIVATE = 'mutation($key: String!) { activateStrategy(strategyKey: $key) { configVersion } }';

describe('an audit.log line with a time the API cannot serve', () => {
  it.each(BAD_TIMES)('%s: the line is skipped (the file keeps it), the rest of the trail is served', async (time) => {
    const runtimeDir = await tempRuntimeDir();
    const first = await startTestServer({ runtimeDir, runner: false });
    expect((await first.gql(ACTIVATE, { key: 'gold' })).body.data?.activateStrategy.configVersion).toBe(2);
    await first.close();
    const file = path.join(runtimeDir, 'audit.log');
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    const edited = JSON.stringify({ ...JSON.parse(lines.at(-1) as string), time });
    await writeFile(file, `${[...lines.slice(0, -1), edited].join('\n')}\n`);
    const server = await startTestServer({ runtimeDir, runner: false });
    const res = await server.gql(AUDIT_QUERY);
    expect(res.body.errors).toBeUndefined();
    everyTimeReadable(res.body);
    // Version 2's line is not an entry: its version is recorded at start as a recovery (written, its line unread).
    expect(res.body.data?.auditLog.map((e: { version: number }) => e.version)).toEqual([2, 1]);
    expect(res.body.data?.configHistory.map((e: { version: number }) => e.version)).toEqual([2, 1]);
    expect((await server.gql('{ auditLog(last: 1) { operation } }')).body.data?.auditLog[0].operation).toBe('recovery');
    expect(await readFile(file, 'utf8')).toContain(edited);
  });
});

describeWithEtcd('etcd: a runners/<id> key or an audit key with a time the API cannot serve', () => {
  it('a runner state is not listed (the other runners are); an audit entry is skipped (the others are served)', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const keys = etcdKeys(parseEtcdStoreUrl(cluster.url(prefix)).prefix);
    const server = await startTestServer({ store: { kind: 'etcd', url: cluster.url(prefix), tls: {} }, runner: false });
    const client = rawClient(cluster);
    expect((await server.gql(ACTIVATE, { key: 'gold' })).body.data?.activateStrategy.configVersion).toBe(2);
    await client.put(keys.runner('good')).value(runnerStateWith('good', 'candleTime', '2026-11-28T10:00:00Z'));
    for (const [i, time] of BAD_TIMES.entries())
      for (const field of FIELDS)
        await client.put(keys.runner(`bad-${field}-${i}`)).value(runnerStateWith(`bad-${field}-${i}`, field, time));
    // Version 1's entry (not the newest: changes go on) with such a time.
    const v1 = keys.audit('CONFIG', 1);
    const stored = JSON.parse((await client.get(v1).string()) as string);
    await client.put(v1).value(JSON.stringify({ ...stored, time: BAD_TIMES[1] }));
    await vi.waitFor(
      async () => expect((await server.gql(RUNNER_QUERY)).body.data?.status.runners.map((r: { id: string }) => r.id)).toEqual(['good']),
      { timeout: 10_000 },
    );
    const runners = await server.gql(RUNNER_QUERY);
    expect(runners.body.errors).toBeUndefined();
    everyTimeReadable(runners.body);
    const audit = await server.gql(AUDIT_QUERY);
    expect(audit.body.errors).toBeUndefined();
    everyTimeReadable(audit.body);
    expect(audit.body.data?.auditLog.map((e: { version: number }) => e.version)).toEqual([2]);
    expect(audit.body.data?.configHistory.map((e: { version: number }) => e.version)).toEqual([2]);
    expect((await server.gql(ACTIVATE, { key: 'range' })).body.data?.activateStrategy.configVersion).toBe(3);
  });
});
