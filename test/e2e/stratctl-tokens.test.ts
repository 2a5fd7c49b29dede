import { execFile } from 'node:child_process';
import { chmod, mkdir, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ADMIN_PROOF_CHALLENGE_HEADER,
  ADMIN_PROOF_HEADER,
  adminProofKey,
  adminTokenProof,
  newAdminProofSalt,
} from '../../src/auth/admin-proof.js';
import { isLoopbackUrl } from '../../src/client/loopback.js';
import { ownNonLoopbackAddress, recordingListener } from '../helpers/recording-listener.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { startTestServer, TEST_TOKEN } from '../helpers/server.js';
import { stratctl } from '../helpers/stratctl.js';

const mkfifo = (file: string) =>
  new Promise<void>((resolve, reject) => execFile('mkfifo', [file], (err) => (err ? reject(err) : resolve())));

const ADMIN = 'runtime-dir-admin-token-0123456789';

/** A checkout's runtime dir with an admin token in it (the one stratctl would pick up). */
async function runtimeWithAdminToken(token = ADMIN): Promise<string> {
  const dir = await tempRuntimeDir();
  await writeFile(path.join(dir, 'admin.token'), `${token}\n`, { mode: 0o600 });
  return dir;
}

describe('loopback, as DESIGN defines it for the token rule', () => {
  it.each([
    ['http://localhost:8787/graphql', true],
    ['http://LOCALHOST/graphql', true],
    ['http://127.0.0.1:8787/graphql', true],
    ['http://127.8.9.10/graphql', true],
    ['http://127.1/graphql', true],
    ['http://[::1]:8787/graphql', true],
    ['http://0.0.0.0:8787/graphql', false],
    ['http://192.0.2.10:8787/graphql', false],
    ['https://control-plane.example/graphql', false],
    ['http://localhost.example/graphql', false],
    ['http://[::ffff:127.0.0.1]/graphql', false],
    ['http://128.0.0.1/graphql', false],
  ])('%s -> %s', (url, loopback) => {
    expect(isLoopbackUrl(url)).toBe(loopback);
  });
});

describe("stratctl never sends the runtime dir's admin token off this machine", { timeout: 30_000 }, () => {
  const targets: { name: string; bind: string; nameAs?: string }[] = [
    // 0.0.0.0 names no machine (DESIGN: not loopback); Linux connects it to this one.
    { name: '0.0.0.0', bind: '127.0.0.1', nameAs: '0.0.0.0' },
  ];
  const own = ownNonLoopbackAddress();
  if (own) targets.push({ name: `this machine's own address ${own}`, bind: own });
  else console.warn('stratctl-tokens: no non-loopback IPv4 address on this machine; testing 0.0.0.0 only');

  for (const target of targets) {
    it(`to ${target.name}: a mutation and a read go without Authorization, and one line says so`, async () => {
      const listener = await recordingListener(target.bind, { nameAs: target.nameAs });
      const env = { CONTROL_PLANE_URL: `${listener.origin}/graphql`, CONTROL_PLANE_RUNTIME_DIR: await runtimeWithAdminToken() };
      const activate = await stratctl(['activate', 'gold'], env);
      expect(activate.code).toBe(3);
      const notices = activate.stderr.split('\n').filter((l) => l.includes('not sending the admin token'));
      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatch(
        /^stratctl: not sending the admin token from .*admin\.token to .*, which is not a loopback address; pass --token/,
      );
      const status = await stratctl(['status', '--json'], env);
      expect(status.code).toBe(3);
      expect(JSON.parse(status.stdout)).toEqual({ error: { code: 'UNAUTHENTICATED', message: 'Authentication required' } });
      expect(listener.seen.length).toBeGreaterThanOrEqual(2);
      expect(listener.seen.map((r) => r.authorization)).toEqual(listener.seen.map(() => undefined));
      expect(listener.seen.map((r) => r.body).join('\n')).toContain('activateStrategy');
    });
  }

  it('--token and CONTROL_PLANE_TOKEN are sent as given, to any URL', async () => {
    const listener = await recordingListener('127.0.0.1', { nameAs: '0.0.0.0' });
    const url = `${listener.origin}/graphql`;
    await stratctl(['activate', 'gold', '--url', url, '--token', 'given-on-the-command-line-0123']);
    await stratctl(['activate', 'gold'], { CONTROL_PLANE_URL: url, CONTROL_PLANE_TOKEN: 'given-in-the-environment-0123' });
    expect(listener.seen.map((r) => r.authorization)).toEqual([
      'Bearer given-on-the-command-line-0123',
      'Bearer given-in-the-environment-0123',
    ]);
  });
});

