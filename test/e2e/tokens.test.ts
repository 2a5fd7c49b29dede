import { createHash } from 'node:crypto';
import { chmod, chown, copyFile, cp, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { ROOT, spawnProcess, spawnStratctl, startTestServer } from '../helpers/server.js';
import { cliEnv, stratctl } from '../helpers/stratctl.js';

const ACTIVATE = 'mutation($key: String!) { activateStrategy(strategyKey: $key) { configVersion } }';

/** The built stratctl as a separate process: for what only separate processes show (the file lock between them). */
async function stratctlProcess(args: string[]) {
  const child = spawnStratctl(args);
  const code = await child.exited;
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

describe('stratctl token', () => {
  it('create prints the token once and stores only its digest (mode 0600); list shows names and scopes', async () => {
    const server = await startTestServer();
    const dir = server.runtimeDir;
    const created = await stratctl(['token', 'create', '--name', 'ci-deploy', '--scope', 'operate', '--runtime-dir', dir]);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(created.stderr).toContain('shown only this once');
    const file = path.join(dir, 'tokens.yaml');
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain(token);
    expect(text).toContain('name: ci-deploy');
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const listed = await stratctl(['token', 'list', '--runtime-dir', dir]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ci-deploy +operate +\d{4}-/m);
    expect(listed.stdout).not.toContain(token);

    const res = await server.gql(ACTIVATE, { key: 'gold' }, token);
    expect(res.status).toBe(200);
    const denied = await server.gql(
      'mutation { updateConfig(input: { scanIntervalSeconds: 5 }) { config { version } } }',
      undefined,
      token,
    );
    expect(denied.status).toBe(403);
    expect(denied.body.errors?.[0]).toMatchObject({ message: 'Forbidden: requires scope admin', extensions: { code: 'FORBIDDEN' } });
  });

  it('list: a header row, then a row per token, columns aligned as the other tables are; --json with expiresAt (null: never)', async () => {
    const dir = await tempRuntimeDir();
    for (const [name, scope] of [
      ['ci', 'operate'],
      ['nightly-report.bot', 'read'],
    ] as const)
      expect((await stratctl(['token', 'create', '--name', name, '--scope', scope, '--runtime-dir', dir])).code).toBe(0);
    const listed = await stratctl(['token', 'list', '--runtime-dir', dir]);
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^NAME +SCOPE +CREATED +EXPIRES$/);
    expect(lines[1]).toMatch(/^ci +operate +\d{4}-\d\d-\d\dT[\d:.]+Z +never$/);
    expect(lines[2]).toMatch(/^nightly-report\.bot +read +\d{4}-/);
    // Each column starts where its header does, on every row (two spaces after the widest cell).
    const starts = (line: string) => [0, ...[...line.matchAll(/ {2,}(?=\S)/g)].map((m) => (m.index ?? 0) + m[0].length)];
    expect(starts(lines[0] as string)).toEqual([
      0,
      'nightly-report.bot  '.length,
      'nightly-report.bot  operate  '.length,
      'nightly-report.bot  operate  2026-01-01T00:00:00.000Z  '.length,
    ]);
    for (const line of lines) expect(starts(line)).toEqual(starts(lines[0] as string));
    const json = await stratctl(['token', 'list', '--json', '--runtime-dir', dir]);
    expect(JSON.parse(json.stdout)).toEqual([
      { name: 'ci', scope: 'operate', createdAt: expect.stringMatching(/^\d{4}-/), expiresAt: null },
      { name: 'nightly-report.bot', scope: 'read', createdAt: expect.stringMatching(/^\d{4}-/), expiresAt: null },
    ]);
  });

  it('a revoked token is refused on the very next request, without a restart', async () => {
    const server = await startTestServer();
    const dir = server.runtimeDir;
    const token = (await stratctl(['token', 'create', '--name', 'desk', '--scope', 'read', '--runtime-dir', dir])).stdout.trim();
    const before = await server.gql('{ status { configVersion } }', undefined, token);
    expect(before.status).toBe(200);
    const revoked = await stratctl(['token', 'revoke', 'desk', '--runtime-dir', dir]);
    expect(revoked.code).toBe(0);
    const after = await server.gql('{ status { configVersion } }', undefined, token);
    expect(after.status).toBe(401);
    expect(after.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await stratctl(['token', 'revoke', 'desk', '--runtime-dir', dir])).code).toBe(2);
  });

  it('refuses bad input with exit 2: missing scope, unknown scope, reserved or duplicate name', async () => {
    const server = await startTestServer();
    const dir = server.runtimeDir;
    expect((await stratctl(['token', 'create', '--name', 'x', '--runtime-dir', dir])).code).toBe(2);
    expect((await stratctl(['token', 'create', '--name', 'x', '--scope', 'root', '--runtime-dir', dir])).code).toBe(2);
    // `etcd` too: the etcd store's hand edits are audited under it, and tokens move between stores.
    for (const name of ['admin', 'system', 'file', 'etcd', 'unknown']) {
      const reserved = await stratctl(['token', 'create', '--name', name, '--scope', 'read', '--runtime-dir', dir]);
      expect(reserved.code).toBe(2);
      expect(reserved.stderr).toContain('reserved');
    }
    // `admin.` reads as `admin` ending a sentence: refused for a new name.
    const dotted = await stratctl(['token', 'create', '--name', 'admin.', '--scope', 'read', '--runtime-dir', dir]);
    expect([dotted.code, dotted.stderr.split('\n')[0]]).toEqual([2, 'stratctl token create: token name "admin." must not end with a dot']);
    expect((await stratctl(['token', 'create', '--name', 'ops', '--scope', 'read', '--runtime-dir', dir])).code).toBe(0);
    const dup = await stratctl(['token', 'create', '--name', 'ops', '--scope', 'admin', '--runtime-dir', dir]);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain('exists');
  });

  it('concurrent writers: six simultaneous creates, from six processes, all land (the lock serializes them)', async () => {
    const server = await startTestServer();
    const dir = server.runtimeDir;
    const names = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
    const results = await Promise.all(
      names.map((n) => stratctlProcess(['token', 'create', '--name', n, '--scope', 'read', '--runtime-dir', dir])),
    );
    expect(results.map((r) => r.code)).toEqual(names.map(() => 0));
    const listed = await stratctl(['token', 'list', '--runtime-dir', dir]);
    expect(
      listed.stdout
        .split('\n')
        .filter(Boolean)
        .slice(1) // the header row
        .map((l) => l.split(/ +/)[0])
        .sort(),
    ).toEqual(names);
    for (const r of results) expect((await server.gql('{ status { configVersion } }', undefined, r.stdout.trim())).status).toBe(200);
  });
  it('rotate takes the same lock: a rotation among five simultaneous creates, each its own process, loses none of them', async () => {
    const server = await startTestServer();
    const dir = server.runtimeDir;
    const old = (await stratctl(['token', 'create', '--name', 'rot', '--scope', 'read', '--runtime-dir', dir])).stdout.trim();
    const names = ['b1', 'b2', 'b3', 'b4', 'b5'];
    const [rotated, ...created] = await Promise.all([
      stratctlProcess(['token', 'rotate', 'rot', '--runtime-dir', dir]),
      ...names.map((n) => stratctlProcess(['token', 'create', '--name', n, '--scope', 'read', '--runtime-dir', dir])),
    ]);
    expect([rotated, ...created].map((r) => r?.code)).toEqual([0, ...names.map(() => 0)]);
    const listed = JSON.parse((await stratctl(['token', 'list', '--json', '--runtime-dir', dir])).stdout) as { name: string }[];
    expect(listed.map((t) => t.name).sort()).toEqual(['rot', ...names].sort());
    expect((await server.gql('{ status { configVersion } }', undefined, old)).status).toBe(401);
    for (const r of [rotated, ...created])
      expect((await server.gql('{ status { configVersion } }', undefined, r?.stdout.trim())).status).toBe(200);
  });
});

