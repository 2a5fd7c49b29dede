import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAdminTokenProof, newAdminProofChallenge } from '../../src/auth/admin-proof.js';
import { canListenOn, ownNonLoopbackAddress, recordingListener } from '../helpers/recording-listener.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { LISTENING, spawnProcess, spawnServer } from '../helpers/server.js';
import { cliEnv, startStratctl, stratctl } from '../helpers/stratctl.js';
import { waitUntil } from '../helpers/wait.js';

// The admin-token proof against real `serve` processes (review of rev1): what it binds, who gets it,
// and how long stratctl trusts it.

const notices = (stderr: string) => stderr.split('\n').filter((l) => l.includes('not sending the admin token'));
const adminToken = async (dir: string) => (await readFile(path.join(dir, 'admin.token'), 'utf8')).trim();

/** `serve` on a given port (spawnServer's is a free one), as a restart on the same port does. */
async function serveOn(dir: string, port: number, args: string[]) {
  const child = spawnProcess(process.execPath, ['dist/cli.js', 'serve', '--port', String(port), '--runtime-dir', dir, ...args], {
    env: cliEnv({ CONTROL_PLANE_LOG_FORMAT: 'text' }),
  });
  await child.waitFor(LISTENING);
  return child;
}

/** What /health answers a challenge (`headers` added), and the challenge. */
async function askProof(origin: string, headers: Record<string, string> = {}) {
  const challenge = newAdminProofChallenge();
  const health = await fetch(`${origin}/health`, { headers: { 'x-admin-token-challenge': challenge, ...headers } });
  expect(health.status).toBe(200);
  await health.arrayBuffer();
  return { challenge, proof: health.headers.get('x-admin-token-proof') };
}

describe('the proof binds the address the server is on, not only its port', { timeout: 60_000 }, () => {
  it('a program on the same port at another loopback address (127.0.0.2, ::1) relays the challenge: it gets no token', async () => {
    const dir = await tempRuntimeDir();
    const server = await spawnServer(dir, ['--no-runner']);
    const { origin, port } = new URL(server.url);
    const hosts = ['127.0.0.2'];
    if (await canListenOn('::1')) hosts.push('::1');
    else console.warn('admin-token-proof: no ::1 on this machine; the relay is tried on 127.0.0.2 only');
    for (const host of hosts) {
      const relay = await recordingListener(host, { port: Number(port), forwardTo: origin });
      const activate = await stratctl(['activate', 'gold'], {
        CONTROL_PLANE_URL: `${relay.origin}/graphql`,
        CONTROL_PLANE_RUNTIME_DIR: dir,
      });
      // The real server's proof is for 127.0.0.1: the relay's address is not that, so nothing of the token went out.
      expect(
        relay.seen.map((r) => `${r.method} ${r.url} ${r.authorization}`),
        host,
      ).toEqual(['GET /health undefined', 'POST /graphql undefined']);
      expect(activate.code, host).toBe(3);
      expect(notices(activate.stderr), host).toHaveLength(1);
      await relay.close();
    }
    // The server itself, named by its address or by `localhost`: proved there, and sent there.
    const env = { CONTROL_PLANE_RUNTIME_DIR: dir };
    const byName = await stratctl(['activate', 'gold', '--url', `http://localhost:${port}/graphql`], env);
    expect(byName.code, byName.stderr).toBe(0);
    expect(byName.stderr).toBe('');
    const byAddress = await stratctl(['activate', 'range', '--url', server.url], env);
    expect(byAddress.code, byAddress.stderr).toBe(0);
    const status = await stratctl(['status', '--json', '--url', server.url], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ activeStrategyKey: 'range', configVersion: 3 });
  });
});

