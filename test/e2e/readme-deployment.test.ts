import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { parse } from 'yaml';
import { createToken } from '../../src/auth/token-file.js';
import { SERVE_NODE_FLAGS } from '../../src/code-cache.js';
import { instrumentSchema } from '../../src/registry/index.js';
import { describeWithEtcd, makeTlsFiles, startEtcd } from '../helpers/etcd.js';
import { freshPrefix } from '../helpers/etcd-stores.js';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { LISTENING, ROOT, spawnProcess, startTestServer, TEST_TOKEN } from '../helpers/server.js';
import { cliEnv } from '../helpers/stratctl.js';
import { waitUntil } from '../helpers/wait.js';

const run = promisify(execFile);
const STATUS =
  '{ status { activeStrategyKey configVersion store { kind connected } runners { id state instruments appliedConfigVersion } } }';

/** The `### ` subsections of the README's Deployment section, each with its ```sh blocks as written. */
function deploymentBlocks(): Map<string, string[]> {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Deployment: many replicas on etcd\n');
  expect(start).toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  const blocks = new Map<string, string[]>();
  for (const part of section.split('\n### ').slice(1)) {
    const title = part.slice(0, part.indexOf('\n'));
    blocks.set(
      title,
      [...part.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string),
    );
  }
  return blocks;
}

function only(blocks: Map<string, string[]>, title: string): string {
  const found = blocks.get(title);
  expect(found, `one sh block under "### ${title}"`).toHaveLength(1);
  return (found as string[])[0] as string;
}

/** `npx stratctl ...` lines of a block, one command each. */
const commandLines = (block: string, command: string) => block.split('\n').filter((line) => line.startsWith(`npx stratctl ${command} `));

