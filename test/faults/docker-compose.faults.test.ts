import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { parse } from 'yaml';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { freshPrefix } from '../helpers/etcd-stores.js';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { LISTENING, ROOT, spawnProcess, TEST_TOKEN } from '../helpers/server.js';
import { cliEnv } from '../helpers/stratctl.js';
import { waitUntil } from '../helpers/wait.js';

const STATUS =
  '{ status { activeStrategyKey configVersion store { kind connected } runners { id state instruments appliedConfigVersion } } }';

// docker-compose.yml's structure is checked in test/e2e/readme-deployment.test.ts (npm test); this
// runs what its containers would run (Docker cannot run here), which starts a cluster and four processes.
describeWithEtcd('docker-compose.yml: its services, run as their containers would, against a real 3-member etcd', () => {
  const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, Record<string, any>>;
  };
  const services = compose.services;
  const planes = Object.keys(services).filter((name) => !name.startsWith('etcd-'));
  const isServe = (name: string) => {
    const command = services[name]?.command as string[];
    return command[command.indexOf('dist/cli.js') + 1] === 'serve';
  };

  it("runs each control-plane service's command and environment as the container would, against real etcd members", async () => {
    expect(existsSync(path.join(ROOT, 'dist/cli.js'))).toBe(true);
    const cluster = await startEtcd({ size: 3 });
    const prefix = freshPrefix();
    const started: Record<string, string> = {};
    for (const name of planes) {
      const service = services[name] as Record<string, any>;
      // The members' addresses on this machine instead of the compose network's names.
      const store = (service.environment.CONTROL_PLANE_STORE as string).replace(/^etcd:\/\/[^/]+\/trading$/, cluster.url(prefix));
      expect(store).toBe(cluster.url(prefix));
      const [, gcFlag, cli, ...args] = service.command as string[];
      // One machine for every replica: a free port instead of the container's 8787.
      const argv = [gcFlag as string, path.join(ROOT, cli as string), ...args.map((arg) => (arg === '8787' ? '0' : arg))];
      const child = spawnProcess(process.execPath, argv, {
        env: cliEnv({
          // The image's environment (Dockerfile), then the service's.
          NODE_ENV: 'production',
          CONTROL_PLANE_LOG_FORMAT: 'json',
          CONTROL_PLANE_RUNTIME_DIR: await tempRuntimeDir(),
          CONTROL_PLANE_STORE: store,
          CONTROL_PLANE_TOKEN: TEST_TOKEN,
        }),
      });
      if (isServe(name)) started[name] = ((await child.waitFor(LISTENING))[1] as string).replace('//0.0.0.0:', '//127.0.0.1:');
      else await child.waitFor(/strategy runner started/);
    }
    const [a, b] = planes.filter(isServe).map((name) => started[name] as string);
    if (!a || !b) throw new Error('two replicas');
    const fleet = await waitUntil(
      async () => (await gql(a, STATUS, undefined, { token: TEST_TOKEN })).body.data?.status,
      (s) => s?.runners.length === 2 && s.runners.every((r: { state: string }) => r.state === 'RUNNING'),
      { what: 'both runners RUNNING', timeoutMs: 20_000 },
    );
    expect(fleet.runners.map((r: { id: string; instruments: string[] }) => [r.id, r.instruments])).toEqual([
      ['acct-fx', ['EUR_USD', 'GBP_USD', 'USD_JPY']],
      ['acct-metals', ['XAU_USD']],
    ]);
    const activation = await gql(
      b,
      'mutation { activateStrategy(strategyKey: "gold", waitForRunner: true, timeoutMs: 10000) { configVersion runnerWait { applied } } }',
      undefined,
      { token: TEST_TOKEN },
    );
    expect(activation.body.data?.activateStrategy).toEqual({ configVersion: 2, runnerWait: { applied: true } });
    const onA = await waitUntil(
      async () => (await gql(a, STATUS, undefined, { token: TEST_TOKEN })).body.data?.status,
      (s) => s?.configVersion === 2,
      { what: 'A hears the change made through B' },
    );
    expect(onA.activeStrategyKey).toBe('gold');
  }, 120_000);
});
