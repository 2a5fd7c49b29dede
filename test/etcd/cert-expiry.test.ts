import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { describeWithEtcd, makeTlsFiles, startEtcd } from '../helpers/etcd.js';
import { clientCertUntil } from '../helpers/etcd-certs.js';
import { freshPrefix } from '../helpers/etcd-stores.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { LISTENING, spawnStratctl } from '../helpers/server.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describeWithEtcd('an etcd client certificate that runs out while serve and a runner run', () => {
  it('both say so naming the file when it runs out; a reconnect is refused: /ready 503 naming the cert, runner STALE; a restart with a renewed one recovers', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'scp-cert-expiry-'));
    dirs.push(dir);
    const tls = await makeTlsFiles(dir);
    const cluster = await startEtcd({ tls });
    const prefix = freshPrefix();
    // Valid for a few seconds more: long enough to start both processes, short enough to wait out.
    // 10 s: the two starts took ~1.5 s here, and three times that on a loaded machine came close to 6.
    const notAfter = new Date(Math.ceil((Date.now() + 10_000) / 1000) * 1000);
    const shortCert = await clientCertUntil(tls, dir, 'short', notAfter);
    const flags = (cert: string) => [
      '--store',
      cluster.url(prefix),
      '--etcd-ca',
      tls.caFile,
      '--etcd-cert',
      cert,
      '--etcd-key',
      tls.clientKeyFile,
    ];
    const env = { CONTROL_PLANE_TOKEN: 'a-token-long-enough-for-the-server' };

    const api = spawnStratctl(['serve', '--no-runner', '--port', '0', '--runtime-dir', await tempRuntimeDir(), ...flags(shortCert)], env);
    const [, url] = await api.waitFor(LISTENING);
    const origin = new URL(url as string).origin;
    const runner = spawnStratctl(['runner', '--runtime-dir', await tempRuntimeDir(), '--heartbeat-ms', '500', ...flags(shortCert)]);
    await runner.waitFor(/strategy runner started/);
    expect((await fetch(`${origin}/ready`)).status).toBe(200);

    // It runs out: each process says so at once, naming the file and what to do. The connections
    // already open go on (TLS checks the certificate at the handshake only), so nothing else would tell.
    const expired = `--etcd-cert ${shortCert} expired at ${notAfter.toISOString()}: the members refuse every new connection with it; put a renewed certificate (and its key) at the same paths: it is taken without a restart`;
    await api.waitFor(new RegExp(`WARN\\s+${expired.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 15_000);
    await runner.waitFor(new RegExp(expired.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 5_000);
    expect((await fetch(`${origin}/ready`)).status).toBe(200);

    // A reconnect (the member restarted) is refused: unreachable, and the reason names the certificate.
    await cluster.members[0]?.stop();
    await cluster.members[0]?.start();
    await expect
      .poll(async () => (await (await fetch(`${origin}/ready`)).json()) as { reasons: string[] }, { timeout: 15_000 })
      .toMatchObject({
        reasons: [`config store unreachable: ${expired.replace(`--etcd-cert ${shortCert}`, 'the etcd client certificate (--etcd-cert)')}`],
      });
    // /ready needs no token: it names no file (the log does).
    expect(JSON.stringify(await (await fetch(`${origin}/ready`)).json())).not.toContain(dir);
    expect((await fetch(`${origin}/ready`)).status).toBe(503);
    await api.waitFor(
      /config store unreachable \(etcd:\/\/[^)]+\): --etcd-cert .* expired at .*: writes are refused until it answers again/,
    );
    await runner.waitFor(/config store unreachable \(etcd:\/\/[^)]+\): --etcd-cert .* expired at .*: the runner keeps scanning/);
    // The runner's heartbeats cannot reach etcd: the API shows it STALE.
    const runners = async () => {
      const res = await fetch(url as string, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ status { runners { pid state } } }' }),
      });
      return ((await res.json()) as { data: { status: { runners: { pid: number; state: string }[] } } }).data.status.runners;
    };
    await expect.poll(runners, { timeout: 10_000 }).toEqual([{ pid: runner.proc.pid, state: 'STALE' }]);
    // A client that asks the API (not etcd) is answered from its last watched state: exit 0, store not connected.
    const status = spawnStratctl(['status', '--url', url as string, '--json']);
    expect(await status.exited).toBe(0);
    expect(JSON.parse(status.stdout())).toMatchObject({ store: { kind: 'ETCD', connected: false } });
    // A command that dials etcd itself with the expired certificate: exit 2, naming it.
    const tokens = spawnStratctl(['token', 'list', ...flags(shortCert)]);
    expect(await tokens.exited).toBe(2);
    expect(tokens.stderr()).toContain(`--etcd-cert ${shortCert} expired at ${notAfter.toISOString()}: the members refuse it; renew it`);
    expect({ api: api.proc.exitCode, runner: runner.proc.exitCode }).toEqual({ api: null, runner: null });

    // A restart with a renewed certificate at another path also recovers (cert-renewal.test.ts: in place, without one).
    const renewed = await clientCertUntil(tls, dir, 'renewed', new Date(Date.now() + 3_600_000));
    expect(await runner.stop('SIGTERM')).toBe(0);
    expect(await api.stop('SIGTERM')).toBe(0);
    const api2 = spawnStratctl(['serve', '--no-runner', '--port', '0', '--runtime-dir', await tempRuntimeDir(), ...flags(renewed)], env);
    const [, url2] = await api2.waitFor(LISTENING);
    const runner2 = spawnStratctl(['runner', '--runtime-dir', await tempRuntimeDir(), '--heartbeat-ms', '500', ...flags(renewed)]);
    await runner2.waitFor(/strategy runner started/);
    expect((await fetch(`${new URL(url2 as string).origin}/ready`)).status).toBe(200);
    expect(await runner2.stop('SIGTERM')).toBe(0);
    expect(await api2.stop('SIGTERM')).toBe(0);
    // Its own bound: it waits out a real certificate's validity (etcd's TLS, not a clock this test can
    // move) and restarts a member and four processes; clean-clone CIs took 23-28 s of the 30 s default,
    // and one on a host busier still ran out (ci25). Each wait inside keeps its own bound.
  }, 60_000);
});