describe('/health proves the admin token only to a loopback peer, straight, for admin.token', { timeout: 60_000 }, () => {
  it('to a loopback client of a server with admin.token: a proof; to anyone else, or through a proxy: none', async () => {
    const dir = await tempRuntimeDir();
    const server = await spawnServer(dir, ['--host', '0.0.0.0', '--no-runner']);
    const port = Number(new URL(server.url).port);
    const loopback = `http://127.0.0.1:${port}`;
    // A local proxy in front passes requests from anywhere on: one it forwarded gets no proof.
    const forwarded: Record<string, string>[] = [
      { 'x-forwarded-for': '192.0.2.7' },
      { forwarded: 'for=192.0.2.7' },
      { 'x-real-ip': '192.0.2.7' },
      { via: '1.1 proxy' },
    ];
    for (const headers of forwarded) {
      expect((await askProof(loopback, headers)).proof, JSON.stringify(headers)).toBeNull();
    }
    // A client from another machine (this machine's own non-loopback address stands for one).
    const own = ownNonLoopbackAddress();
    if (own) expect((await askProof(`http://${own}:${port}`)).proof).toBeNull();
    else console.warn('admin-token-proof: no non-loopback IPv4 address on this machine; not tried from one');
    // Straight from this machine: stratctl's case.
    const { challenge, proof } = await askProof(loopback);
    expect(await isAdminTokenProof(proof, await adminToken(dir), challenge, '127.0.0.1', port)).toBe(true);
  });

  it('behind a TLS proxy (every client arrives from it), or with the admin token from CONTROL_PLANE_TOKEN: none, and stratctl keeps admin.token', async () => {
    const proxied = await spawnServer(await tempRuntimeDir(), ['--behind-tls-proxy', '--no-runner']);
    expect((await askProof(new URL(proxied.url).origin)).proof).toBeNull();

    // A hand-chosen CONTROL_PLANE_TOKEN: a proof of it was an offline guessing oracle (the reviewer
    // found "Summer2024Summer2024" in 2,161 guesses). stratctl never asks one for a token it is given.
    const chosen = 'Summer2024Summer2024';
    const dir = await tempRuntimeDir();
    const fromEnv = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: chosen });
    expect((await askProof(new URL(fromEnv.url).origin)).proof).toBeNull();
    const given = await stratctl(['activate', 'gold', '--url', fromEnv.url], { CONTROL_PLANE_TOKEN: chosen });
    expect(given.code, given.stderr).toBe(0);
  });
});

describe('status --watch proves the admin token again after each loss of its stream', { timeout: 60_000 }, () => {
  it('the server stops and another program takes its port: it gets no token; the server back on it is proved again', async () => {
    const dir = await tempRuntimeDir();
    const args = ['--reads-require-token', '--no-runner'];
    const server = await spawnServer(dir, args);
    const port = Number(new URL(server.url).port);
    const watch = startStratctl(['status', '--watch'], { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_RUNTIME_DIR: dir });
    await watch.waitFor(/active momentum/);
    expect(await server.stop('SIGTERM')).toBe(0);

    // README's threat: any local program may bind the port while the server is down.
    const squatter = await recordingListener('127.0.0.1', {
      port,
      answer: { status: 503, headers: { 'content-type': 'text/plain' }, body: 'down' },
    });
    await waitUntil(
      async () => squatter.seen.filter((r) => r.method === 'POST').length,
      (posts) => posts >= 2,
      { timeoutMs: 20_000, what: 'two reconnection attempts at the squatter' },
    );
    // Each attempt asked for a proof first, and got none: the token never went out.
    expect(squatter.seen.map((r) => r.authorization)).toEqual(squatter.seen.map(() => undefined));
    expect(squatter.seen[0]).toMatchObject({ method: 'GET', url: '/health' });
    expect(squatter.seen.filter((r) => r.url === '/health').length).toBeGreaterThanOrEqual(2);
    expect(notices(watch.stderr())).toHaveLength(1);
    await squatter.close();

    // The server itself back on its port (same admin.token): it proves it, and the watch goes on.
    await serveOn(dir, port, args);
    await watch.waitFor(/reconnected to/);
    await stratctl(['activate', 'gold', '--url', server.url], { CONTROL_PLANE_RUNTIME_DIR: dir });
    await watch.waitFor(/active gold/);
    watch.signal('SIGINT');
    expect(await watch.exited).toBe(130);
  });
});
