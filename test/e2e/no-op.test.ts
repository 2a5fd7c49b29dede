import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { stratctl } from '../helpers/stratctl.js';

const onDisk = async (server: TestServer) => ({
  config: await readFile(path.join(server.runtimeDir, 'config.yaml'), 'utf8'),
  audit: await readFile(path.join(server.runtimeDir, 'audit.log'), 'utf8'),
});

const post = (server: TestServer, route: string, body: unknown) =>
  fetch(`${server.origin}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
    body: JSON.stringify(body),
  });

describe('a change that changes nothing writes nothing (DESIGN: No-op changes)', { timeout: 30_000 }, () => {
  it('GraphQL, REST and stratctl: changed false, same version, config.yaml and audit.log untouched; --if-version still holds', async () => {
    const server = await startTestServer();
    const before = await onDisk(server);

    const activate = await server.gql(
      'mutation { activateStrategy(strategyKey: "momentum") { changed configVersion previousStrategyKey } }',
    );
    expect(activate.body.data?.activateStrategy).toEqual({ changed: false, configVersion: 1, previousStrategyKey: 'momentum' });
    const update = await server.gql(
      'mutation { updateConfig(input: { scanIntervalSeconds: 30, tradingEnabled: true }) { changed changedFields config { version } } }',
    );
    expect(update.body.data?.updateConfig).toEqual({ changed: false, changedFields: [], config: { version: 1 } });
    const rollback = await server.gql('mutation { rollbackConfig(toVersion: 1) { changed config { version } } }');
    expect(rollback.body.data?.rollbackConfig).toEqual({ changed: false, config: { version: 1 } });

    const restActivate = await post(server, '/api/strategy/activate', { strategy_key: 'momentum' });
    expect(await restActivate.json()).toEqual({
      active_strategy_key: 'momentum',
      previous_strategy_key: 'momentum',
      config_version: 1,
      changed: false,
    });
    const restConfig = await post(server, '/api/config', { scan_interval_seconds: 30 });
    expect(await restConfig.json()).toMatchObject({ scan_interval_seconds: 30, version: 1, changed: false });

    const env = { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_TOKEN: server.token };
    const cliActivate = await stratctl(['activate', 'momentum'], env);
    expect(cliActivate.stdout).toBe('momentum was already active (config version 1)\n');
    const cliSet = await stratctl(['config', 'set', 'scan_interval_seconds=30', '--json'], env);
    expect(JSON.parse(cliSet.stdout)).toMatchObject({ changed: false, changedFields: [], config: { version: 1 } });

    expect(await onDisk(server)).toEqual(before);
    const history = await server.gql('{ configHistory { version } auditLog(last: 100) { version } }');
    expect(history.body.data).toEqual({ configHistory: [{ version: 1 }], auditLog: [{ version: 1 }] });

    // Another operator's guarded change is not made stale by the no-ops above.
    const guarded = await stratctl(['activate', 'gold', '--if-version', '1'], env);
    expect(guarded.code, guarded.stderr).toBe(0);
    expect(server.store.state().config.config).toMatchObject({ version: 2, activeStrategyKey: 'gold' });
  });

  it('at version 2147483647 (a hand edit) a no-op is still changed: false, nothing written; a real change is refused with CONFIG_WRITE_FAILED', async () => {
    const runtimeDir = await tempRuntimeDir();
    await writeFile(
      path.join(runtimeDir, 'config.yaml'),
      'active_strategy_key: momentum\ntrading_enabled: true\nscan_interval_seconds: 30\ntunable_overrides: {}\nversion: 2147483647\nupdated_at: 2026-11-28T00:00:00Z\n',
    );
    const server = await startTestServer({ runtimeDir });
    const before = await onDisk(server);
    const activate = await server.gql('mutation { activateStrategy(strategyKey: "momentum") { changed configVersion } }');
    expect(activate.status).toBe(200);
    expect(activate.body).toEqual({ data: { activateStrategy: { changed: false, configVersion: 2147483647 } } });
    const update = await server.gql('mutation { updateConfig(input: { scanIntervalSeconds: 30 }) { changed config { version } } }');
    expect(update.body).toEqual({ data: { updateConfig: { changed: false, config: { version: 2147483647 } } } });
    const change = await server.gql('mutation { activateStrategy(strategyKey: "gold") { changed configVersion } }');
    expect(change.status).toBe(503);
    expect(change.body.errors?.[0]?.extensions?.code).toBe('CONFIG_WRITE_FAILED');
    expect(await onDisk(server)).toEqual(before);
  });
});
