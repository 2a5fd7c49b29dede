import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'vitest';
import { afterEachFile, afterEachTest } from './cleanup.js';

/** Debian's etcd-server (3.4); `.ci/run` installs it when missing. */
export const ETCD = process.env.ETCD_BINARY ?? '/usr/bin/etcd';
export const etcdInstalled = existsSync(ETCD);
const inCI = process.env.CI === 'true';

/**
 * `describe` for tests that need real etcd members. Without the binary they are skipped with a
 * notice on stderr, except under CI=true, where a test in their place fails.
 */
export function describeWithEtcd(name: string, body: () => void): void {
  if (etcdInstalled) {
    describe(name, body);
    return;
  }
  if (inCI) {
    describe(name, () => {
      it(`needs ${ETCD} under CI=true`, () => {
        throw new Error(`${ETCD} is missing and CI=true: the etcd tests must run in CI (.ci/run installs etcd-server)`);
      });
    });
    return;
  }
  process.stderr.write(`\n*** SKIPPED "${name}": ${ETCD} is not installed (apt-get install -y etcd-server) ***\n\n`);
  describe.skip(name, body);
}

const handedOut = new Set<number>();

/** A free loopback port (bound and released; etcd binds it next), never the same one twice in a process. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await anyFreePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface EtcdTlsSetup {
  /** PEM files the members serve with; clients trust `caFile` and present `clientCert/KeyFile`. */
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

export interface EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly running: boolean;
  /** Starts it again with its data dir (after stop or kill). */
  start(): Promise<void>;
  /** SIGTERM, and waits for it to exit. */
  stop(): Promise<void>;
  /** SIGKILL, and waits for it to exit. */
  kill(): Promise<void>;
  /** SIGSTOP: it keeps its connections and answers nothing (a hung VM or disk) until `thaw` (SIGCONT). */
  freeze(): void;
  thaw(): void;
  /** A copy of its data dir as it is now (stop it first): what `replaceData` brings back, an older snapshot. */
  copyData(): Promise<string>;
  /**
   * Its data dir removed, or replaced by a `copyData` (stop it first): started again, it is an etcd
   * wiped, or restored from an older snapshot without --bump-revision. One-member clusters only.
   */
  replaceData(copy?: string): Promise<void>;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** `host:port` of every member's client URL. */
  readonly hosts: readonly string[];
  /** `etcd://<every member>/<prefix>`. */
  url(prefix: string): string;
  /** Every member stopped (SIGKILL) and its data removed. */
  close(): Promise<void>;
}

const clusters: EtcdCluster[] = [];
const fileClusters: EtcdCluster[] = [];
const everyProcess = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of everyProcess) child.kill('SIGKILL');
});

afterEachTest(async () => {
  await Promise.all(clusters.splice(0).map((c) => c.close()));
});
afterEachFile(async () => {
  await Promise.all(fileClusters.splice(0).map((c) => c.close()));
});

async function healthy(port: number, tls: EtcdTlsSetup | undefined): Promise<boolean> {
  if (!tls) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    } catch {
      return false;
    }
  }
  const [ca, cert, key] = await Promise.all([readFile(tls.caFile), readFile(tls.clientCertFile), readFile(tls.clientKeyFile)]);
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', ca, cert, key, timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"true"')));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve));
}

/**
 * Starts `size` etcd members on free loopback ports with temp data dirs (one cluster), waits until
 * every member answers /health, and stops and removes them after the test (or, with `lifetime:
 * 'file'`, after the test file: tests then share it, each under its own prefix). Elections are fast
 * (50 ms heartbeats, 500 ms election timeout) so fault tests do not wait on defaults.
 */