describe('stratctl sends a token only when the operation needs one', { timeout: 30_000 }, () => {
  it("reads go without a token: another server's admin.token in the checkout does not fail them (nor count as failures)", async () => {
    const server = await startTestServer({ security: { authFailures: { failuresPerMinute: 1 } } });
    const env = {
      CONTROL_PLANE_URL: server.url,
      CONTROL_PLANE_RUNTIME_DIR: await runtimeWithAdminToken('another-servers-token-0123456789'),
    };
    for (const args of [['status'], ['strategies'], ['config', 'get'], ['history'], ['audit']]) {
      const read = await stratctl(args, env);
      expect(read.code, `${args.join(' ')}: ${read.stderr}`).toBe(0);
    }
    // The mutation needs the token: that one is sent, and refused.
    expect((await stratctl(['activate', 'gold'], env)).code).toBe(3);
    expect(server.store.state().config.config.activeStrategyKey).toBe('momentum');
  });

  it('a token the user gave (--token, CONTROL_PLANE_TOKEN) goes with reads too: audit --last over 100 needs one', async () => {
    const server = await startTestServer();
    const recorder = await recordingListener('127.0.0.1', { forwardTo: server.origin });
    const env = { CONTROL_PLANE_URL: `${recorder.origin}/graphql`, CONTROL_PLANE_RUNTIME_DIR: await tempRuntimeDir() };
    // Without a token the server caps `last` at 100: the help's "1 to 1000" holds only with one.
    const anonymous = await stratctl(['audit', '--last', '101'], env);
    expect(anonymous.code).toBe(2);
    // The server's "1000 with a token" is more than stratctl audit asks for: the hint points at --help, not at 1000.
    expect(anonymous.stderr).toContain('Invalid last: at most 100 (1000 with a token), got 101');
    expect(anonymous.stderr).toContain('pass a token (--token or CONTROL_PLANE_TOKEN) for more, up to the most --help gives');
    const beyond = await stratctl(['audit', '--last', '1000', '--token', TEST_TOKEN], env);
    expect(beyond.code).toBe(2);
    expect(beyond.stderr).toContain('--last must be 1 to 800');
    const [flag, environment] = await Promise.all([
      stratctl(['audit', '--last', '500', '--token', TEST_TOKEN], env),
      stratctl(['audit', '--last', '101', '--json'], { ...env, CONTROL_PLANE_TOKEN: TEST_TOKEN }),
    ]);
    expect(flag.code, flag.stderr).toBe(0);
    expect(environment.code, environment.stderr).toBe(0);
    expect(JSON.parse(environment.stdout)).toEqual(expect.any(Array));
    expect(recorder.seen.map((r) => r.authorization)).toEqual([undefined, `Bearer ${TEST_TOKEN}`, `Bearer ${TEST_TOKEN}`]);
    // A stale token fails loudly on a read too (exit 3), as the README's Errors section says.
    const stale = await stratctl(['status', '--token', 'not-the-token-0123456789'], env);
    expect(stale.code).toBe(3);
    expect(stale.stderr).toContain('Authentication required');
  });

  // README: the runtime dir's admin.token is used "when readable". A directory in its place is
  // unreadable for root too; a 0600 file of another user (here: mode 000) only when not root. A FIFO
  // (which hung every command) and an endless file (/dev/zero, read until it took gigabytes) are
  // not read at all: every command reads admin.token before its first request, reads too.
  const unreadable: [string, (file: string) => Promise<void>, RegExp][] = [
    ['a directory named admin.token', (file) => mkdir(file), /it is a directory, not a file/],
    ['a named pipe (FIFO) named admin.token', (file) => mkfifo(file), /it is a named pipe \(FIFO\), not a file/],
    ['admin.token a link to /dev/zero', (file) => symlink('/dev/zero', file), /it is a character device, not a file/],
    [
      'an admin.token of 20000 bytes',
      (file) => writeFile(file, 'x'.repeat(20_000)),
      /it is 20000 bytes, more than a token can be \(at most 16384\)/,
    ],
  ];
  if (process.getuid?.() !== 0)
    unreadable.push([
      'an admin.token this user may not read',
      async (file) => {
        await writeFile(file, `${TEST_TOKEN}\n`);
        await chmod(file, 0o000);
      },
      /EACCES/,
    ]);
  it.each(unreadable)('%s: reads go on without it; a write says no token could be read, and why', async (_what, make, why) => {
    const server = await startTestServer();
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'admin.token');
    await make(file);
    const env = { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_RUNTIME_DIR: dir };
    for (const args of [['status'], ['strategies'], ['config', 'get'], ['history'], ['audit']]) {
      const read = await stratctl(args, env);
      expect(read.code, `${args.join(' ')}: ${read.stderr}`).toBe(0);
      expect(read.stderr).toBe('');
    }
    const write = await stratctl(['activate', 'gold'], env);
    expect(write.code).toBe(3);
    const notice = write.stderr.split('\n').filter((l) => l.includes('no token sent'));
    expect(notice).toHaveLength(1);
    expect(notice[0]).toMatch(new RegExp(`^stratctl: no token sent: cannot read the token file ${file} \\(`));
    expect(notice[0]).toMatch(why);
    expect(write.stderr).toContain('Authentication required');
    expect(server.store.state().config.config.activeStrategyKey).toBe('momentum');
  });

  it('an empty admin.token: a write says the file is empty, not that there is none', async () => {
    const server = await startTestServer();
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'admin.token');
    await writeFile(file, '\n');
    const env = { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_RUNTIME_DIR: dir };
    const read = await stratctl(['status'], env);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stderr).toBe('');
    const write = await stratctl(['activate', 'gold'], env);
    expect(write.code).toBe(3);
    expect(write.stderr).toContain(`stratctl: no token sent: the token file ${file} is empty; pass --token or set CONTROL_PLANE_TOKEN`);
    expect(write.stderr).toContain(`Token used: none (the token file ${file} is empty).`);
    expect(write.stderr).not.toContain(`no ${file}`);
  });

  it('an admin.token held back (the server did not prove it holds it): the hint says so, not "Token used: <file>"', async () => {
    const server = await startTestServer();
    const dir = await runtimeWithAdminToken('a-stale-admin-token-0123456789');
    const file = path.join(dir, 'admin.token');
    const write = await stratctl(['activate', 'gold'], { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_RUNTIME_DIR: dir });
    expect(write.code).toBe(3);
    expect(write.stderr).toContain(
      `Token used: none (the admin token from ${file} was held back: the server did not prove that it holds it).`,
    );
    expect(write.stderr).not.toContain(`Token used: ${file}`);
    expect(server.store.state().config.config.activeStrategyKey).toBe('momentum');
  });

  it('an admin.token proved and sent, then refused (401): the hint names the file it came from, not "held back"', async () => {
    // A server that proves it holds the runtime dir's admin token, as the real one does, then refuses
    // it (a token revoked between the two: what the operator must then look at is that file).
    const dir = await runtimeWithAdminToken('an-admin-token-proved-then-refused-0123');
    const file = path.join(dir, 'admin.token');
    const salt = newAdminProofSalt();
    const key = await adminProofKey('an-admin-token-proved-then-refused-0123', salt);
    const sent: (string | undefined)[] = [];
    const fake = createServer((req, res) => {
      if (req.url === '/health') {
        const challenge = String(req.headers[ADMIN_PROOF_CHALLENGE_HEADER]);
        const proof = adminTokenProof(key, salt, challenge, req.socket.localAddress ?? '', req.socket.localPort ?? 0);
        res.writeHead(200, { 'content-type': 'application/json', [ADMIN_PROOF_HEADER]: proof });
        res.end('{"status":"ok"}');
        return;
      }
      sent.push(req.headers.authorization);
      req.resume().on('end', () => {
        res.writeHead(401, { 'content-type': 'application/graphql-response+json', 'www-authenticate': 'Bearer realm="control-plane"' });
        res.end(JSON.stringify({ errors: [{ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } }] }));
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = fake.address() as AddressInfo;
      const write = await stratctl(['activate', 'gold'], {
        CONTROL_PLANE_URL: `http://127.0.0.1:${port}/graphql`,
        CONTROL_PLANE_RUNTIME_DIR: dir,
      });
      expect(sent).toEqual(['Bearer an-admin-token-proved-then-refused-0123']);
      expect(write.code).toBe(3);
      expect(write.stderr).toContain(`Token used: ${file}.`);
      expect(write.stderr).not.toContain('held back');
    } finally {
      await new Promise((resolve) => fake.close(resolve));
    }
  });

  it('where reads require a token: the first read goes without, gets 401, and is sent again with it; later reads carry it', async () => {
    const server = await startTestServer({ readsRequireToken: true, adminTokenFile: true });
    const env = { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_RUNTIME_DIR: await runtimeWithAdminToken(TEST_TOKEN) };
    const status = await stratctl(['status'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^active strategy:\s+momentum$/m);
    // Counted by the server: the read without the token (401), the proof asked of /health once, the read with it.
    expect(await requestCounts(server.origin)).toEqual({ 'POST /graphql 401': 1, 'POST /graphql 200': 1, 'GET /health 200': 1 });

    const activate = await stratctl(['activate', 'gold'], env);
    expect(activate.code, activate.stderr).toBe(0);
    expect(await requestCounts(server.origin)).toEqual({ 'POST /graphql 401': 1, 'POST /graphql 200': 2, 'GET /health 200': 2 });

    // Without any token the read fails as before: exit 3, and the message says what to pass.
    const none = await stratctl(['status'], { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_RUNTIME_DIR: await tempRuntimeDir() });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('Pass --token');
  });
});

/** The server's own count of the requests it answered (control_plane_http_requests_total), as "METHOD route status": n. */
async function requestCounts(origin: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).text();
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^control_plane_http_requests_total\{(.*)\} (\d+)$/);
    if (!m?.[1] || m[2] === '0') continue;
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]));
    if (labels.route === '/metrics') continue;
    counts[`${labels.method} ${labels.route} ${labels.status}`] = Number(m[2]);
  }
  return counts;
}

