import { expect, it } from 'vitest';
import { describeWithEtcd, freePort, startEtcd } from '../helpers/etcd.js';
import { freshPrefix, keysUnder, rawClient } from '../helpers/etcd-stores.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, spawnStratctl, TEST_TOKEN } from '../helpers/server.js';

async function stratctl(args: string[]) {
  const child = spawnStratctl(args);
  const code = await child.exited;
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

describeWithEtcd('stratctl with --store etcd://', () => {
  it('token create / list / revoke manage the tokens every replica shares; etcd away: exit 7', async () => {
    const cluster = await startEtcd();
    const store = cluster.url(freshPrefix());
    const dir = await tempRuntimeDir();
    const created = await stratctl(['token', 'create', '--name', 'ci-bot', '--scope', 'operate', '--store', store, '--runtime-dir', dir]);
    expect(created.code).toBe(0);
    expect(created.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const listed = await stratctl(['token', 'list', '--store', store]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^NAME +SCOPE +CREATED +EXPIRES\nci-bot +operate +\d{4}-\S+ +never$/m);
    expect((await stratctl(['token', 'revoke', 'ci-bot', '--store', store])).code).toBe(0);
    expect((await stratctl(['token', 'list', '--store', store])).stdout).toBe('');
    // Nothing went to the runtime dir.
    expect((await stratctl(['token', 'list', '--runtime-dir', dir])).stdout).toBe('');

    const nobody = `etcd://127.0.0.1:${await freePort()}/scp`;
    const away = await stratctl(['token', 'list', '--store', nobody]);
    expect(away.code).toBe(7);
    expect(away.stderr).toContain('Config store unavailable');
  });

  it('serve on etcd without CONTROL_PLANE_TOKEN warns that its admin token is its own; with it, says nothing of the kind', async () => {
    const cluster = await startEtcd();
    const store = cluster.url(freshPrefix());
    const own = await spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', store]);
    await own.waitFor(/CONTROL_PLANE_TOKEN is not set: this replica/);
    expect(own.stderr()).toContain('Set the same CONTROL_PLANE_TOKEN on every replica');
    const shared = await spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', store], { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    await shared.waitFor(/admin token taken from CONTROL_PLANE_TOKEN/);
    expect(shared.stderr()).not.toContain('CONTROL_PLANE_TOKEN is not set');
  });

  it('serve on a prefix whose config key was deleted (its trail there) exits 78 with etcd advice, not the file store\'s "move it away"', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const store = cluster.url(prefix);
    const first = await spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', store], { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    await first.stop();
    await rawClient(cluster).delete().key(`/${prefix}/config`);
    const serve = spawnStratctl(['serve', '--port', '0', '--no-runner', '--runtime-dir', await tempRuntimeDir(), '--store', store], {
      CONTROL_PLANE_TOKEN: TEST_TOKEN,
    });
    expect(await serve.exited).toBe(78);
    expect(serve.stderr()).toContain(`cannot start: /${prefix}/config is invalid: the key is missing, but its audit trail is there.`);
    expect(serve.stderr()).toContain('put a valid value back (etcdctl put) and start again');
    expect(serve.stderr()).not.toContain('move it away');
  });

  it('--audit-keep means nothing to stratctl token on etcd either: refused (exit 2) in its name, nothing written', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const store = cluster.url(prefix);
    const create = await stratctl(['token', 'create', '--name', 'ci-bot', '--scope', 'read', '--store', store, '--audit-keep', '5']);
    expect(create.code).toBe(2);
    expect(create.stderr).toContain('stratctl token create: --audit-keep: stratctl token does not write the audit trail');
    expect(create.stdout).toBe('');
    // Written before the command, as any of its flags may be: refused the same.
    const leading = await stratctl(['--audit-keep', '5', 'token', 'list', '--store', store]);
    expect(leading.code).toBe(2);
    expect(leading.stderr).toContain('stratctl token list: --audit-keep: stratctl token does not write the audit trail');
    expect(await keysUnder(rawClient(cluster), prefix, '')).toEqual([]);
    // Not listed in its help (serve's and runner's say what it does there).
    const help = await stratctl(['token', 'create', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--etcd-key');
    expect(help.stdout).not.toContain('--audit-keep');
  });

  it('stratctl runner on etcd takes --audit-keep: the hand edits it audits delete beyond it', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const raw = rawClient(cluster);
    const runner = spawnStratctl([
      'runner',
      '--store',
      cluster.url(prefix),
      '--audit-keep',
      '1',
      '--feed',
      'sim:7',
      '--runtime-dir',
      await tempRuntimeDir(),
    ]);
    await runner.waitFor(/strategy runner started/);
    const versions = async () => (await keysUnder(raw, prefix, 'audit/config/')).map((k) => Number(k.split('/').at(-1)));
    // The runner alone on a new prefix: it wrote the default config and its baseline entry.
    expect(await versions()).toEqual([1]);
    const text = await raw.get(`/${prefix}/config`).string();
    expect(text).toMatch(/scan_interval_seconds: 30\n/);
    for (const [seconds, version] of [
      [31, 2],
      [32, 3],
    ] as const) {
      await raw.put(`/${prefix}/config`).value((text ?? '').replace(/scan_interval_seconds: 30\n/, `scan_interval_seconds: ${seconds}\n`));
      // Polled: the runner audits it when its watch hears the put.
      let seen = await versions();
      for (let i = 0; i < 100 && !seen.includes(version); i++) {
        await new Promise((r) => setTimeout(r, 100));
        seen = await versions();
      }
      // Added and trimmed in one transaction: the newest only, never more.
      expect(seen).toEqual([version]);
    }
  });

  it('refuses a bad --store with exit 2, naming what is wrong', async () => {
    const bad = await stratctl(['serve', '--port', '0', '--store', 'etcd://127.0.0.1:2379', '--runtime-dir', await tempRuntimeDir()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('a key prefix is required');
    const misplaced = await stratctl(['runner', '--etcd-ca', '/x.pem', '--runtime-dir', await tempRuntimeDir()]);
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toContain('--etcd-ca applies only to an etcd store');
  });
});
