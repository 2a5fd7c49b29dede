import { spawnSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { chmod, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_STALE_MS } from '../../src/lock.js';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { LISTENING, ROOT, STRATCTL_BIN, spawnProcess, spawnServer, spawnStratctl } from '../helpers/server.js';
import { cliEnv } from '../helpers/stratctl.js';

const TOKEN = 'env-token-abcdefghijklmnop';
const INVALID_CONFIG = 'active_strategy_key: golden\ntrading_enabled: true\nscan_interval_seconds: 30\nversion: 3\n';

const holders: Server[] = [];
afterEach(async () => {
  await Promise.all(holders.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A plain TCP server holding a loopback port. */
async function holdPort(): Promise<number> {
  const server = createServer();
  holders.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

describe('serve exit codes (DESIGN: serve exit codes), from the built CLI', () => {
  it('0: a clean stop; the lock files go with it', async () => {
    const dir = await tempRuntimeDir();
    const server = await spawnServer(dir, [], { CONTROL_PLANE_TOKEN: TOKEN });
    expect((await readdir(dir)).sort()).toEqual(expect.arrayContaining(['.lock', '.runner.lock']));
    expect(await server.stop('SIGTERM')).toBe(0);
    expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('0 on SIGHUP too (a closed terminal, a kill -HUP meant as reload): drained, lock files gone, not killed with 129', async () => {
    const dir = await tempRuntimeDir();
    const server = await spawnServer(dir, [], { CONTROL_PLANE_TOKEN: TOKEN, CONTROL_PLANE_LOG_FORMAT: 'json' });
    expect(await server.stop('SIGHUP')).toBe(0);
    expect(server.stderr()).toContain('SIGHUP: ');
    expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('`stratctl runner --help` names every signal it stops on with exit 0, and each of them does (SIGHUP too, which it left out)', async () => {
    const help = spawnStratctl(['runner', '--help']);
    expect(await help.exited).toBe(0);
    await help.closed;
    const text = help.stdout().replace(/\s+/g, ' ');
    const [, listed = ''] = text.match(/Exit codes: 0 stopped cleanly \(([^)]*)\)/) ?? [];
    const signals = listed.match(/SIG[A-Z]+/g) ?? [];
    expect(signals.sort()).toEqual(['SIGHUP', 'SIGINT', 'SIGTERM']);
    const dir = await tempRuntimeDir();
    await writeFile(
      path.join(dir, 'config.yaml'),
      'active_strategy_key: momentum\ntrading_enabled: true\nscan_interval_seconds: 30\nversion: 1\nupdated_at: "2025-01-01T00:00:00.000Z"\n',
    );
    for (const signal of signals as NodeJS.Signals[]) {
      const runner = spawnStratctl(['runner', '--runtime-dir', dir]);
      await runner.waitFor(/strategy runner started/);
      expect(await runner.stop(signal), signal).toBe(0);
      await runner.closed;
      expect(runner.stderr() + runner.stdout(), signal).toContain(`${signal}: stopping the runner`);
      expect(
        (await readdir(dir)).filter((f) => f.startsWith('.')),
        signal,
      ).toEqual([]);
    }
  });

  it('75: a second serve on a served runtime dir is refused, naming the pid that holds it; the first keeps serving', async () => {
    const dir = await tempRuntimeDir();
    const first = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: TOKEN });
    const second = spawnStratctl(['serve', '--port', '0', '--runtime-dir', dir], { CONTROL_PLANE_TOKEN: TOKEN });
    expect(await second.exited).toBe(75);
    expect(second.stderr()).toContain(`process ${first.proc.pid}`);
    expect(second.stderr()).toContain(path.join(dir, '.lock'));
    expect(second.stdout()).not.toMatch(LISTENING);
    expect((await gql(first.url, '{ status { configVersion } }')).status).toBe(200);
  });

  it('75: `stratctl runner` on a dir whose serve runs the embedded runner is refused; beside `serve --no-runner` it runs', async () => {
    const dir = await tempRuntimeDir();
    const embedded = await spawnServer(dir, [], { CONTROL_PLANE_TOKEN: TOKEN });
    const refused = spawnStratctl(['runner', '--runtime-dir', dir]);
    expect(await refused.exited).toBe(75);
    expect(refused.stderr()).toContain(`process ${embedded.proc.pid}`);
    expect(refused.stderr()).toContain('.runner.lock');
    await embedded.stop('SIGTERM');

    const api = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: TOKEN });
    const runner = spawnStratctl(['runner', '--runtime-dir', dir]);
    await runner.waitFor(/strategy runner started/);
    const second = spawnStratctl(['runner', '--runtime-dir', dir]);
    expect(await second.exited).toBe(75);
    expect(second.stderr()).toContain(`process ${runner.proc.pid}`);
    expect((await gql(api.url, '{ status { configVersion } }')).status).toBe(200);
  });

  it('75: the refused serve leaves the holder’s files alone and adds none', async () => {
    const dir = await tempRuntimeDir();
    const first = await spawnServer(dir, ['--no-runner']);
    const before = (await readdir(dir)).sort();
    const second = spawnStratctl(['serve', '--port', '0', '--runtime-dir', dir]);
    expect(await second.exited).toBe(75);
    expect((await readdir(dir)).sort()).toEqual(before);
    expect(first.proc.exitCode).toBeNull();
  });

  it('a SIGKILLed holder leaves its lock behind; the next serve takes it over', async () => {
    const dir = await tempRuntimeDir();
    const killed = await spawnServer(dir, [], { CONTROL_PLANE_TOKEN: TOKEN });
    await killed.stop('SIGKILL');
    expect(JSON.parse(await readFile(path.join(dir, '.lock'), 'utf8')).pid).toBe(killed.proc.pid);
    const next = await spawnServer(dir, [], { CONTROL_PLANE_TOKEN: TOKEN });
    expect(JSON.parse(await readFile(path.join(dir, '.lock'), 'utf8')).pid).toBe(next.proc.pid);
  });

  it('75 at run time when its lock becomes another process’s (taken over after a stall): it stops, and leaves that lock alone', async () => {
    const dir = await tempRuntimeDir();
    const lock = path.join(dir, '.lock');
    const server = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: TOKEN });
    // Removed by hand: put back, and the server goes on.
    const mine = await readFile(lock, 'utf8');
    await rm(lock);
    await expect.poll(() => readFile(lock, 'utf8').catch(() => null), { timeout: 10_000 }).toBe(mine);
    expect((await gql(server.url, '{ status { configVersion } }')).status).toBe(200);
    // Another process's now: this one no longer owns the directory.
    const other = { pid: 4242, host: 'elsewhere.example', nonce: 'took-over', acquiredAt: '' };
    await writeFile(lock, `${JSON.stringify(other)}\n`);
    expect(await server.exited).toBe(75);
    expect(server.stderr()).toContain(
      `lost ${lock}: process 4242 on elsewhere.example holds it now, so this process no longer owns the runtime directory`,
    );
    expect(JSON.parse(await readFile(lock, 'utf8'))).toEqual(other);
  });

  it.runIf(existsSync('/proc/self/ns/pid') && existsSync('/proc/sys/kernel/random/boot_id'))(
    "a lock another machine with this host name holds (another boot id; its pid gone here) is not a dead holder's: serve waits, sees it touched, exits 75",
    async () => {
      const dir = await tempRuntimeDir();
      const lock = path.join(dir, '.lock');
      // Cloned VMs, or pods of one name in two clusters, each in the default pid namespace (the same
      // pidns as this one's): only the boot id says the holder is not on this machine.
      const otherBoot = '00000000-0000-4000-8000-000000000001';
      const there = {
        pid: spawnSync(process.execPath, ['-e', '']).pid,
        host: hostname(),
        nonce: 'there',
        acquiredAt: new Date().toISOString(),
        started: `${otherBoot}:1`,
        pidns: readlinkSync('/proc/self/ns/pid'),
        bootId: otherBoot,
        machineId: 'f'.repeat(32),
      };
      await writeFile(lock, `${JSON.stringify(there)}\n`);
      // The holder over there is alive: it touches its lock (every LOCK_REFRESH_MS; here more often).
      const touching = setInterval(() => void utimes(lock, new Date(), new Date()).catch(() => {}), 300);
      try {
        const second = spawnStratctl(['serve', '--no-runner', '--port', '0', '--runtime-dir', dir], { CONTROL_PLANE_TOKEN: TOKEN });
        const outcome = await Promise.race([
          second.exited,
          second.waitFor(LISTENING).then(
            () => 'serving',
            () => 'exited',
          ),
        ]);
        if (outcome === 'serving') second.proc.kill('SIGKILL');
        // Without the boot id: its pid gone here, "dead", taken over at once, and this serve started.
        expect(outcome).toBe(75);
        expect(second.stderr()).toContain(`process ${there.pid} on ${hostname()} holds ${lock}`);
        expect(second.stderr()).toMatch(/cannot be checked by its pid, and it touched the lock \d+\.\d s ago/);
      } finally {
        clearInterval(touching);
      }
      expect(JSON.parse(await readFile(lock, 'utf8'))).toEqual(there);
    },
  );

  // A container: `unshare` gives the server a fresh pid namespace, in which it is pid 1, as `node` is
  // in this project's image; the host name stays (a restarted container keeps its own).
  const inPidNamespace = spawnSync('unshare', ['-rpf', '--mount-proc', process.execPath, '-e', 'process.exit(process.pid === 1 ? 0 : 1)']);
  const container = (dir: string) =>
    // --kill-child: the server gets SIGKILL when unshare itself is killed.
    spawnProcess(
      'unshare',
      ['-rpf', '--mount-proc', '--kill-child', process.execPath, STRATCTL_BIN, 'serve', '--port', '0', '--runtime-dir', dir],
      {
        env: cliEnv({ CONTROL_PLANE_LOG_FORMAT: 'text', CONTROL_PLANE_TOKEN: TOKEN }),
      },
    );
  const lockOf = async (dir: string) =>
    JSON.parse(await readFile(path.join(dir, '.lock'), 'utf8')) as { pid: number; nonce: string; pidns: string };

  /**
   * The lock watches: each waits a real LOCK_STALE_MS (the server watches on its own monotonic
   * clock, which a test cannot move), so they run side by side in one test, each with its own
   * runtime dir and processes; every one that failed is named with its error.
   */
  const lockWatches: Record<string, () => Promise<void>> = {
    'an empty .lock and .runner.lock (what a power loss can leave), unchanged while watched for LOCK_STALE_MS: taken over (both in one watch), serve starts':
      async () => {
        const dir = await tempRuntimeDir();
        // Their mtime long past: not what decides (another host's clock stamps its lock), the watch does.
        const long = new Date(Date.now() - LOCK_STALE_MS - 5000);
        for (const name of ['.lock', '.runner.lock']) {
          await writeFile(path.join(dir, name), '');
          await utimes(path.join(dir, name), long, long);
        }
        const server = await spawnServer(dir, [], { CONTROL_PLANE_TOKEN: TOKEN });
        expect((await gql(server.url, '{ status { configVersion } }')).status).toBe(200);
        expect(JSON.parse(await readFile(path.join(dir, '.lock'), 'utf8'))).toMatchObject({ pid: server.proc.pid });
      },
    'a lock another host left, unchanged while watched for LOCK_STALE_MS, is taken over; one its holder keeps touching is refused (75), saying so':
      async () => {
        const dir = await tempRuntimeDir();
        const lock = path.join(dir, '.lock');
        const elsewhere = { pid: 4242, host: 'node-gone.example', nonce: 'x', acquiredAt: '' };
        await writeFile(lock, `${JSON.stringify(elsewhere)}\n`);
        const long = new Date(Date.now() - LOCK_STALE_MS - 5000);
        await utimes(lock, long, long);
        const started = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: TOKEN });
        expect(JSON.parse(await readFile(lock, 'utf8')).pid).toBe(started.proc.pid);
        expect(await started.stop('SIGTERM')).toBe(0);

        // A holder on another host that is alive touches its lock (every LOCK_REFRESH_MS; here more often).
        await writeFile(lock, `${JSON.stringify(elsewhere)}\n`);
        const touching = setInterval(() => void utimes(lock, new Date(), new Date()).catch(() => {}), 300);
        try {
          const refused = spawnStratctl(['serve', '--port', '0', '--runtime-dir', dir], { CONTROL_PLANE_TOKEN: TOKEN });
          expect(await refused.exited).toBe(75);
          expect(refused.stderr()).toContain(`process 4242 on node-gone.example holds ${lock}`);
          expect(refused.stderr()).toMatch(
            /it is another host's or another container's, which cannot be checked by its pid, and it touched the lock \d+\.\d s ago/,
          );
          expect(refused.stdout() + refused.stderr()).toContain('waiting for it to touch the lock');
        } finally {
          clearInterval(touching);
        }
        expect(JSON.parse(await readFile(lock, 'utf8'))).toMatchObject(elsewhere);
      },
    ...(inPidNamespace.status === 0 && {
      'a server killed as pid 1 in its container comes back: the restarted one (pid 1 again) takes the old lock over once it is stale':
        async () => {
          const dir = await tempRuntimeDir();
          const first = container(dir);
          const [, firstUrl] = await first.waitFor(LISTENING);
          const killed = await lockOf(dir);
          expect(killed.pid).toBe(1);
          first.proc.kill('SIGKILL');
          await first.exited;
          // The server is gone (its port refuses), and its lock stayed behind.
          await expect
            .poll(
              () =>
                fetch(`${new URL(firstUrl as string).origin}/health`).then(
                  () => 'up',
                  () => 'gone',
                ),
              { timeout: 10_000 },
            )
            .toBe('gone');
          expect(await lockOf(dir)).toEqual(killed);
          // LOCK_STALE_MS later (the clock moved on the file instead of the test sleeping): the restart takes it.
          const stale = new Date(Date.now() - LOCK_STALE_MS - 1000);
          for (const name of ['.lock', '.runner.lock']) await utimes(path.join(dir, name), stale, stale);

          const restarted = container(dir);
          const [, url] = await restarted.waitFor(LISTENING);
          expect((await gql(url as string, '{ status { configVersion } }')).status).toBe(200);
          const taken = await lockOf(dir);
          expect(taken.pid).toBe(1);
          expect(taken.nonce).not.toBe(killed.nonce);
          expect(taken.pidns).not.toBe(killed.pidns);
          restarted.proc.kill('SIGKILL');
          await restarted.exited;
        },
    }),
  };

  it(`lock watches, side by side: ${Object.keys(lockWatches).join('; ')}`, async () => {
    const names = Object.keys(lockWatches);
    const outcomes = await Promise.allSettled(Object.values(lockWatches).map((watch) => watch()));
    const failed = outcomes.flatMap((outcome, i) =>
      outcome.status === 'rejected' ? [`${names[i]}: ${(outcome.reason as Error)?.stack ?? outcome.reason}`] : [],
    );
    expect(failed).toEqual([]);
    expect(outcomes).toHaveLength(inPidNamespace.status === 0 ? 3 : 2);
  }, 60_000);

  it.runIf(inPidNamespace.status === 0)(
    'two containers on one runtime dir and one host name, each pid 1: the second waits, sees the first touch its lock, and exits 75',
    async () => {
      const dir = await tempRuntimeDir();
      const first = container(dir);
      const [, url] = await first.waitFor(LISTENING);
      const held = await lockOf(dir);
      const second = container(dir);
      try {
        expect(await second.exited).toBe(75);
        expect(second.stderr()).toContain('process 1 on');
        expect(second.stderr()).toContain('touched the lock');
        expect(await lockOf(dir)).toEqual(held);
        expect((await gql(url as string, '{ status { configVersion } }')).status).toBe(200);
      } finally {
        first.proc.kill('SIGKILL');
        await first.exited;
      }
    },
  );

  it('98: the port is taken (a plain TCP server holds it); the message names host and port', async () => {
    const port = await holdPort();
    const child = spawnStratctl(['serve', '--port', String(port), '--runtime-dir', await tempRuntimeDir()], { CONTROL_PLANE_TOKEN: TOKEN });
    expect(await child.exited).toBe(98);
    await child.closed;
    expect(child.stderr()).toContain(`127.0.0.1:${port} is already in use`);
    // The runner starts only once the port is bound: none ran, so none is said to run.
    expect(child.stderr()).not.toMatch(/runner \S+ is RUNNING/);
    expect(child.stdout()).not.toMatch(/runner \S+ is RUNNING/);
  });

  it("1 with what to check when no etcd member answers at start, in words (not the fault-handling library's)", async () => {
    // A port nothing listens on: held, then let go (etcd's own port would do as well).
    const port = await holdPort();
    await new Promise<void>((resolve) => holders.pop()?.close(() => resolve()));
    const store = `etcd://127.0.0.1:${port}/scp`;
    for (const args of [['serve', '--port', '0'], ['runner']]) {
      const child = spawnStratctl([...args, '--store', store, '--runtime-dir', await tempRuntimeDir()], { CONTROL_PLANE_TOKEN: TOKEN });
      expect(await child.exited).toBe(1);
      expect(child.stderr()).toContain(
        `cannot start: Config store unavailable (read state on ${store}/ failed (no member answered: each refused the connection or did not answer (etcd down, a wrong host or port, a firewall, or members that speak only TLS (then give --etcd-ca)))); check --store and that etcd is reachable, then start again`,
      );
      expect(child.stderr()).not.toContain('circuit breaker');
    }
  });

  it('73: the runtime dir cannot be created (its parent is a regular file: ENOTDIR)', async () => {
    const parent = path.join(await tempRuntimeDir(), 'not-a-dir');
    await writeFile(parent, 'a file\n');
    const child = spawnStratctl(['serve', '--port', '0', '--runtime-dir', path.join(parent, 'runtime')], { CONTROL_PLANE_TOKEN: TOKEN });
    expect(await child.exited).toBe(73);
    expect(child.stderr()).toMatch(/runtime directory .*not-a-dir\/runtime is not writable \(ENOTDIR\)/);
    expect(child.stderr()).toContain('Part of its path is a file, not a directory: fix the path, or use another --runtime-dir.');
  });

  // Node's recursive mkdir never returned on it (100% CPU, SIGTERM ignored): the test's timeout was the failure.
  it.runIf(existsSync('/proc/sys'))(
    '73: a runtime dir that cannot be made under /proc/sys (ENOENT), at once',
    async () => {
      const child = spawnStratctl(['serve', '--port', '0', '--runtime-dir', '/proc/sys/scp-runtime'], { CONTROL_PLANE_TOKEN: TOKEN });
      expect(await child.exited).toBe(73);
      expect(child.stderr()).toContain('the runtime directory /proc/sys/scp-runtime is not writable (ENOENT)');
    },
    10_000,
  );

  // Root ignores permission bits, so a read-only runtime dir needs a read-only file system: a tmpfs
  // mounted read-only in a private mount namespace (unshare -m), which vanishes with the process.
  const canMountReadOnly = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o ro,size=64k tmpfs /mnt']).status === 0;
  it.skipIf(!canMountReadOnly)('73: the runtime dir is on a read-only file system (EROFS)', async () => {
    const mountPoint = await tempRuntimeDir();
    const script = `mount -t tmpfs -o ro,size=64k tmpfs "$0" && exec "$1" "$2" serve --port 0 --runtime-dir "$0"`;
    const child = spawnProcess('unshare', ['-m', 'sh', '-c', script, mountPoint, process.execPath, STRATCTL_BIN], {
      env: cliEnv({ CONTROL_PLANE_LOG_FORMAT: 'text' }),
    });
    expect(await child.exited, child.stderr()).toBe(73);
    expect(child.stderr()).toMatch(/is not writable \(EROFS\)/);
    expect(child.stderr()).toContain('The file system is read-only: remount it read-write, or use another --runtime-dir.');
  });

  it.skipIf(!canMountReadOnly)('73: the runtime dir is on a full disk (ENOSPC): the advice is to free space, not permissions', async () => {
    const mountPoint = await tempRuntimeDir();
    // A 64 KiB tmpfs filled to the last block before serve starts on it.
    const script = `mount -t tmpfs -o size=64k tmpfs "$0" && (dd if=/dev/zero of="$0/fill" bs=4k 2>/dev/null; true) && exec "$1" "$2" serve --port 0 --runtime-dir "$0"`;
    const child = spawnProcess('unshare', ['-m', 'sh', '-c', script, mountPoint, process.execPath, STRATCTL_BIN], {
      env: cliEnv({ CONTROL_PLANE_LOG_FORMAT: 'text' }),
    });
    expect(await child.exited, child.stderr()).toBe(73);
    expect(child.stderr()).toMatch(/is not writable \(ENOSPC\)/);
    expect(child.stderr()).toContain("The disk (or this user's quota) is full: free space there, or use another --runtime-dir.");
  });

  // DESIGN: 73 runtime dir not writable, 78 invalid config. A file the server's user may not read (a
  // runtime dir chowned to another user, a root-owned 0600 audit.log) is a permission problem: it was 78.
  // As root, the start runs without the capabilities that let root read any file (as a service user would).
  it.each(['audit.log', 'config.yaml', 'strategies.yaml', 'admin.token'])(
    '73, not 78: %s this user may not read (EACCES); the message names it and says what to do; nothing changed',
    async (name) => {
      const dir = await tempRuntimeDir();
      const first = await spawnServer(dir, ['--no-runner']);
      const upsert = 'mutation { upsertPreset(input: { key: "gold_x", base: "gold", name: "X" }) { changed } }';
      const token = (await readFile(path.join(dir, 'admin.token'), 'utf8')).trim();
      expect((await gql(first.url, upsert, undefined, { token })).body.data).toEqual({ upsertPreset: { changed: true } });
      expect(await first.stop()).toBe(0);
      const file = path.join(dir, name);
      const before = await readFile(file);
      const listing = (await readdir(dir)).sort();
      await chmod(file, 0o000);
      const args = [STRATCTL_BIN, 'serve', '--port', '0', '--runtime-dir', dir];
      const env = cliEnv({ CONTROL_PLANE_LOG_FORMAT: 'text' });
      const child =
        process.getuid?.() === 0
          ? spawnProcess('setpriv', ['--bounding-set=-dac_override,-dac_read_search', process.execPath, ...args], { env })
          : spawnProcess(process.execPath, args, { env });
      expect(await child.exited, child.stderr()).toBe(73);
      expect(child.stderr()).toContain(
        `cannot start: ${file}: ${name} cannot be read by this process (EACCES): check its mode, its owner and its directory's. Give this user read access, or use another --runtime-dir.`,
      );
      expect(child.stderr()).not.toContain('is invalid');
      await chmod(file, 0o600);
      expect(await readFile(file)).toEqual(before);
      expect((await readdir(dir)).sort()).toEqual(listing);
    },
  );

  it('78: config.yaml is invalid; the file is left as it is', async () => {
    const dir = await tempRuntimeDir();
    await writeFile(path.join(dir, 'config.yaml'), INVALID_CONFIG);
    const child = spawnStratctl(['serve', '--port', '0', '--runtime-dir', dir], { CONTROL_PLANE_TOKEN: TOKEN });
    expect(await child.exited).toBe(78);
    expect(child.stderr()).toContain('Invalid strategy key: golden');
    expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toBe(INVALID_CONFIG);
  });

  it('after a kept-out presets edit removed the active preset, serve starts on the kept set; without it, 78 naming strategies.yaml and the preset', async () => {
    const dir = await tempRuntimeDir();
    const server = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: TOKEN });
    const upsert = 'mutation { upsertPreset(input: { key: "gold_x", base: "gold", name: "X" }) { changed } }';
    expect((await gql(server.url, upsert, undefined, { token: TOKEN })).body.data).toEqual({ upsertPreset: { changed: true } });
    const activate = 'mutation { activateStrategy(strategyKey: "gold_x") { activeStrategyKey } }';
    expect((await gql(server.url, activate, undefined, { token: TOKEN })).body.errors).toBeUndefined();
    // The hand edit that removes the preset in use: kept out while the server runs.
    await writeFile(path.join(dir, 'strategies.yaml'), 'version: 1\npresets: {}\n');
    const reload = await gql(server.url, 'mutation { reloadStrategies { strategiesError { message } } }', undefined, { token: TOKEN });
    expect(reload.body.data?.reloadStrategies.strategiesError.message).toContain('kept out');
    expect(await server.stop()).toBe(0);

    // The set in force was kept beside the edit: the restart serves it, the edit still kept out.
    const again = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: TOKEN });
    const status = await gql(again.url, '{ status { activeStrategyKey strategiesError { message } } }');
    expect(status.body.data?.status.activeStrategyKey).toBe('gold_x');
    expect(status.body.data?.status.strategiesError.message).toContain('kept out');
    expect(await again.stop()).toBe(0);

    // Without the kept set (removed by hand), the start cannot serve the config: 78, saying what to do.
    await rm(path.join(dir, '.strategies.kept.yaml'));
    const child = spawnStratctl(['serve', '--port', '0', '--runtime-dir', dir], { CONTROL_PLANE_TOKEN: TOKEN });
    expect(await child.exited).toBe(78);
    expect(child.stderr()).toContain(
      `gold_x is neither a static strategy nor a preset in ${path.join(dir, 'strategies.yaml')}: if a change to the presets removed it, put it back there, or name another strategy here.`,
    );
  });

  it('2: bad usage, in one line and a pointer to --help', async () => {
    const child = spawnStratctl(['serve', '--port', 'eighty']);
    expect(await child.exited).toBe(2);
    expect(child.stderr()).toBe(
      'stratctl serve: --port: "eighty" is not a port (a whole number from 0 to 65535, in decimal digits)\nsee stratctl serve --help\n',
    );
  });

  it.each([
    [['serve', '--port', '0', '--runtime-dir', ''], '--runtime-dir must not be empty'],
    [['runner', '--runtime-dir', ''], '--runtime-dir must not be empty'],
    [['token', 'create', '--name', 'ghost', '--scope', 'admin', '--runtime-dir', ''], '--runtime-dir must not be empty'],
    [['status', '--runtime-dir', ' '], '--runtime-dir must not be empty'],
    // Over CONTROL_PLANE_STORE=etcd://..., an empty flag chose the file store, here.
    [['serve', '--port', '0', '--store', ''], '--store must not be empty (the file store: --store file)', 'etcd://127.0.0.1:1/nowhere'],
    [['serve', '--port', '0', '--no-runner', '--feed', 'csv:/nonexistent'], '--feed applies only to the embedded runner'],
    // Taken and ignored: a runner publishes its own heartbeat interval, and STALE is judged by that.
    [['serve', '--port', '0', '--no-runner', '--heartbeat-ms', '1000'], '--heartbeat-ms applies only to the embedded runner'],
  ])(
    '2: %j is refused, and nothing is written where it runs (an empty value was the current directory, or taken and ignored)',
    async (args, message, store?: string) => {
      // A script's `--runtime-dir "$DIR"` with DIR unset: before, serve wrote config.yaml, admin.token
      // and audit.log into the current directory, and token create a tokens.yaml no server reads.
      const cwd = await tempRuntimeDir();
      const child = spawnProcess(process.execPath, [STRATCTL_BIN, ...args], {
        cwd,
        env: { ...cliEnv(), CONTROL_PLANE_TOKEN: TOKEN, ...(store && { CONTROL_PLANE_STORE: store }) },
      });
      const code = await Promise.race([child.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 20_000))]);
      if (code !== 2) await child.stop('SIGKILL');
      expect(code).toBe(2);
      expect(child.stderr()).toContain(message);
      expect(await readdir(cwd)).toEqual([]);
    },
  );

  it('2 under json logs (the unit and the image): the usage error is a JSON log line too, and a store URL is never quoted with its credentials', async () => {
    for (const [args, env] of [
      [['serve', '--port', 'eighty', '--log-format', 'json'], {}],
      [['runner', '--store', 'etcd://scp:hunter2secret@127.0.0.1:2379/scp'], { CONTROL_PLANE_LOG_FORMAT: 'json' }],
    ] as const) {
      const child = spawnStratctl([...args], env);
      expect(await child.exited).toBe(2);
      const lines = child.stderr().trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      const line = JSON.parse(lines[0] as string);
      expect(line).toMatchObject({ level: 60, exitCode: 2, time: expect.any(Number) });
      expect(line.msg).toMatch(new RegExp(`^stratctl ${args[0]}: .* \\(see stratctl ${args[0]} --help\\)$`));
      expect(child.stderr()).not.toContain('hunter2secret');
    }
  });
});

// DESIGN's start order (locks, config, port; only then files): createControlPlane brings it (the
// lead's src/control-plane.ts). Until that file exists, startControlPlane writes before it binds.
const startOrderLanded = existsSync(path.join(ROOT, 'src/control-plane.ts'));
describe.skipIf(!startOrderLanded)('a start that fails writes nothing but its lock files, and removes them', () => {
  it('78 without CONTROL_PLANE_TOKEN: no admin.token, no audit.log, only the invalid file', async () => {
    const dir = await tempRuntimeDir();
    await writeFile(path.join(dir, 'config.yaml'), INVALID_CONFIG);
    const child = spawnStratctl(['serve', '--port', '0', '--runtime-dir', dir]);
    expect(await child.exited).toBe(78);
    expect(await readdir(dir)).toEqual(['config.yaml']);
  });

  it('98: nothing in the runtime dir', async () => {
    const dir = await tempRuntimeDir();
    const child = spawnStratctl(['serve', '--port', String(await holdPort()), '--runtime-dir', dir]);
    expect(await child.exited).toBe(98);
    expect(await readdir(dir)).toEqual([]);
  });
});