describe('stratctl token run as root', () => {
  it.skipIf(process.getuid?.() !== 0)(
    "on a runtime directory the service's own user owns: acts as that user, so tokens.yaml is the service's (root's, mode 0600, locked every named token out)",
    async () => {
      const dir = await tempRuntimeDir();
      const service = 65534; // nobody: a service user that is not root
      await chown(dir, service, service);
      const created = await stratctlProcess(['token', 'create', '--name', 'svc', '--scope', 'read', '--runtime-dir', dir]);
      expect(created.code, created.stderr).toBe(0);
      expect(created.stderr).toContain(`running as the owner of ${dir} (uid ${service})`);
      const file = await stat(path.join(dir, 'tokens.yaml'));
      expect({ uid: file.uid, gid: file.gid, mode: file.mode & 0o777 }).toEqual({ uid: service, gid: service, mode: 0o600 });
      // And again, on the file the service owns: root was refused ("belongs to uid 65534").
      const listed = await stratctlProcess(['token', 'list', '--runtime-dir', dir]);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/^svc +read +/m);
    },
  );

  it.skipIf(process.getuid?.() !== 0)(
    'from a copy of stratctl only root may read (a checkout in /root, a 0700 home): token list reads tokens.yaml as the owner (its YAML thread could not be loaded then: a crash with a stack)',
    async () => {
      const dir = await tempRuntimeDir();
      await chown(dir, 65534, 65534);
      const copy = await mkdtemp(path.join(tmpdir(), 'scp-private-copy-'));
      onTestFinished(() => rm(copy, { recursive: true, force: true }));
      await chmod(copy, 0o700);
      await cp(path.join(ROOT, 'dist'), path.join(copy, 'dist'), { recursive: true, filter: (from) => !from.endsWith('.map') });
      await cp(path.join(ROOT, 'bin'), path.join(copy, 'bin'), { recursive: true });
      await copyFile(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
      await symlink(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
      const run = async (args: string[]) => {
        const child = spawnProcess(process.execPath, [path.join(copy, 'bin/stratctl.js'), ...args, '--runtime-dir', dir], {
          env: cliEnv(),
        });
        return { code: await child.exited, stdout: child.stdout(), stderr: child.stderr() };
      };
      const created = await run(['token', 'create', '--name', 'svc', '--scope', 'read']);
      expect(created.code, created.stderr).toBe(0);
      const listed = await run(['token', 'list']);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/^svc +read +/m);
    },
  );

  it.skipIf(process.getuid?.() !== 0)(
    'on a directory whose owner cannot reach it (a directory above it only root may enter): exit 1 saying so, nothing written (a crash with a stack)',
    async () => {
      const parent = await tempRuntimeDir();
      await chmod(parent, 0o700);
      const dir = path.join(parent, 'runtime');
      await mkdir(dir);
      await chown(dir, 65534, 65534);
      const created = await stratctlProcess(['token', 'create', '--name', 'svc', '--scope', 'read', '--runtime-dir', dir]);
      expect(created.code, created.stderr).toBe(1);
      expect(created.stderr).toMatch(
        /stratctl token create: .*: permission denied \(EACCES\) to uid 65534: the runtime directory and each directory above it must be reachable/,
      );
      expect(created.stderr).not.toMatch(/unexpected error|\n\s+at /);
      expect(created.stdout).toBe('');
    },
  );
});