describeWithEtcd('README "Deployment": its commands, run against a real 3-member etcd with TLS', () => {
  it('migrate in, two replicas behind the (absent) proxy, two runners per account, tokens and stratctl, then etcd away', async () => {
    const tls = await makeTlsFiles(await tempRuntimeDir('scp-tls-'));
    const cluster = await startEtcd({ size: 3, tls });
    const prefix = freshPrefix();
    const secrets = await tempRuntimeDir();
    await writeFile(path.join(secrets, 'admin.token'), `${TEST_TOKEN}\n`, { mode: 0o600 });

    // The deployment that moves in: a file store with some history and a named token, its server stopped.
    const source = await tempRuntimeDir();
    const old = await startTestServer({ runtimeDir: source, runner: false });
    await old.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    await old.close();
    await createToken(source, 'ci-old', 'read');

    // What differs from a reader's machines: the members' addresses, the certificate files, where
    // the admin token and the old runtime dir are, the proxy's URL (replica A here), and npx.
    const substitutions: [string, string][] = [
      ['etcd-1.internal:2379,etcd-2.internal:2379,etcd-3.internal:2379/trading', cluster.url(prefix).slice('etcd://'.length)],
      ['/etc/strategy-control-plane/etcd-ca.crt', tls.caFile],
      ['/etc/strategy-control-plane/client.crt', tls.clientCertFile],
      ['/etc/strategy-control-plane/client.key', tls.clientKeyFile],
      ['/etc/strategy-control-plane/admin.token', path.join(secrets, 'admin.token')],
      ['--runtime-dir ./runtime', `--runtime-dir ${source}`],
      ['npx stratctl', `${process.execPath} bin/stratctl.js`],
    ];
    const local = (text: string) => substitutions.reduce((t, [from, to]) => t.replaceAll(from, to), text);
    const blocks = deploymentBlocks();
    const settings = only(blocks, 'Settings every process shares');
    // Spawned commands keep their runtime dirs (unused with etcd) out of the repository.
    const env = () => cliEnv({ CONTROL_PLANE_LOG_FORMAT: 'text', CONTROL_PLANE_RUNTIME_DIR: path.join(secrets, 'runtime') });
    const script = async (block: string) =>
      (await run('bash', ['-euo', 'pipefail', '-c', local(`${settings}\n${block}`)], { cwd: ROOT, env: env(), timeout: 60_000 })).stdout;

    const migrated = await script(only(blocks, 'Moving the current deployment in'));
    expect(migrated).toContain(`copied file:${source} -> ${cluster.url(prefix)}/`);
    expect(migrated).toContain('audit entries: 2 config, 0 presets');

    const [serve, ...moreServe] = commandLines(only(blocks, 'API replicas behind a TLS proxy'), 'serve');
    expect(moreServe).toEqual([]);
    expect(serve).toContain('--port 8787 --behind-tls-proxy');
    // Two replicas on this one machine: each on a free port instead of 8787.
    const replicas = await Promise.all(
      [0, 1].map(async () => {
        const child = spawnProcess('bash', ['-c', local(`${settings}\nexec ${(serve as string).replace('--port 8787', '--port 0')}`)], {
          env: env(),
        });
        const [, url] = await child.waitFor(LISTENING);
        return (url as string).replace('//0.0.0.0:', '//127.0.0.1:');
      }),
    );
    const [a, b] = replicas as [string, string];
    const runners = commandLines(only(blocks, 'Runners, one per account'), 'runner');
    expect(runners).toHaveLength(2);
    const runnerProcesses = [];
    for (const line of runners) {
      const runner = spawnProcess('bash', ['-c', local(`${settings}\nexec ${line}`)], { env: env() });
      await runner.waitFor(/strategy runner started/);
      runnerProcesses.push(runner);
    }
    const status = async (url: string) => (await gql(url, STATUS, undefined, { token: TEST_TOKEN })).body.data?.status;
    const fleet = await waitUntil(
      () => status(b),
      (s) => s?.runners.length === 2 && s.runners.every((r: { state: string }) => r.state === 'RUNNING'),
      { what: 'both runners RUNNING', timeoutMs: 20_000 },
    );
    expect(fleet).toMatchObject({ activeStrategyKey: 'range', configVersion: 2, store: { kind: 'ETCD', connected: true } });
    expect(fleet.runners.map((r: { id: string; instruments: string[] }) => [r.id, r.instruments])).toEqual([
      ['acct-fx', ['EUR_USD', 'GBP_USD', 'USD_JPY']],
      ['acct-metals', ['XAU_USD']],
    ]);

    substitutions.push(['https://control-plane.internal', new URL(a).origin]);
    const client = await script(only(blocks, 'Tokens and stratctl'));
    expect(client).toMatch(/^[A-Za-z0-9_-]{40,}$/m); // the new token, printed once
    expect(client).toMatch(/^ci-old +read +\d{4}-/m); // moved in with the deployment
    expect(client).toMatch(/^ci-deploy +operate +\d{4}-/m);
    expect(client).toContain('activated gold (was range); config version 3');
    expect(client).toMatch(/^the 2 runners applied it \(\d+ ms\): acct-fx, acct-metals$/m);
    expect(client).toMatch(/^active strategy:\s+gold$/m);
    // Replica B heard it through its watch; both runners applied it.
    const heard = await waitUntil(
      () => status(b),
      (s) => s?.configVersion === 3 && s.runners.every((r: { appliedConfigVersion: number }) => r.appliedConfigVersion === 3),
      { what: 'B and the runners at version 3' },
    );
    expect(heard.activeStrategyKey).toBe('gold');

    // Two of the three members away: no quorum.
    await Promise.all([cluster.members[0]?.kill(), cluster.members[1]?.kill()]);
    await waitUntil(
      async () => (await fetch(new URL('/ready', a))).status,
      (code) => code === 503,
      { what: 'A unready' },
    );
    const away = await script(only(blocks, 'When etcd is away'));
    expect(away).toContain('{"ready":false,"configVersion":3,"reasons":["config store unreachable"]}\nHTTP 503\n');
    expect(away).toContain('{"errors":[{"message":"Config store unavailable",');
    expect(away).toContain('"extensions":{"code":"UNAVAILABLE"}}],"data":null}\nHTTP 503\n');
    // A runner says what it does meanwhile (it writes nothing: "writes are refused" was an API's line).
    for (const runner of runnerProcesses) {
      await runner.waitFor(/config store unreachable \(etcd:\/\/[^)]*\): the runner keeps scanning with config version 3;/);
      expect(`${runner.stdout()}${runner.stderr()}`).not.toContain('writes are refused');
    }
  }, 120_000);
});