describe("the runtime dir's admin token goes only to a server that proves it holds it", { timeout: 30_000 }, () => {
  const notices = (stderr: string) => stderr.split('\n').filter((l) => l.includes('not sending the admin token'));

  it('another program on the loopback port (the server was down): nothing of the token reaches it', async () => {
    const squatter = await recordingListener('127.0.0.1');
    const dir = await runtimeWithAdminToken();
    const env = { CONTROL_PLANE_URL: `${squatter.origin}/graphql`, CONTROL_PLANE_RUNTIME_DIR: dir };
    const activate = await stratctl(['activate', 'gold'], env);
    expect(squatter.seen.map((r) => `${r.method} ${r.url} ${r.authorization}`)).toEqual([
      'GET /health undefined',
      'POST /graphql undefined',
    ]);
    expect(activate.code).toBe(3);
    expect(notices(activate.stderr)).toEqual([
      `stratctl: not sending the admin token from ${path.join(dir, 'admin.token')} to ${new URL(squatter.origin).host}: the server there did not prove that it holds this token (another program on that address and port, a server started with another admin token or with CONTROL_PLANE_TOKEN, or a proxy in between); pass --token or set CONTROL_PLANE_TOKEN to send one`,
    ]);
    expect(squatter.seen.map((r) => r.body).join('')).not.toContain(ADMIN);
  });

  it('one that answers with a made-up proof, or passes the challenge on to the real server, gets no token either', async () => {
    const server = await startTestServer({ readsRequireToken: true, adminTokenFile: true });
    const dir = await runtimeWithAdminToken(TEST_TOKEN);
    const forger = await recordingListener('127.0.0.1', {
      answer: { status: 200, headers: { 'x-admin-token-proof': `${'cd'.repeat(16)}.${'ab'.repeat(32)}` }, body: { status: 'ok' } },
    });
    const forged = await stratctl(['activate', 'gold'], { CONTROL_PLANE_URL: `${forger.origin}/graphql`, CONTROL_PLANE_RUNTIME_DIR: dir });
    expect(forged.code).toBe(1); // its 200 without data is no answer stratctl knows
    expect(notices(forged.stderr)).toHaveLength(1);
    expect(forger.seen.map((r) => r.authorization)).toEqual([undefined, undefined]);

    // A relay: the real server's proof is for its own port, not the relay's.
    const relay = await recordingListener('127.0.0.1', { forwardTo: server.origin });
    const env = { CONTROL_PLANE_URL: `${relay.origin}/graphql`, CONTROL_PLANE_RUNTIME_DIR: dir };
    for (const args of [['activate', 'gold'], ['status']]) {
      const refused = await stratctl(args, env);
      expect(refused.code, args.join(' ')).toBe(3);
      expect(notices(refused.stderr), args.join(' ')).toHaveLength(1);
    }
    expect(relay.seen.map((r) => `${r.method} ${r.url} ${r.authorization}`)).toEqual([
      'GET /health undefined',
      'POST /graphql undefined',
      'POST /graphql undefined',
      'GET /health undefined',
    ]);
    expect(server.store.state().config.config.activeStrategyKey).toBe('momentum');
  });

  it("a server started with another admin token than the runtime dir's: held back, not sent and counted as a failure", async () => {
    const server = await startTestServer({ security: { authFailures: { failuresPerMinute: 1 } }, adminTokenFile: true });
    const env = { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_RUNTIME_DIR: await runtimeWithAdminToken('a-stale-admin-token-0123456789') };
    for (let i = 0; i < 3; i++) {
      const activate = await stratctl(['activate', 'gold'], env);
      expect(activate.code).toBe(3);
      expect(notices(activate.stderr)).toHaveLength(1);
      expect(activate.stderr).toContain('Authentication required');
    }
    // Never sent, so never counted: the limit (1 a minute) did not lock this client out.
    const given = await stratctl(['activate', 'gold', '--token', TEST_TOKEN], env);
    expect(given.code, given.stderr).toBe(0);
    expect(server.store.state().config.config.activeStrategyKey).toBe('gold');
  });

  it('a server that cannot be reached for the proof is "cannot reach" (exit 5), and nothing was sent', async () => {
    const squatter = await recordingListener('127.0.0.1');
    const url = `${squatter.origin}/graphql`;
    await squatter.close();
    const activate = await stratctl(['activate', 'gold'], {
      CONTROL_PLANE_URL: url,
      CONTROL_PLANE_RUNTIME_DIR: await runtimeWithAdminToken(),
    });
    expect(activate.code).toBe(5);
    expect(activate.stderr).toContain(`cannot reach ${url} (ECONNREFUSED)`);
    expect(activate.stderr).not.toContain('may or may not');
  });
});

