import { expect, it } from 'vitest';
import { describeWithEtcd, freePort, startEtcd } from '../helpers/etcd.js';
import { freshPrefix } from '../helpers/etcd-stores.js';
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

  it('refuses a bad --store with exit 2, naming what is wrong', async () => {
    const bad = await stratctl(['serve', '--port', '0', '--store', 'etcd://127.0.0.1:2379', '--runtime-dir', await tempRuntimeDir()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('a key prefix is required');
    const misplaced = await stratctl(['runner', '--etcd-ca', '/x.pem', '--runtime-dir', await tempRuntimeDir()]);
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toContain('--etcd-ca applies only to an etcd store');
  });
});