export async function startEtcd(
  options: {
    size?: 1 | 3;
    tls?: EtcdTlsSetup;
    lifetime?: 'test' | 'file' /** More etcd flags, e.g. a smaller --max-request-bytes. */;
    extraArgs?: string[];
  } = {},
): Promise<EtcdCluster> {
  const size = options.size ?? 1;
  const tls = options.tls;
  const scheme = tls ? 'https' : 'http';
  const root = await mkdtemp(path.join(tmpdir(), 'scp-etcd-'));
  const specs: { name: string; clientPort: number; peerPort: number }[] = [];
  for (let i = 0; i < size; i++) specs.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort() });
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');

  let copies = 0;
  const members = specs.map((spec) => {
    let child: ChildProcess | null = null;
    const dataDir = path.join(root, spec.name);
    const args = [
      `--name=${spec.name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${scheme}://127.0.0.1:${spec.clientPort}`,
      `--advertise-client-urls=${scheme}://127.0.0.1:${spec.clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${spec.peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${spec.peerPort}`,
      `--initial-cluster=${initialCluster}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=${path.basename(root)}`,
      '--heartbeat-interval=50',
      '--election-timeout=500',
      ...(tls
        ? [`--cert-file=${tls.serverCertFile}`, `--key-file=${tls.serverKeyFile}`, `--trusted-ca-file=${tls.caFile}`, '--client-cert-auth']
        : []),
      ...(options.extraArgs ?? []),
    ];
    const member: EtcdMember = {
      ...spec,
      get running() {
        return child !== null && child.exitCode === null && child.signalCode === null;
      },
      async start() {
        if (member.running) return;
        const log = openSync(path.join(root, `${spec.name}.log`), 'a');
        child = spawn(ETCD, args, { stdio: ['ignore', log, log] });
        everyProcess.add(child);
        const started = child;
        started.once('exit', () => everyProcess.delete(started));
      },
      async stop() {
        if (!child) return;
        child.kill('SIGTERM');
        await waitForExit(child);
      },
      async kill() {
        if (!child) return;
        child.kill('SIGKILL');
        await waitForExit(child);
      },
      freeze() {
        child?.kill('SIGSTOP');
      },
      async copyData() {
        if (member.running) throw new Error(`stop etcd member ${spec.name} before copying its data`);
        const copy = path.join(root, `${spec.name}-copy-${++copies}`);
        await cp(dataDir, copy, { recursive: true });
        return copy;
      },
      async replaceData(copy) {
        if (member.running) throw new Error(`stop etcd member ${spec.name} before replacing its data`);
        await rm(dataDir, { recursive: true, force: true });
        if (copy) await cp(copy, dataDir, { recursive: true });
      },
      thaw() {
        child?.kill('SIGCONT');
      },
    };
    return member;
  });

  const cluster: EtcdCluster = {
    members,
    hosts: specs.map((s) => `127.0.0.1:${s.clientPort}`),
    url: (prefix) => `etcd://${specs.map((s) => `127.0.0.1:${s.clientPort}`).join(',')}/${prefix}`,
    async close() {
      await Promise.all(members.map((m) => m.kill()));
      await rm(root, { recursive: true, force: true });
    },
  };
  (options.lifetime === 'file' ? fileClusters : clusters).push(cluster);
  await Promise.all(members.map((m) => m.start()));
  await waitHealthy(cluster, tls).catch(async (err) => {
    const logs = await Promise.all(specs.map((m) => readFile(path.join(root, `${m.name}.log`), 'utf8').catch(() => '')));
    const tails = logs.map((log, i) => `--- ${specs[i]?.name} ---\n${log.split('\n').slice(-15).join('\n')}`);
    throw new Error(`${(err as Error).message}\n${tails.join('\n')}`);
  });
  return cluster;
}

/** Waits until every running member answers /health (a member reports healthy once it has a leader). */
export async function waitHealthy(cluster: EtcdCluster, tls?: EtcdTlsSetup, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (const member of cluster.members.filter((m) => m.running)) {
    while (!(await healthy(member.clientPort, tls))) {
      if (performance.now() > deadline)
        throw new Error(`etcd member ${member.name} (port ${member.clientPort}) not healthy after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl in `dir`. */
export async function makeTlsFiles(dir: string): Promise<EtcdTlsSetup> {
  const run = (args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (c) => (err += c));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`openssl ${args[0]} failed: ${err}`))));
    });
  const days = ['-days', '2'];
  await run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=scp-test-ca', ...days]);
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    await run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=scp-${name}`]);
    await writeFile(path.join(dir, `${name}.ext`), `${ext}\n`);
    await run([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-extfile',
      `${name}.ext`,
      ...days,
    ]);
  }
  return {
    caFile: path.join(dir, 'ca.crt'),
    serverCertFile: path.join(dir, 'server.crt'),
    serverKeyFile: path.join(dir, 'server.key'),
    clientCertFile: path.join(dir, 'client.crt'),
    clientKeyFile: path.join(dir, 'client.key'),
  };
}