describeWithEtcd('docker-compose.yml: its structure, and its commands run against a real 3-member etcd', () => {
  const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, Record<string, any>>;
    volumes: Record<string, unknown>;
  };
  const services = compose.services;
  const etcd = Object.keys(services).filter((name) => name.startsWith('etcd-'));
  const planes = Object.keys(services).filter((name) => !name.startsWith('etcd-'));
  const isServe = (name: string) => {
    const command = services[name]?.command as string[];
    return command[command.indexOf('dist/cli.js') + 1] === 'serve';
  };

  it('holds three etcd members, two API replicas and two runners, wired to each other', () => {
    expect(etcd).toEqual(['etcd-1', 'etcd-2', 'etcd-3']);
    expect(planes.filter(isServe)).toHaveLength(2);
    expect(planes.filter((name) => !isServe(name))).toHaveLength(2);
    const cluster = etcd.map((name) => `${name}=http://${name}:2380`).join(',');
    for (const name of etcd) {
      const member = services[name] as Record<string, any>;
      expect(member.image).toMatch(/^quay\.io\/coreos\/etcd:v3\.\d+\.\d+$/);
      expect(member.environment.ETCD_INITIAL_CLUSTER).toBe(cluster);
      expect(member.command).toEqual([
        'etcd',
        '--name',
        name,
        '--advertise-client-urls',
        `http://${name}:2379`,
        '--initial-advertise-peer-urls',
        `http://${name}:2380`,
      ]);
      expect(member.volumes).toEqual([`${name}:/etcd-data`]);
      expect(Object.keys(compose.volumes)).toContain(name);
      expect(member.healthcheck.test).toEqual(['CMD', 'etcdctl', 'endpoint', 'health']);
    }
    const runnerIds = new Set<string>();
    for (const name of planes) {
      const service = services[name] as Record<string, any>;
      // The image of the Dockerfile beside it (branch ops), run as its CMD runs: node --single-threaded-gc
      // dist/cli.js (without the flag the code cache, built with it, goes unused, and V8 collects on
      // helper threads). Its BUILD_COMMIT from the variable (unset: empty, /version's commit null).
      expect(service.build).toEqual({ context: '.', args: { BUILD_COMMIT: '${BUILD_COMMIT:-}' } });
      expect(service.command.slice(0, 3)).toEqual(['node', ...SERVE_NODE_FLAGS, 'dist/cli.js']);
      expect(service.command.every((arg: unknown) => typeof arg === 'string')).toBe(true);
      expect(service.environment.CONTROL_PLANE_STORE).toBe(`etcd://${etcd.map((m) => `${m}:2379`).join(',')}/trading`);
      expect(service.environment.CONTROL_PLANE_TOKEN).toMatch(/^\$\{CONTROL_PLANE_TOKEN:\?/);
      expect(Object.keys(service.depends_on)).toEqual(etcd);
      expect(Object.values(service.depends_on)).toEqual(etcd.map(() => ({ condition: 'service_healthy' })));
      expect(service.stop_grace_period).toBe('15s');
      if (isServe(name)) {
        expect(service.ports).toHaveLength(1);
        expect(service.ports[0]).toMatch(/^127\.0\.0\.1:\d+:8787$/);
        expect(service.command).not.toContain('--behind-tls-proxy'); // no proxy in front here
      } else {
        expect(service.healthcheck).toEqual({ disable: true });
        const id = service.command[service.command.indexOf('--runner-id') + 1];
        expect(runnerIds.has(id)).toBe(false);
        runnerIds.add(id);
        const instruments = service.command[service.command.indexOf('--instruments') + 1].split(',');
        for (const instrument of instruments) expect(instrumentSchema.safeParse(instrument).success).toBe(true);
      }
    }
    const published = planes.filter(isServe).map((name) => services[name]?.ports[0].split(':')[1]);
    expect(new Set(published).size).toBe(published.length);
  });
});
