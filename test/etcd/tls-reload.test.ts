import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EtcdGateway } from '../../src/store-etcd/gateway.js';
import { MAX_TLS_FILE_BYTES, readEtcdTlsFiles } from '../../src/store-etcd/tls-files.js';
import { TlsFilesWatch } from '../../src/store-etcd/tls-reload.js';
import { parseEtcdStoreUrl } from '../../src/store-etcd/url.js';
import { UsageError } from '../../src/usage-error.js';
import { makeTlsFiles } from '../helpers/etcd.js';
import { clientCertUntil, newClientKey } from '../helpers/etcd-certs.js';

const dirs: string[] = [];
const closers: (() => void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function replaceInPlace(source: string, target: string): Promise<void> {
  await copyFile(source, `${target}.next`);
  await rename(`${target}.next`, target);
}

async function setUp() {
  const dir = await mkdtemp(path.join(tmpdir(), 'scp-tls-reload-'));
  dirs.push(dir);
  const tls = await makeTlsFiles(dir);
  const live = path.join(dir, 'live');
  await mkdir(live);
  const paths = { caFile: path.join(live, 'ca.crt'), certFile: path.join(live, 'client.crt'), keyFile: path.join(live, 'client.key') };
  await copyFile(tls.caFile, paths.caFile);
  await copyFile(tls.clientCertFile, paths.certFile);
  await copyFile(tls.clientKeyFile, paths.keyFile);
  return { dir, tls, paths };
}

describe('TLS files looked at for a renewal (no etcd needed)', () => {
  it('takes only a whole valid set, warns once per content of a half one, and judges validity by the clock it is given', async () => {
    const { dir, tls, paths } = await setUp();
    let now = new Date();
    const renewed: string[] = [];
    const warnings: string[] = [];
    const watch = new TlsFilesWatch(paths, await readEtcdTlsFiles(paths), {
      intervalMs: 3_600_000,
      now: () => now,
      warn: (m) => warnings.push(m),
      onRenewed: (files) => renewed.push(files.certExpiry?.notAfter.toISOString() ?? '?'),
    });
    closers.push(() => watch.close());

    await watch.check();
    expect({ renewed, warnings }).toEqual({ renewed: [], warnings: [] });

    // A new key's certificate before its key: refused, said once however often it is looked at.
    const key = await newClientKey(dir, 'next');
    const until = new Date(Math.ceil((Date.now() + 7_200_000) / 1000) * 1000);
    await replaceInPlace(await clientCertUntil(tls, dir, 'next', until, key), paths.certFile);
    await watch.check();
    await watch.check();
    expect(renewed).toEqual([]);
    expect(warnings).toEqual([
      expect.stringContaining(
        `--etcd-key ${paths.keyFile} is not the key of --etcd-cert ${paths.certFile}; keeping the credentials in use`,
      ),
    ]);

    // The key missing for a moment (deleted before its replacement lands): refused too, once.
    await unlink(paths.keyFile);
    await watch.check();
    await watch.check();
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toContain(`--etcd-key ${paths.keyFile}: ENOENT`);

    // The key lands: the whole set is taken, once.
    await replaceInPlace(key, paths.keyFile);
    await watch.check();
    await watch.check();
    expect(renewed).toEqual([until.toISOString()]);

    // A certificate not valid yet by this clock is refused; once the clock reaches it, the same bytes are taken.
    const later = await clientCertUntil(tls, dir, 'later', new Date(until.getTime() + 3_600_000), key);
    await replaceInPlace(later, paths.certFile);
    now = new Date(Date.now() - 3_600_000);
    await watch.check();
    expect(renewed).toHaveLength(1);
    expect(warnings[2]).toMatch(/is not valid before/);
    now = new Date();
    await watch.check();
    expect(renewed).toHaveLength(2);
    expect(warnings).toHaveLength(3);
  }, 20_000);

  it('a renewal in DER (binary) is refused with a warning, the set in use kept: it was taken, and Node could not load it (the replica cut off from etcd)', async () => {
    const { dir, paths } = await setUp();
    const renewed: string[] = [];
    const warnings: string[] = [];
    const watch = new TlsFilesWatch(paths, await readEtcdTlsFiles(paths), {
      intervalMs: 3_600_000,
      warn: (m) => warnings.push(m),
      onRenewed: (files) => renewed.push(files.certExpiry?.notAfter.toISOString() ?? '?'),
    });
    closers.push(() => watch.close());
    const der = path.join(dir, 'client.der');
    execFileSync('openssl', ['x509', '-in', paths.certFile, '-outform', 'DER', '-out', der]);
    await replaceInPlace(der, paths.certFile);
    await watch.check();
    expect(renewed).toEqual([]);
    expect(warnings).toEqual([expect.stringContaining(`--etcd-cert ${paths.certFile} holds no PEM certificate`)]);
    expect(warnings[0]).toContain('it looks like DER (binary)');
    expect(warnings[0]).toContain('keeping the credentials in use');
  });

  it('the gateway says which certificate it took and moves the expiry warning to the new one (renewed before the old ran out)', async () => {
    const { dir, tls, paths } = await setUp();
    // The renewed one made first: made between the two, its minting (openssl) on a loaded machine could outlast the short one.
    const until = new Date(Math.ceil((Date.now() + 3_600_000) / 1000) * 1000);
    const renewedCert = await clientCertUntil(tls, dir, 'renewed', until);
    // 5 s: the renewal must be seen (every 100 ms) before it runs out, even by a gateway starved a while.
    const soon = new Date(Math.ceil((Date.now() + 5000) / 1000) * 1000);
    await replaceInPlace(await clientCertUntil(tls, dir, 'short', soon), paths.certFile);
    const info: string[] = [];
    const warn: string[] = [];
    const gateway = new EtcdGateway({
      url: parseEtcdStoreUrl('etcd://127.0.0.1:1/reload'),
      tls: await readEtcdTlsFiles(paths),
      tlsPaths: paths,
      tlsReloadMs: 100,
      info: (m) => info.push(m),
      warn: (m) => warn.push(m),
    });
    closers.push(() => gateway.close());
    await replaceInPlace(renewedCert, paths.certFile);
    await expect
      .poll(() => info, { timeout: 10_000 })
      .toEqual([`--etcd-cert ${paths.certFile} renewed (valid until ${until.toISOString()}): reconnecting with it`]);
    // Past the old certificate's end: no warning about it, and the gateway reports none expired.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, soon.getTime() - Date.now()) + 300));
    expect(warn).toEqual([]);
    expect(gateway.certificateExpired()).toBe(null);
    expect(gateway.certificateExpired(new Date(until.getTime() + 1000))).toContain(`expired at ${until.toISOString()}`);
    // A CA added to the bundle (the members' next CA, ahead of their move): said as the CA, not as the
    // client certificate renewed with the end of validity it already had.
    const bundle = path.join(dir, 'bundle.crt');
    await writeFile(bundle, `${await readFile(tls.caFile, 'utf8')}${await readFile(tls.serverCertFile, 'utf8')}`);
    await replaceInPlace(bundle, paths.caFile);
    await expect.poll(() => info.slice(1), { timeout: 10_000 }).toEqual([`--etcd-ca ${paths.caFile} renewed: reconnecting with it`]);
  }, 20_000);
  it('a world-writable TLS file is refused at start (exit 2, naming it) and on a renewal (the CA in use kept); group-writable is taken', async () => {
    const { dir, tls, paths } = await setUp();
    // At start: any local user could have put their CA there.
    await chmod(paths.caFile, 0o666);
    await expect(readEtcdTlsFiles(paths)).rejects.toThrow(
      new UsageError(`--etcd-ca ${paths.caFile} is world-writable (mode 0666): any local user could replace it; chmod o-w it`),
    );
    await chmod(paths.caFile, 0o644);
    const renewed: string[] = [];
    const warnings: string[] = [];
    const watch = new TlsFilesWatch(paths, await readEtcdTlsFiles(paths), {
      intervalMs: 3_600_000,
      warn: (m) => warnings.push(m),
      onRenewed: (files) => renewed.push(files.certExpiry?.notAfter.toISOString() ?? '?'),
    });
    closers.push(() => watch.close());
    // While it runs: the CA made world-writable and rewritten (here with another valid set's CA) is not taken.
    await mkdir(path.join(dir, 'other'));
    const other = await makeTlsFiles(path.join(dir, 'other'));
    const key = await newClientKey(dir, 'world');
    const until = new Date(Math.ceil((Date.now() + 7_200_000) / 1000) * 1000);
    await chmod(paths.caFile, 0o666);
    await writeFile(paths.caFile, await readFile(other.caFile));
    await replaceInPlace(key, paths.keyFile);
    await replaceInPlace(await clientCertUntil(tls, dir, 'world', until, key), paths.certFile);
    await watch.check();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`--etcd-ca ${paths.caFile} is world-writable (mode 0666)`);
    expect(warnings[0]).toContain('keeping the credentials in use');
    expect(renewed).toEqual([]);
    // Group-writable (a shared group of the agent that writes them) is taken, as before.
    await chmod(paths.caFile, 0o664);
    await writeFile(paths.caFile, await readFile(tls.caFile));
    await watch.check();
    expect(renewed).toEqual([until.toISOString()]);
  }, 20_000);

  it('a FIFO, a link to /dev/zero or a huge file at a path: refused at once with a warning, the set in use kept, later renewals still taken', async () => {
    const { dir, tls, paths } = await setUp();
    const renewed: string[] = [];
    const warnings: string[] = [];
    const watch = new TlsFilesWatch(paths, await readEtcdTlsFiles(paths), {
      intervalMs: 3_600_000,
      warn: (m) => warnings.push(m),
      onRenewed: (files) => renewed.push(files.certExpiry?.notAfter.toISOString() ?? '?'),
    });
    closers.push(() => watch.close());
    // A look that does not end is the failure (it held every later look, and a thread of libuv's pool).
    const look = () =>
      Promise.race([
        watch.check().then(() => 'done'),
        new Promise<string>((resolve) => setTimeout(() => resolve('still reading after 3 s'), 3000)),
      ]);

    // A FIFO put at --etcd-ca (by rename, as a renewal lands): nobody ever writes to it.
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await rename(fifo, paths.caFile);
    try {
      expect(await look()).toBe('done');
    } finally {
      // Lets a read blocked in open(2) go (without the fix), so the test's process can end.
      try {
        closeSync(openSync(paths.caFile, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {}
    }
    expect(warnings.at(-1)).toContain(
      `--etcd-ca ${paths.caFile} is not a regular file (a named pipe (FIFO)); keeping the credentials in use`,
    );

    // A symbolic link to /dev/zero at --etcd-cert: endless; refused on its fstat, before a byte is read.
    await replaceInPlace(tls.caFile, paths.caFile);
    const link = path.join(dir, 'zero-link');
    await symlink('/dev/zero', link);
    await rename(link, paths.certFile);
    expect(await look()).toBe('done');
    expect(warnings.at(-1)).toContain(`--etcd-cert ${paths.certFile} is not a regular file (a character device)`);

    // A huge file (sparse: 64 MiB of nothing) at --etcd-key: refused on its size, never read.
    await replaceInPlace(tls.clientCertFile, paths.certFile);
    const huge = path.join(dir, 'huge');
    await writeFile(huge, '');
    await truncate(huge, 64 * 1024 * 1024);
    await rename(huge, paths.keyFile);
    expect(await look()).toBe('done');
    expect(warnings.at(-1)).toContain(
      `--etcd-key ${paths.keyFile} is ${64 * 1024 * 1024} bytes or more, over the ${MAX_TLS_FILE_BYTES} bytes`,
    );
    expect(warnings).toHaveLength(3);
    expect(renewed).toEqual([]);

    // A real renewal after all that is still taken.
    const key = await newClientKey(dir, 'after');
    const until = new Date(Math.ceil((Date.now() + 7_200_000) / 1000) * 1000);
    await replaceInPlace(key, paths.keyFile);
    await replaceInPlace(await clientCertUntil(tls, dir, 'after', until, key), paths.certFile);
    expect(await look()).toBe('done');
    expect(renewed).toEqual([until.toISOString()]);
  }, 20_000);

  it('with CONTROL_PLANE_ETCD_TLS_RELOAD_MS=0 the expiry message asks for a restart, not a renewal in place (nothing looks at the files)', async () => {
    const { paths } = await setUp();
    const files = await readEtcdTlsFiles(paths);
    const notAfter = files.certExpiry?.notAfter ?? new Date();
    const later = new Date(notAfter.getTime() + 1000);
    for (const [tlsReloadMs, inPlace] of [
      [0, false],
      [5000, true],
    ] as const) {
      const gateway = new EtcdGateway({ url: parseEtcdStoreUrl('etcd://127.0.0.1:1/reload'), tls: files, tlsPaths: paths, tlsReloadMs });
      closers.push(() => gateway.close());
      const said = gateway.certificateExpired(later) ?? '';
      expect(said).toContain(`expired at ${notAfter.toISOString()}`);
      expect({ tlsReloadMs, inPlace: said.includes('taken without a restart'), restart: said.includes('restart this process') }).toEqual({
        tlsReloadMs,
        inPlace,
        restart: !inPlace,
      });
    }
  });
});