describe('stratctl token on a runtime dir it cannot use says so (exploratory testing, stop 27)', { timeout: 30_000 }, () => {
  it('a mistyped --runtime-dir: exit 2 naming it, and no directory or token is made', async () => {
    const missing = path.join(await tempRuntimeDir(), 'runtiem');
    const created = await stratctl(['token', 'create', '--name', 'ci', '--scope', 'read', '--runtime-dir', missing]);
    expect(created.code).toBe(2);
    expect(created.stdout).toBe('');
    expect(created.stderr).toContain(`${missing} is not a runtime directory (no such directory)`);
    await expect(stat(missing)).rejects.toMatchObject({ code: 'ENOENT' });
    const listed = await stratctl(['token', 'list', '--runtime-dir', missing]);
    expect(listed.code).toBe(2);
    expect(listed.stderr).toContain('is not a runtime directory');
    // A file given as the directory is named as one ("no such directory" sent the reader looking for a typo).
    const file = path.join(await tempRuntimeDir(), 'candles.csv');
    await writeFile(file, 'time,instrument,open,high,low,close\n');
    const onFile = await stratctl(['token', 'list', '--runtime-dir', file]);
    expect(onFile.code).toBe(2);
    expect(onFile.stderr).toContain(`${file} is not a runtime directory (it is a file, not a directory)`);
  });

  it('a tokens.yaml anyone may write: exit 2 with the fix in one line, no stack', async () => {
    const dir = await tempRuntimeDir();
    expect((await stratctl(['token', 'create', '--name', 'ci', '--scope', 'read', '--runtime-dir', dir])).code).toBe(0);
    await chmod(path.join(dir, 'tokens.yaml'), 0o666);
    const listed = await stratctl(['token', 'list', '--runtime-dir', dir]);
    expect(listed.code).toBe(2);
    // Named as the command's other messages name it (`stratctl token list: ...`), not by its group.
    expect(listed.stderr.trim()).toBe('stratctl token list: tokens.yaml is group- or world-writable (mode 0666); chmod go-w it');
    const [again, unknown, badScope] = await Promise.all([
      stratctl(['token', 'create', '--name', 'ci', '--scope', 'read', '--runtime-dir', dir]),
      stratctl(['token', 'revoke', 'nope', '--runtime-dir', dir]),
      stratctl(['token', 'create', '--name', 'x', '--scope', 'root', '--runtime-dir', dir]),
    ]);
    expect(again.stderr).toMatch(/^stratctl token create: /);
    expect(unknown.stderr).toMatch(/^stratctl token revoke: /);
    expect(badScope.stderr).toMatch(/^stratctl token create: --scope must be read, operate or admin, not "root"\n/);
  });
});