describe('tokens.yaml', () => {
  it('an invalid tokens.yaml refuses every named token (fail closed) while the admin token still works', async () => {
    const server = await startTestServer();
    const token = (
      await stratctl(['token', 'create', '--name', 'ops', '--scope', 'admin', '--runtime-dir', server.runtimeDir])
    ).stdout.trim();
    expect((await server.gql('{ status { configVersion } }', undefined, token)).status).toBe(200);
    await writeFile(path.join(server.runtimeDir, 'tokens.yaml'), 'tokens:\n  - name: ops\n    scope: superuser\n');
    expect((await server.gql('{ status { configVersion } }', undefined, token)).status).toBe(401);
    expect((await server.gql('{ status { configVersion } }')).status).toBe(200);
    const list = await stratctl(['token', 'list', '--runtime-dir', server.runtimeDir]);
    expect(list.code).toBe(2);
    expect(list.stderr).toContain('tokens.0.scope');
  });

  it('a hand-written entry with a reserved name (system) is refused, that entry alone: never an audit actor; the others stay accepted; revoke removes it', async () => {
    const server = await startTestServer();
    const dir = server.runtimeDir;
    const file = path.join(dir, 'tokens.yaml');
    const ops = (await stratctl(['token', 'create', '--name', 'ops', '--scope', 'admin', '--runtime-dir', dir])).stdout.trim();
    const good = await readFile(file, 'utf8');
    const system = 'system-token-0123456789abcdefghijkl';
    const digest = createHash('sha256').update(system).digest('hex');
    await writeFile(file, `${good}  - name: system\n    scope: admin\n    sha256: ${digest}\n    created_at: "2026-01-01T00:00:00Z"\n`, {
      mode: 0o600,
    });
    // That token is refused; the file's others are not (a token named etcd, allowed before 2026-11-29,
    // took every named token with it when the whole file was refused).
    await expect.poll(async () => (await server.gql(ACTIVATE, { key: 'gold' }, system)).status, { timeout: 5_000 }).toBe(401);
    expect((await server.gql(ACTIVATE, { key: 'range' }, ops)).status).toBe(200);
    const ready = (await (await fetch(new URL('/ready', server.url))).json()) as { warnings?: string[] };
    expect(ready.warnings).toEqual([
      'tokens.yaml holds a token with a reserved name (system): refused whatever the secret; "stratctl token revoke <name>" removes it',
    ]);
    expect(
      (await readFile(path.join(dir, 'audit.log'), 'utf8'))
        .split('\n')
        .filter((l) => l.includes('"actor":"system"') && l.includes('activateStrategy')),
    ).toEqual([]);
    const list = await stratctl(['token', 'list', '--runtime-dir', dir]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^system\s+admin/m);
    expect(list.stderr).toContain('token "system" has a reserved name: the server refuses it; "stratctl token revoke system" removes it');
    const rotate = await stratctl(['token', 'rotate', 'system', '--runtime-dir', dir]);
    expect([rotate.code, rotate.stdout]).toEqual([2, '']);
    expect(rotate.stderr).toContain('has a reserved name');
    const revoke = await stratctl(['token', 'revoke', 'system', '--runtime-dir', dir]);
    expect(revoke.code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(good);
    await expect
      .poll(async () => ((await (await fetch(new URL('/ready', server.url))).json()) as { warnings?: string[] }).warnings ?? [], {
        timeout: 5_000,
      })
      .toEqual([]);
  });

  it('/ready says what tokens.yaml is now, at the first probe after it changed: invalid, deleted, invalid again, fixed', async () => {
    const server = await startTestServer();
    const file = path.join(server.runtimeDir, 'tokens.yaml');
    // No named token is presented meanwhile: only the probes look at the file (a load balancer polling /ready).
    const warnings = async () => {
      const res = await fetch(new URL('/ready', server.url));
      expect(res.status).toBe(200);
      return ((await res.json()) as { warnings?: string[] }).warnings ?? [];
    };
    expect(await warnings()).toEqual([]);
    await writeFile(file, 'tokens:\n  - name: ops\n    scope: superuser\n');
    expect(await warnings()).toEqual([
      expect.stringMatching(/^named tokens are refused until tokens\.yaml is fixed: tokens\.yaml: .*tokens\.0\.scope/),
    ]);
    // /ready needs no token: it names the file, never the runtime directory's path.
    expect((await warnings()).join('\n')).not.toContain(server.runtimeDir);
    // An answer as of the probe before: a poller every 75 s saw the warning for 75 s after the file was deleted.
    await rm(file);
    expect(await warnings()).toEqual([]);
    await writeFile(file, 'tokens: [');
    expect(await warnings()).toEqual([
      expect.stringMatching(/^named tokens are refused until tokens\.yaml is fixed: tokens\.yaml: line \d+/),
    ]);
    await writeFile(file, 'tokens: []\n');
    expect(await warnings()).toEqual([]);
  });
});
