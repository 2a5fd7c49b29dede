import { describe, expect, it } from 'vitest';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { freshPrefix } from '../helpers/etcd-stores.js';
import { gql } from '../helpers/http.js';
import { UPSERT } from '../helpers/presets.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, TEST_TOKEN } from '../helpers/server.js';

/**
 * README (Request id): an incoming X-Request-Id "is on every log line of that request", the INFO
 * line of the change it made included: grepping a deploy's id in the server's stderr finds what it
 * changed. Real server processes, their JSON log read from stderr.
 */

const ENV = { CONTROL_PLANE_TOKEN: TEST_TOKEN, CONTROL_PLANE_LOG_FORMAT: 'json' };
const activate = (key: string) => `mutation { activateStrategy(strategyKey: "${key}") { configVersion } }`;

type Server = Awaited<ReturnType<typeof spawnServer>>;
type LogLine = { msg: string; reqId?: string; version?: number; source?: string };

const logLines = (server: Server): LogLine[] =>
  server
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
/** The accepted-change line of config version `version` (each change has one, at INFO). */
const changeLine = (server: Server, subject: 'config' | 'presets', version: number) =>
  logLines(server).find((l) => l.msg.startsWith(`${subject} version ${version}: `));

async function activateAs(server: Server, key: string, requestId: string) {
  const res = await gql(server.url, activate(key), {}, { token: TEST_TOKEN, headers: { 'x-request-id': requestId } });
  expect(res.body.errors).toBeUndefined();
  expect(res.headers.get('x-request-id')).toBe(requestId);
  return res.body.data?.activateStrategy.configVersion as number;
}

/** The same checks on either store: each accepted change's line carries the id of the request that made it. */
async function changesCarryTheirRequestIds(server: Server) {
  expect(await activateAs(server, 'gold', 'deploy-42')).toBe(2);
  await server.waitFor(/"config version 2: /);
  expect(changeLine(server, 'config', 2)).toMatchObject({
    msg: 'config version 2: activateStrategy by admin (activeStrategyKey: "momentum" -> "gold")',
    reqId: 'deploy-42',
    source: 'commit',
  });

  // Two at once (one group commit, or two): each line its own writer's id, never the other's.
  const [rangeVersion, safeVersion] = await Promise.all([
    activateAs(server, 'range', 'deploy-a'),
    activateAs(server, 'eur_usd_5m_safe', 'deploy-b'),
  ]);
  expect([rangeVersion, safeVersion].sort()).toEqual([3, 4]);
  await server.waitFor(/"config version 4: /);
  expect(changeLine(server, 'config', rangeVersion)).toMatchObject({ msg: expect.stringContaining('-> "range"'), reqId: 'deploy-a' });
  expect(changeLine(server, 'config', safeVersion)).toMatchObject({
    msg: expect.stringContaining('-> "eur_usd_5m_safe"'),
    reqId: 'deploy-b',
  });

  // The REST route runs the same mutation in process, with the outer request's id.
  const rest = await fetch(new URL('/api/strategy/activate', server.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}`, 'x-request-id': 'rest-7' },
    body: JSON.stringify({ strategy_key: 'momentum' }),
  });
  expect(rest.status).toBe(200);
  expect(await rest.json()).toMatchObject({ config_version: 5, changed: true });
  await server.waitFor(/"config version 5: /);
  expect(changeLine(server, 'config', 5)).toMatchObject({ msg: expect.stringContaining('-> "momentum"'), reqId: 'rest-7' });

  // A change of the preset set: its line too.
  const upsert = await gql(
    server.url,
    UPSERT,
    { input: { key: 'gold_fast', base: 'gold', name: 'Gold fast' } },
    { token: TEST_TOKEN, headers: { 'x-request-id': 'preset-1' } },
  );
  expect(upsert.body.data?.upsertPreset.changed).toBe(true);
  await server.waitFor(/"presets version 1: /);
  expect(changeLine(server, 'presets', 1)).toMatchObject({ msg: expect.stringContaining('upsertPreset by admin'), reqId: 'preset-1' });
}

describe('the accepted-change log line names its request (file store)', () => {
  it('X-Request-Id on the INFO line of the change it made: GraphQL, two at once, the REST route, a preset', async () => {
    const server = await spawnServer(await tempRuntimeDir(), ['--no-runner'], ENV);
    await changesCarryTheirRequestIds(server);
  });
});

describeWithEtcd('the accepted-change log line names its request (etcd)', () => {
  it("each replica's own changes carry their request's id; another replica's line says where it came from, with no id", async () => {
    const cluster = await startEtcd();
    const store = cluster.url(freshPrefix());
    const a = await spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', store], ENV);
    const b = await spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', store], ENV);
    await changesCarryTheirRequestIds(a);
    // B heard of A's changes through the watch: a request of A's is no request of B's.
    await b.waitFor(/"presets version 1: /);
    const seen = logLines(b).filter((l) => /^(config|presets) version \d+: /.test(l.msg));
    expect(seen.map((l) => l.msg.replace(/:.*/, ''))).toEqual(
      expect.arrayContaining(['config version 2', 'config version 3', 'config version 4', 'config version 5', 'presets version 1']),
    );
    for (const line of seen) {
      expect(line.source).toBe('replica');
      expect(line.msg).toContain(', through another replica');
      expect(line.reqId).toBeUndefined();
    }
  });
});
