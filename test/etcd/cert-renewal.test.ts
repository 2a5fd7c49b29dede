import { copyFile, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { describeWithEtcd, type EtcdCluster, makeTlsFiles, startEtcd } from '../helpers/etcd.js';
import { clientCertUntil, newClientKey } from '../helpers/etcd-certs.js';
import { freshPrefix } from '../helpers/etcd-stores.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { LISTENING, type SpawnedProcess, spawnStratctl } from '../helpers/server.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const TOKEN = 'a-token-long-enough-for-the-server';
/** The files are looked at every 200 ms here (5 s by default). */
const env = { CONTROL_PLANE_TOKEN: TOKEN, CONTROL_PLANE_ETCD_TLS_RELOAD_MS: '200' };
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Replaces `target` as cert-manager or a Vault agent does: a new file renamed over the old one. */
async function replaceInPlace(source: string, target: string): Promise<void> {
  const next = `${target}.next`;
  await copyFile(source, next);
  await rename(next, target);
}

/** A reconnect: the member restarted (every connection to it dropped, each dialled again). */
async function restartMember(cluster: EtcdCluster): Promise<void> {
  await cluster.members[0]?.stop();
  await cluster.members[0]?.start();
}

async function graphql(url: string, query: string, token?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] } };
}

const ready = async (origin: string) => {
  const res = await fetch(`${origin}/ready`);
  return { status: res.status, body: (await res.json()) as { reasons?: string[] } };
};

/**
 * A change through the API, tried until the store takes it (the member just restarted: its new
 * connection must be made with the credentials in use): its new version.
 */
async function changeUntilTaken(url: string, scanIntervalSeconds: number): Promise<number> {
  let version = 0;
  await expect
    .poll(
      async () => {
        const res = await graphql(
          url,
          `mutation { updateConfig(input: { scanIntervalSeconds: ${scanIntervalSeconds} }) { config { version } } }`,
          TOKEN,
        );
        version = (res.body.data as { updateConfig?: { config: { version: number } } } | null)?.updateConfig?.config.version ?? 0;
        return res.status;
      },
      { timeout: 15_000, interval: 250 },
    )
    .toBe(200);
  return version;
}

async function setUp(name: string) {
  const dir = await mkdtemp(path.join(tmpdir(), `scp-cert-renewal-${name}-`));
  dirs.push(dir);
  const tls = await makeTlsFiles(dir);
  const cluster = await startEtcd({ tls });
  // The paths the processes are given: what a secret volume holds, replaced in place.
  const live = path.join(dir, 'live');
  await mkdir(live);
  const files = { ca: path.join(live, 'ca.crt'), cert: path.join(live, 'client.crt'), key: path.join(live, 'client.key') };
  await copyFile(tls.caFile, files.ca);
  await copyFile(tls.clientKeyFile, files.key);
  const flags = ['--store', cluster.url(freshPrefix()), '--etcd-ca', files.ca, '--etcd-cert', files.cert, '--etcd-key', files.key];
  return { dir, tls, cluster, files, flags };
}

async function startServe(flags: string[]): Promise<{ api: SpawnedProcess; url: string; origin: string }> {
  const api = spawnStratctl(['serve', '--no-runner', '--port', '0', '--runtime-dir', await tempRuntimeDir(), ...flags], env);
  const [, url] = await api.waitFor(LISTENING);
  return { api, url: url as string, origin: new URL(url as string).origin };
}

