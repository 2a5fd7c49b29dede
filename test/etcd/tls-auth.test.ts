import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Etcd3, Range } from 'etcd3';
import { afterEach, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/config/errors.js';
import type { StoreEvent } from '../../src/config/store.js';
import { describeWithEtcd, makeTlsFiles, startEtcd } from '../helpers/etcd.js';
import { freshPrefix, openReplica, setScanInterval } from '../helpers/etcd-stores.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnStratctl } from '../helpers/server.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describeWithEtcd('etcd store over TLS with client certificates and etcd users', () => {
  it('connects with --etcd-ca/--etcd-cert/--etcd-key and a user limited to its prefix; refuses clearly otherwise', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'scp-tls-'));
    dirs.push(dir);
    const tls = await makeTlsFiles(dir);
    const cluster = await startEtcd({ tls });
    const prefix = freshPrefix();
    const files = { caFile: tls.caFile, certFile: tls.clientCertFile, keyFile: tls.clientKeyFile };

    /** A plain etcd client over TLS with this test's client certificate (what etcdctl would be). */
    const tlsClient = async (auth?: { username: string; password: string }) =>
      new Etcd3({
        hosts: cluster.hosts.map((h) => `https://${h}`),
        credentials: {
          rootCertificate: await readFile(tls.caFile),
          certChain: await readFile(tls.clientCertFile),
          privateKey: await readFile(tls.clientKeyFile),
        },
        ...(auth && { auth }),
      });
    // What an operator does once: a root user, a user for the control plane with its prefix only, auth on.
    const admin = await tlsClient();
    try {
      await admin.user('root').create('root-password');
      await admin.user('root').addRole('root');
      await admin.role('scp').create();
      await admin.role('scp').grant({ permission: 'Readwrite', range: Range.prefix(`/${prefix}/`) });
      await admin.user('scp').create('scp-password');
      await admin.user('scp').addRole('scp');
      // A likely slip: a role with Read where Readwrite was meant.
      await admin.role('scp-ro').create();
      await admin.role('scp-ro').grant({ permission: 'Read', range: Range.prefix(`/${prefix}/`) });
      await admin.user('ro').create('ro-password');
      await admin.user('ro').addRole('scp-ro');
      await admin.auth.authEnable();
    } finally {
      admin.close();
    }

    const a = await openReplica(cluster, prefix, { tls: files, auth: { username: 'scp', password: 'scp-password' } });
    await a.config.start();
    expect((await a.config.commit(setScanInterval(33))).changed).toBe(true);
    const token = await a.tokens.create('tls-bot', 'read');
    expect(token.length).toBeGreaterThan(20);

    // A wrong password and a user without rights on the prefix: etcd's refusals, named as such (not "unavailable, try later").
    const wrongPassword = await openReplica(cluster, prefix, { tls: files, auth: { username: 'scp', password: 'wrong' } }).catch(
      (err: unknown) => err,
    );
    // The replica cannot use its store: unavailable (503, /ready 503), in words that say why.
    expect(wrongPassword).toBeInstanceOf(StoreUnavailableError);
    expect((wrongPassword as StoreUnavailableError).detail).toMatch(
      /etcd refused this process's credentials or rights: .*authentication failed/i,
    );
    const noRights = await openReplica(cluster, 'elsewhere', { tls: files, auth: { username: 'scp', password: 'scp-password' } }).catch(
      (err: unknown) => err,
    );
    expect(noRights).toBeInstanceOf(StoreUnavailableError);
    expect((noRights as StoreUnavailableError).detail).toMatch(/etcd refused this process's credentials or rights: .*permission denied/i);
    const tlsFlags = ['--etcd-ca', tls.caFile, '--etcd-cert', tls.clientCertFile, '--etcd-key', tls.clientKeyFile];
    /** `stratctl serve` on the prefix over TLS, as `user`. */
    const serveAs = async (user: string, password: string, env: Record<string, string> = {}) =>
      spawnStratctl(['serve', '--port', '0', '--runtime-dir', await tempRuntimeDir(), '--store', cluster.url(prefix), ...tlsFlags], {
        CONTROL_PLANE_TOKEN: 'a-token-long-enough-for-the-server',
        CONTROL_PLANE_ETCD_USER: user,
        CONTROL_PLANE_ETCD_PASSWORD: password,
        ...env,
      });
    // serve with the wrong password: exit 2 (a setting; a service manager does not restart on it), saying what to check.
    const serve = await serveAs('scp', 'wrong');
    expect(await serve.exited).toBe(2);
    expect(serve.stderr()).toMatch(/cannot start: etcd refused the request \(.*authentication failed.*\); check CONTROL_PLANE_ETCD_USER/);
    expect(serve.stderr()).not.toMatch(/unavailable|try again/i);
    // Under --log-format json every line is JSON, Node's own warnings included (grpc-js's DEP0123 for
    // a member named by its IP over TLS came as plain text).
    const json = await serveAs('scp', 'wrong', { CONTROL_PLANE_LOG_FORMAT: 'json' });
    expect(await json.exited).toBe(2);
    const lines = json.stderr().trim().split('\n');
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(lines.map((l) => JSON.parse(l).warning?.code).filter(Boolean)).toEqual(['DEP0123']);
    // A read-only role: serve refuses at its first write (registering the replica), exit 2, saying so;
    // it started, then answered every change "unavailable, try later", its /ready flapping.
    const readOnly = await serveAs('ro', 'ro-password');
    expect(await readOnly.exited).toBe(2);
    expect(readOnly.stderr()).toMatch(
      /cannot start: etcd refused the request \(register API replica on .* failed \(etcd refused this process's credentials or rights: .*permission denied.*\)\); check CONTROL_PLANE_ETCD_USER/,
    );
    // stratctl token and store migrate: the same refusal is a setting (exit 2), not "try again later" (7).
    for (const [args, user, password] of [
      [['token', 'list'], 'scp', 'wrong'],
      [['token', 'create', '--name', 'x', '--scope', 'read'], 'ro', 'ro-password'],
      [['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${path.join(dir, 'copy')}`], 'scp', 'wrong'],
    ] as const) {
      const command = spawnStratctl([...args, ...(args[0] === 'token' ? ['--store', cluster.url(prefix)] : []), ...tlsFlags], {
        CONTROL_PLANE_ETCD_USER: user,
        CONTROL_PLANE_ETCD_PASSWORD: password,
      });
      expect(await command.exited, args.join(' ')).toBe(2);
      expect(command.stderr(), args.join(' ')).toMatch(
        /etcd refused the request \(.*(authentication failed|permission denied).*\); check CONTROL_PLANE_ETCD_USER/,
      );
      expect(command.stderr(), args.join(' ')).not.toMatch(/try again/);
      // Node's notice about the member's IP as the TLS server name is not shown (serve and runner log it).
      expect(command.stderr(), args.join(' ')).not.toContain('DEP0123');
    }
    // The password rotated under the running replica (as root): its writes are unavailable (the API's
    // 503, not a 500 that left it ready), and it counts as disconnected (/ready 503) until restarted with it.
    const root = await tlsClient({ username: 'root', password: 'root-password' });
    try {
      await root.user('scp').setPassword('rotated-password');
    } finally {
      root.close();
    }
    const events: StoreEvent[] = [];
    a.config.subscribe((event) => events.push(event));
    const rotated = await a.config.commit(setScanInterval(34)).catch((err: unknown) => err);
    expect(rotated).toBeInstanceOf(StoreUnavailableError);
    expect((rotated as StoreUnavailableError).detail).toMatch(/etcd refused this process's credentials or rights/);
    expect(a.config.info().connected).toBe(false);
    // The loss says why, so the log names a refusal, not "unreachable" (a network to look at).
    expect(events.filter((e) => e.type === 'connection')).toEqual([
      {
        type: 'connection',
        connected: false,
        failure: { accessRefused: true, detail: expect.stringMatching(/etcd refused this process's credentials or rights/) },
      },
    ]);
    // Plain gRPC to a TLS member does not connect.
    const plain = await openReplica(cluster, prefix, { auth: { username: 'scp', password: 'scp-password' }, callTimeoutMs: 500 }).catch(
      (err: unknown) => err,
    );
    expect(plain).toBeInstanceOf(StoreUnavailableError);
    expect((plain as StoreUnavailableError).detail).toContain('a firewall, or members that speak only TLS (then give --etcd-ca))');
    // A CA that is not the members' (a valid file, so not refused before dialling): the members look
    // like ones that do not answer, and with TLS on the message says TLS may be why.
    const otherDir = path.join(dir, 'other');
    await mkdir(otherDir);
    const other = await makeTlsFiles(otherDir);
    const wrongCa = await openReplica(cluster, prefix, {
      tls: { ...files, caFile: other.caFile },
      auth: { username: 'scp', password: 'scp-password' },
      callTimeoutMs: 500,
    }).catch((err: unknown) => err);
    expect(wrongCa).toBeInstanceOf(StoreUnavailableError);
    expect((wrongCa as StoreUnavailableError).detail).toContain(
      'a firewall, or TLS: the members refused this client certificate (--etcd-cert), --etcd-ca is not the CA of theirs, or their certificate does not name the host --store gives (its subject alternative names))',
    );
    await expect(openReplica(cluster, prefix, { tls: { ...files, caFile: path.join(dir, 'missing.crt') } })).rejects.toThrow(
      /--etcd-ca .*missing\.crt: ENOENT/,
    );
    await expect(openReplica(cluster, prefix, { tls: { caFile: tls.caFile, certFile: tls.clientCertFile } })).rejects.toThrow(
      /--etcd-cert and --etcd-key go together/,
    );
  });
});
