import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../helpers/server.js';

const ACTIVATE = `mutation($key: String!, $v: Int) { activateStrategy(strategyKey: $key, expectedVersion: $v) { configVersion } }`;
const UPDATE = `mutation($i: UpdateConfigInput!, $v: Int) { updateConfig(input: $i, expectedVersion: $v) { config { version scanIntervalSeconds } } }`;

describe('expectedVersion (conflict-safe writes)', () => {
  it('updateConfig: a stale version is refused with 409 CONFLICT, currentVersion, and nothing written', async () => {
    const server = await startTestServer();
    await server.gql(UPDATE, { i: { scanIntervalSeconds: 10 } });
    const file = path.join(server.runtimeDir, 'config.yaml');
    const before = await readFile(file);
    const res = await server.gql(UPDATE, { i: { scanIntervalSeconds: 20 }, v: 1 });
    expect(res.status).toBe(409);
    expect(res.body.data ?? null).toBeNull();
    expect(res.body.errors?.[0]).toMatchObject({
      message: 'Config version conflict: expected 1, current 2',
      extensions: { code: 'CONFLICT', currentVersion: 2 },
    });
    expect(await readFile(file)).toEqual(before);
    const ok = await server.gql(UPDATE, { i: { scanIntervalSeconds: 20 }, v: 2 });
    expect(ok.body.data?.updateConfig.config).toEqual({ version: 3, scanIntervalSeconds: 20 });
  });

  it('two operators writing from the same version: exactly one wins, the other gets CONFLICT', async () => {
    const server = await startTestServer();
    const results = await Promise.all([
      server.gql(ACTIVATE, { key: 'gold', v: 1 }),
      server.gql(UPDATE, { i: { scanIntervalSeconds: 45 }, v: 1 }),
      server.gql(ACTIVATE, { key: 'range', v: 1 }),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409]);
    for (const r of results.filter((r) => r.status === 409)) {
      expect(r.body.errors?.[0]?.message).toBe('Config version conflict: expected 1, current 2');
    }
    const status = await server.gql('{ status { configVersion } }');
    expect(status.body.data?.status.configVersion).toBe(2);
  });

  it('without expectedVersion a write is last-writer-wins, as before', async () => {
    const server = await startTestServer();
    const a = await server.gql(ACTIVATE, { key: 'gold' });
    const b = await server.gql(ACTIVATE, { key: 'range' });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body.data?.activateStrategy.configVersion).toBe(3);
  });
});