describeWithEtcd('an etcd client certificate renewed in place while serve and a runner run', () => {
  it('after it ran out and a reconnect was refused: both take the renewed files without a restart; /ready 200, a change applied, the runner RUNNING', async () => {
    const { dir, tls, cluster, files, flags } = await setUp('expired');
    // Valid for a few seconds more: long enough to start both processes, short enough to wait out.
    // 10 s: the two starts took ~1.5 s here, and three times that on a loaded machine came close to 6.
    const notAfter = new Date(Math.ceil((Date.now() + 10_000) / 1000) * 1000);
    await copyFile(await clientCertUntil(tls, dir, 'short', notAfter), files.cert);

    const { api, url, origin } = await startServe(flags);
    const runner = spawnStratctl(['runner', '--runtime-dir', await tempRuntimeDir(), '--heartbeat-ms', '500', ...flags], env);
    await runner.waitFor(/strategy runner started/);
    expect((await ready(origin)).status).toBe(200);

    // It runs out, and a reconnect is refused: the 3 a.m. state (cert-expiry.test.ts).
    const expired = `--etcd-cert ${files.cert} expired at ${notAfter.toISOString()}`;
    await api.waitFor(new RegExp(`WARN\\s+${literal(expired)}`), 15_000);
    await restartMember(cluster);
    await expect
      .poll(async () => (await ready(origin)).body.reasons?.join('; ') ?? '', { timeout: 15_000 })
      .toContain(`config store unreachable: the etcd client certificate (--etcd-cert) expired at ${notAfter.toISOString()}`);
    const runners = async () =>
      (
        (await graphql(url, '{ status { runners { pid state appliedConfigVersion } } }')).body.data as {
          status: { runners: { pid: number; state: string; appliedConfigVersion: number | null }[] };
        }
      ).status.runners;
    await expect.poll(runners, { timeout: 10_000 }).toMatchObject([{ pid: runner.proc.pid, state: 'STALE' }]);

    // The renewed certificate is put at the same path (a rename over the old file).
    const until = new Date(Math.ceil((Date.now() + 3_600_000) / 1000) * 1000);
    await replaceInPlace(await clientCertUntil(tls, dir, 'renewed', until), files.cert);
    // Without a restart: ready again, the store takes a change, the runner applies it.
    await expect.poll(async () => (await ready(origin)).status, { timeout: 15_000 }).toBe(200);
    const version = await changeUntilTaken(url, 17);
    const seen = await graphql(url, '{ config { version scanIntervalSeconds } status { store { connected } } }');
    expect(seen.body.data).toMatchObject({ config: { version, scanIntervalSeconds: 17 }, status: { store: { connected: true } } });
    await expect
      .poll(runners, { timeout: 15_000 })
      .toMatchObject([{ pid: runner.proc.pid, state: 'RUNNING', appliedConfigVersion: version }]);
    // Each process said which file it took, and until when it is valid.
    const renewed = `--etcd-cert ${files.cert} renewed (valid until ${until.toISOString()}): reconnecting with it`;
    await api.waitFor(new RegExp(`INFO\\s+${literal(renewed)}`), 1000);
    await runner.waitFor(new RegExp(literal(renewed)), 1000);
    // The expiry warning follows the certificate in use: none said for the renewed one, and its date is the one reported.
    expect(api.stderr()).not.toMatch(new RegExp(literal(`expired at ${until.toISOString()}`)));
    expect({ api: api.proc.exitCode, runner: runner.proc.exitCode }).toEqual({ api: null, runner: null });
    expect(await runner.stop('SIGTERM')).toBe(0);
    expect(await api.stop('SIGTERM')).toBe(0);
  }, 40_000);

  it('a half-rotated set (a new certificate beside the old key) is refused with one warning; the old credentials stay in use until the key follows', async () => {
    const { dir, tls, cluster, files, flags } = await setUp('half');
    await copyFile(tls.clientCertFile, files.cert);
    const { api, url, origin } = await startServe(flags);
    expect((await ready(origin)).status).toBe(200);

    // The new pair: a new key and its certificate. Only the certificate lands first.
    const nextKey = await newClientKey(dir, 'next');
    const until = new Date(Math.ceil((Date.now() + 3_600_000) / 1000) * 1000);
    const nextCert = await clientCertUntil(tls, dir, 'next', until, nextKey);
    await replaceInPlace(nextCert, files.cert);
    const refused = `etcd TLS files changed but are not a usable set: --etcd-key ${files.key} is not the key of --etcd-cert ${files.cert}; keeping the credentials in use`;
    await api.waitFor(new RegExp(`WARN\\s+${literal(refused)}`), 10_000);
    // Still the old, valid set: a reconnect works (a mismatched pair would make every connection fail).
    await restartMember(cluster);
    const version = await changeUntilTaken(url, 17);
    expect((await ready(origin)).status).toBe(200);
    // Said once for this content, not on every look.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(api.stderr().split(refused).length - 1).toBe(1);
    expect(api.stderr()).not.toMatch(/renewed \(valid until/);

    // The key follows: the set is whole, and taken.
    await replaceInPlace(nextKey, files.key);
    await api.waitFor(
      new RegExp(`INFO\\s+${literal(`--etcd-cert ${files.cert} renewed (valid until ${until.toISOString()}): reconnecting with it`)}`),
      10_000,
    );
    await restartMember(cluster);
    expect(await changeUntilTaken(url, 19)).toBe(version + 1);
    expect((await ready(origin)).status).toBe(200);
    expect(api.proc.exitCode).toBe(null);
    expect(await api.stop('SIGTERM')).toBe(0);
  }, 40_000);
});
