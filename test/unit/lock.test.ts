import { spawn } from 'node:child_process';
import { readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  acquireLock,
  bootOf,
  judgeOtherProcess,
  LOCK_REFRESH_MS,
  LOCK_STALE_MS,
  LockHeldError,
  lockHolderLook,
  machineIdentity,
  pidNamespace,
  processStart,
  sameProcess,
  withLock,
} from '../../src/lock.js';
import { lockRuntimeDir, RuntimeDirInUseError } from '../../src/runtime-dir.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { ROOT } from '../helpers/server.js';

/** The pid of a process that has exited (and so is free until the kernel hands it out again). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid as number;
  await new Promise((resolve) => child.once('exit', resolve));
  return pid;
}

const holderOf = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as { pid: number; host: string };

/**
 * Takes `file` from a holder that cannot be checked by its pid and does not touch its lock: after
 * watching it LOCK_STALE_MS on an injected monotonic clock (jumped as the watch starts, instead of
 * slept). `watches` gets how many watches it started.
 */
function takeOverUnchanged(file: string, options: Parameters<typeof acquireLock>[1] = {}, watches: number[] = []) {
  let offset = 0;
  return acquireLock(file, {
    ...options,
    waitForStale: true,
    now: () => performance.now() + offset,
    onWaitForStale: () => {
      watches.push(1);
      offset += LOCK_STALE_MS;
    },
  });
}

describe('lock files (src/lock.ts)', () => {
  it('writes pid and host into the lock, refuses a second taker naming them, and frees it on release', async () => {
    const file = path.join(await tempRuntimeDir(), '.lock');
    const lock = await acquireLock(file);
    expect(await holderOf(file)).toMatchObject({ pid: process.pid, host: hostname() });
    const refused = await acquireLock(file).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(LockHeldError);
    expect(refused).toMatchObject({ pid: process.pid, host: hostname() });
    expect((refused as Error).message).toContain(`process ${process.pid}`);
    await lock.release();
    await lock.release(); // idempotent
    const again = await acquireLock(file);
    await again.release();
    expect(await readdir(path.dirname(file))).toEqual([]);
  });

  it('a runtime directory this process already holds, named again through a symlink: the message says so, not "another stratctl serve"', async () => {
    const dir = await tempRuntimeDir();
    const link = path.join(await tempRuntimeDir(), 'link');
    await symlink(dir, link);
    const held = await lockRuntimeDir(dir, { serve: true, runner: true });
    const refused = await lockRuntimeDir(link, { serve: true, runner: false }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RuntimeDirInUseError);
    expect((refused as Error).message).toBe(
      `the runtime directory ${link} is in use: process ${process.pid} on ${hostname()} holds ${path.join(link, '.lock')}, and that is this process itself: it already uses this directory, perhaps under another name (a symlink?)`,
    );
    await held.release();
    // Another live process holding it is still named as one.
    await writeFile(path.join(dir, '.lock'), JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'x', acquiredAt: '' }));
    const other = await lockRuntimeDir(link, { serve: true, runner: false }).catch((err: unknown) => err);
    expect((other as Error).message).toContain(`process ${process.ppid} on ${hostname()} holds`);
    expect((other as Error).message).toContain('(another stratctl serve is running there)');
  });

  it('takes over the lock of a dead holder on this host', async () => {
    const file = path.join(await tempRuntimeDir(), '.lock');
    const dead = await deadPid();
    await writeFile(file, `${JSON.stringify({ pid: dead, host: hostname(), nonce: 'old', acquiredAt: '' })}\n`);
    const lock = await acquireLock(file);
    expect(await holderOf(file)).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it('refuses a live holder, and a holder on another host (whose pid cannot be checked)', async () => {
    const dir = await tempRuntimeDir();
    const live = path.join(dir, 'live.lock');
    await writeFile(live, JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'x', acquiredAt: '' }));
    await expect(acquireLock(live)).rejects.toMatchObject({ name: 'LockHeldError', pid: process.ppid });
    const remote = path.join(dir, 'remote.lock');
    await writeFile(remote, JSON.stringify({ pid: await deadPid(), host: 'elsewhere.example', nonce: 'x', acquiredAt: '' }));
    await expect(acquireLock(remote)).rejects.toMatchObject({ name: 'LockHeldError', host: 'elsewhere.example' });
    expect((await holderOf(live)).pid).toBe(process.ppid);
  });

  it("a lock naming this process's own pid that this process did not take is a previous process's (a restarted container): taken over", async () => {
    const file = path.join(await tempRuntimeDir(), '.lock');
    // A server killed in its container left this; the restarted one got the same pid (often 1).
    await writeFile(file, `${JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'before-the-restart', acquiredAt: '' })}\n`);
    const lock = await acquireLock(file);
    expect(await holderOf(file)).toMatchObject({ pid: process.pid });
    expect((await holderOf(file)) as unknown).not.toMatchObject({ nonce: 'before-the-restart' });
    // Its own lock, though, is live: a second taker in this process is refused.
    await expect(acquireLock(file)).rejects.toMatchObject({ name: 'LockHeldError', pid: process.pid });
    await lock.release();
    // The bare-pid format of older token-file locks, naming this pid: the same.
    await writeFile(file, `${process.pid}\n`);
    await (await acquireLock(file)).release();
    expect(await readdir(path.dirname(file))).toEqual([]);
  });

  it.runIf(process.platform === 'linux')(
    'a live pid whose process started at another time than the holder (the pid was reused) is taken over; the holder itself is refused',
    async () => {
      const dir = await tempRuntimeDir();
      const parentStart = processStart(process.ppid);
      expect(parentStart).toMatch(/^[0-9a-f-]{36}:\d+$/);
      expect(processStart(process.pid)).not.toBe(parentStart);
      const reused = path.join(dir, 'reused.lock');
      await writeFile(
        reused,
        JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'x', acquiredAt: '', started: `${parentStart}0` }),
      );
      const taken = await acquireLock(reused);
      expect(await holderOf(reused)).toMatchObject({ pid: process.pid, started: processStart(process.pid) });
      await taken.release();
      const live = path.join(dir, 'live.lock');
      await writeFile(live, JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'x', acquiredAt: '', started: parentStart }));
      await expect(acquireLock(live)).rejects.toMatchObject({ name: 'LockHeldError', pid: process.ppid });
      expect(processStart(await deadPid())).toBeUndefined();
    },
  );

  it.runIf(process.platform === 'linux')(
    'a holder killed but not yet reaped by its parent (a zombie: its pid still answers kill 0) is dead: taken over at once',
    async () => {
      // The shell starts a child, then becomes `sleep`, which never reaps it.
      const parent = spawn('sh', ['-c', 'sleep 600 & echo $!; exec sleep 600'], { stdio: ['ignore', 'pipe', 'ignore'] });
      try {
        const pid = Number(await new Promise<string>((resolve) => parent.stdout?.once('data', (d: Buffer) => resolve(d.toString()))));
        const started = processStart(pid);
        // Killed while the shell itself still ran (before its exec), the child was reaped by it and
        // its /proc entry was gone ("ENOENT: ... /proc/<pid>/stat", 1 run in 10 on a loaded machine):
        // wait for the exec first, as test/etcd/runner-claim.test.ts does.
        const execed = async () => (await readFile(`/proc/${parent.pid}/comm`, 'utf8')).trim() === 'sleep';
        for (let i = 0; i < 200 && !(await execed()); i += 1) await new Promise((r) => setTimeout(r, 10));
        expect(await execed()).toBe(true);
        process.kill(pid, 'SIGKILL');
        const stat = () => readFile(`/proc/${pid}/stat`, 'utf8');
        for (let i = 0; i < 200 && !/\) Z /.test(await stat()); i += 1) await new Promise((r) => setTimeout(r, 10));
        expect(await stat()).toMatch(/\) Z /);
        const file = path.join(await tempRuntimeDir(), '.runner.lock');
        await writeFile(
          file,
          `${JSON.stringify({ pid, host: hostname(), nonce: 'killed', acquiredAt: '', started, pidns: pidNamespace() })}\n`,
        );
        const lock = await acquireLock(file);
        expect(await holderOf(file)).toMatchObject({ pid: process.pid });
        await lock.release();
      } finally {
        parent.kill('SIGKILL');
      }
    },
  );

  describe('a holder that cannot be checked by its pid (another host, or another pid namespace: a container)', () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    const backdate = (file: string, ms: number) => utimes(file, new Date(Date.now() - ms), new Date(Date.now() - ms));
    const otherNamespace = (pid: number) => ({ pid, host: hostname(), nonce: 'other-container', acquiredAt: '', pidns: 'pid:[1]' });

    it('is judged by whether its lock changes while watched, never by its mtime: refused unwatched however old its mtime looks, taken over once watched LOCK_STALE_MS unchanged', async () => {
      const dir = await tempRuntimeDir();
      expect(pidNamespace()).toMatch(/^pid:\[\d+\]$/);
      for (const holder of [otherNamespace(process.pid), { ...otherNamespace(4242), host: 'elsewhere.example' }]) {
        const file = path.join(dir, `${holder.host}.lock`);
        await writeFile(file, JSON.stringify(holder));
        // Its mtime 3 s old, or 11 s old (a holder whose clock is behind this one's looks like that while it runs).
        for (const age of [LOCK_STALE_MS - 3000, LOCK_STALE_MS + 1000]) {
          await backdate(file, age);
          const refused = await acquireLock(file).catch((err: unknown) => err);
          expect(refused).toBeInstanceOf(LockHeldError);
          // Not watched: the age of its mtime by this host's clock.
          expect((refused as LockHeldError).touchedAgoMs).toBeGreaterThanOrEqual(age);
          expect((refused as LockHeldError).touchedAgoMs).toBeLessThan(age + 2000);
        }
        // Watched (waitMs, or waitForStale) for LOCK_STALE_MS on this process's clock with no change: dead.
        const watches: number[] = [];
        const taken = await takeOverUnchanged(file, {}, watches);
        expect(watches).toEqual([1]);
        expect(await holderOf(file)).toMatchObject({ pid: process.pid, pidns: pidNamespace() });
        await taken.release();
      }
    });

    it("a live holder whose clock is behind this one's (another host): every touch looks stale by the clocks, yet it is never taken over", async () => {
      const file = path.join(await tempRuntimeDir(), '.lock');
      const holder = { ...otherNamespace(4242), host: 'elsewhere.example' };
      await writeFile(file, JSON.stringify(holder));
      // The holder stamps its touches with its own clock, 15 s behind.
      const touchSkewed = () => utimes(file, new Date(Date.now() - 15_000), new Date(Date.now() - 15_000));
      await touchSkewed();
      const told: number[] = [];
      const refused = await acquireLock(file, {
        waitForStale: true,
        // It touches its lock as this process starts watching it.
        onWaitForStale: (_, touchedAgoMs) => {
          told.push(touchedAgoMs);
          void touchSkewed();
        },
      }).catch((err: unknown) => err);
      // Before, its 15 s old mtime made it dead at once: taken over without a wait, the live holder evicted.
      expect(told).toHaveLength(1);
      expect(told[0]).toBeGreaterThanOrEqual(15_000);
      expect(refused).toBeInstanceOf(LockHeldError);
      // How long ago this process saw it touched, on its own clock: not the 15 s its mtime says.
      expect((refused as LockHeldError).touchedAgoMs).toBeLessThan(2000);
      expect(await holderOf(file)).toEqual(holder);
      // In wait mode too (the token file's lock): it waits, and never takes over a lock that keeps being touched.
      const touching = setInterval(() => void touchSkewed(), 50);
      const waited = await acquireLock(file, { waitMs: 500 })
        .catch((err: unknown) => err)
        .finally(() => clearInterval(touching));
      expect(waited).toBeInstanceOf(LockHeldError);
      expect((waited as LockHeldError).touchedAgoMs).toBeLessThan(1000);
      expect(await holderOf(file)).toEqual(holder);
    });

    it("a dead holder whose lock looks long stale (or is stamped in the future) is taken over only after a watch of LOCK_STALE_MS on this process's clock", async () => {
      const dir = await tempRuntimeDir();
      for (const age of [3_600_000, -3_600_000]) {
        const file = path.join(dir, `${age}.lock`);
        await writeFile(file, JSON.stringify(otherNamespace(1)));
        await backdate(file, age);
        // The clock steps 3 s per look once the watch starts (instead of sleeping).
        const looks: number[] = [];
        let watching = false;
        const lock = await acquireLock(file, {
          waitForStale: true,
          now: () => {
            looks.push(performance.now() + (watching ? 3000 * looks.length : 0));
            return looks[looks.length - 1] as number;
          },
          onWaitForStale: () => {
            watching = true;
          },
        });
        // Before, its mtime an hour old made it dead at the first look; one an hour ahead, alive for an hour.
        expect(looks.length).toBeGreaterThan(3);
        expect((looks.at(-1) as number) - (looks[0] as number)).toBeGreaterThanOrEqual(LOCK_STALE_MS);
        expect((looks.at(-2) as number) - (looks[0] as number)).toBeLessThan(LOCK_STALE_MS);
        expect(await holderOf(file)).toMatchObject({ pid: process.pid });
        await lock.release();
      }
    });

    it("a lock that names no process (empty or damaged: what a power loss can leave) is judged as another host's: refused unwatched, taken over once watched LOCK_STALE_MS unchanged", async () => {
      const dir = await tempRuntimeDir();
      for (const [name, bytes] of [
        ['empty.lock', ''],
        ['damaged.lock', '{"pid": 12'],
        ['zeros.lock', '\0\0\0\0'],
      ]) {
        const file = path.join(dir, name as string);
        await writeFile(file, bytes as string);
        const refused = await acquireLock(file).catch((err: unknown) => err);
        expect(refused, name).toBeInstanceOf(LockHeldError);
        expect((refused as LockHeldError).pid).toBe(0);
        expect((refused as LockHeldError).touchedAgoMs).toBeLessThan(LOCK_STALE_MS);
        const taken = await takeOverUnchanged(file);
        expect(await holderOf(file), name).toMatchObject({ pid: process.pid, host: hostname() });
        await taken.release();
      }
    });

    it('waitForStale: waits while nobody touches the lock, then takes it over', async () => {
      const file = path.join(await tempRuntimeDir(), '.lock');
      await writeFile(file, JSON.stringify(otherNamespace(1)));
      let offset = 0;
      const waits: number[] = [];
      const lock = await acquireLock(file, {
        waitForStale: true,
        now: () => Date.now() + offset,
        // The clock jumps past the stale mark once the wait starts (instead of sleeping 10 s).
        onWaitForStale: (holder, touchedAgoMs) => {
          expect(holder).toMatchObject({ pid: 1, nonce: 'other-container' });
          waits.push(touchedAgoMs);
          offset = LOCK_STALE_MS;
        },
      });
      expect(waits).toHaveLength(1);
      expect(waits[0]).toBeLessThan(LOCK_STALE_MS);
      expect(await holderOf(file)).toMatchObject({ pid: process.pid });
      await lock.release();
    });

    it('waitForStale: a lock touched while it waits is alive: refused, saying how long ago it was touched', async () => {
      const file = path.join(await tempRuntimeDir(), '.lock');
      await writeFile(file, JSON.stringify(otherNamespace(1)));
      await backdate(file, 5000);
      const refused = await acquireLock(file, {
        waitForStale: true,
        onWaitForStale: () => void utimes(file, new Date(), new Date()),
      }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(LockHeldError);
      expect((refused as LockHeldError).touchedAgoMs).toBeLessThan(2000);
      expect(await holderOf(file)).toMatchObject({ pid: 1, nonce: 'other-container' });
    });

    it('a held lock that turns out to be another holder’s is lost: told once, never touched again; one removed is put back', async () => {
      const file = path.join(await tempRuntimeDir(), '.lock');
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      const lost: unknown[] = [];
      const lock = await acquireLock(file, { onLost: (holder) => lost.push(holder) });
      const mine = await holderOf(file);
      // Removed by hand: put back as it was (this process still owns the directory).
      await rm(file);
      vi.advanceTimersByTime(LOCK_REFRESH_MS);
      await expect.poll(() => readFile(file, 'utf8').then(JSON.parse, () => null)).toEqual(mine);
      expect(lost).toEqual([]);
      // Taken over (this process stalled past LOCK_STALE_MS): another holder is in the file now.
      const other = { pid: 4242, host: 'elsewhere.example', nonce: 'took-over', acquiredAt: '' };
      await writeFile(file, JSON.stringify(other));
      const before = (await stat(file)).mtimeMs;
      vi.advanceTimersByTime(LOCK_REFRESH_MS);
      await expect.poll(() => lost).toEqual([other]);
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(3 * LOCK_REFRESH_MS);
      // Its release leaves the other's lock alone.
      await lock.release();
      expect(await holderOf(file)).toEqual(other);
      expect((await stat(file)).mtimeMs).toBe(before);
      expect(lost).toHaveLength(1);
    });

    it('a release while a touch is under way leaves no lock behind (the touch does not put back what the release removed)', async () => {
      const dir = await tempRuntimeDir();
      const file = path.join(dir, '.lock');
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      for (let round = 0; round < 5; round++) {
        const lock = await acquireLock(file);
        await rm(file); // the touch below finds it gone and would put it back
        vi.advanceTimersByTime(LOCK_REFRESH_MS);
        await lock.release();
        expect(await readdir(dir)).toEqual([]);
      }
    });

    it('a held lock is touched every LOCK_REFRESH_MS, and no more once released', async () => {
      const file = path.join(await tempRuntimeDir(), '.lock');
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      const lock = await acquireLock(file);
      expect(vi.getTimerCount()).toBe(1);
      await backdate(file, 60_000);
      const before = (await stat(file)).mtimeMs;
      vi.advanceTimersByTime(LOCK_REFRESH_MS);
      await expect.poll(async () => (await stat(file)).mtimeMs).toBeGreaterThan(before + 50_000);
      expect(vi.getTimerCount()).toBe(1);
      await lock.release();
      // Its timer is gone with it: nothing touches a lock file that is no longer this process's.
      expect(vi.getTimerCount()).toBe(0);
    });
  });

  describe('machines that share a host name, told apart by their boot and machine ids (injected here)', () => {
    // This process's machine: its boot began an hour ago.
    const here = { bootId: 'boot-here', machineId: 'machine-here', bootedAt: Date.now() - 3_600_000 };
    const holderFrom = (pid: number, machine: { bootId?: string; machineId?: string }, extra: object = {}) => ({
      pid,
      host: hostname(),
      nonce: 'over-there',
      acquiredAt: '',
      pidns: pidNamespace(),
      ...machine,
      ...extra,
    });

    it('writes its boot and machine ids into the lock beside pid and host', async () => {
      const file = path.join(await tempRuntimeDir(), '.lock');
      const lock = await acquireLock(file, { machine: here });
      expect(await holderOf(file)).toMatchObject({ pid: process.pid, host: hostname(), bootId: 'boot-here', machineId: 'machine-here' });
      await lock.release();
      // The real ones, on Linux: /proc/sys/kernel/random/boot_id (and /etc/machine-id where there is one).
      if (process.platform === 'linux')
        expect(machineIdentity().bootId).toBe((await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim());
    });

    it('a live holder on another machine with this host name (another boot id; another machine id, or none) is not checked by its pid: refused while it touches its lock, taken over once stale', async () => {
      const dir = await tempRuntimeDir();
      const dead = await deadPid();
      const cases = [
        // Its pid is gone here (it runs there): without the boot id this was "dead", taken over at once.
        ['another machine', holderFrom(dead, { bootId: 'boot-there', machineId: 'machine-there' })],
        // This process's own pid there: without the boot id, "a previous process of this pid", taken over at once.
        ['another machine, this pid', holderFrom(process.pid, { bootId: 'boot-there', machineId: 'machine-there' })],
        ['no machine id there', holderFrom(dead, { bootId: 'boot-there' })],
        // Cloned VMs (and the containers of one image) share a machine id: touched since this boot began, it is not an earlier boot's.
        ['the same machine id, touched since this boot', holderFrom(dead, { bootId: 'boot-there', machineId: 'machine-here' })],
      ] as const;
      for (const [what, holder] of cases) {
        const file = path.join(dir, `${what}.lock`);
        await writeFile(file, JSON.stringify(holder));
        const refused = await acquireLock(file, { machine: here }).catch((err: unknown) => err);
        expect([what, refused]).toEqual([what, expect.objectContaining({ name: 'LockHeldError', pid: holder.pid })]);
        expect((refused as LockHeldError).touchedAgoMs, what).toBeLessThan(LOCK_STALE_MS);
        expect(await holderOf(file), what).toEqual(holder);
        // Watched LOCK_STALE_MS without a change: dead, as any holder that cannot be checked by its pid.
        const taken = await takeOverUnchanged(file, { machine: here });
        expect(await holderOf(file), what).toMatchObject({ pid: process.pid, bootId: 'boot-here' });
        await taken.release();
      }
      // No boot id here to compare (not Linux) while the lock has one: not checkable either.
      const file = path.join(dir, 'no-boot-here.lock');
      await writeFile(file, JSON.stringify(holderFrom(dead, { bootId: 'boot-there' })));
      await expect(acquireLock(file, { machine: {} })).rejects.toMatchObject({ name: 'LockHeldError', pid: dead });
    });

    it('a holder from an earlier boot of this machine (same machine id, last touched before this boot began) is dead at once, even with its pid running now; one from this boot is checked by its pid', async () => {
      const dir = await tempRuntimeDir();
      // A container's runner (its own pid namespace) before the machine rebooted 2 s ago; its lock was touched 5 s ago.
      // One clock reading for both (a 3 s stall between two made the lock newer than the boot).
      const now = Date.now();
      const justBooted = { ...here, bootedAt: now - 2000 };
      const earlier = path.join(dir, 'earlier.lock');
      await writeFile(
        earlier,
        JSON.stringify(holderFrom(process.ppid, { bootId: 'boot-before', machineId: 'machine-here' }, { pidns: 'pid:[1]' })),
      );
      await utimes(earlier, new Date(now - 5000), new Date(now - 5000));
      const taken = await acquireLock(earlier, { machine: justBooted });
      expect(await holderOf(earlier)).toMatchObject({ pid: process.pid, bootId: 'boot-here' });
      await taken.release();
      // This boot: its pid tells. The parent runs (refused, no lock age), a dead pid is taken over.
      const live = path.join(dir, 'live.lock');
      await writeFile(live, JSON.stringify(holderFrom(process.ppid, here, { started: processStart(process.ppid) })));
      const refused = await acquireLock(live, { machine: here }).catch((err: unknown) => err);
      expect(refused).toMatchObject({ name: 'LockHeldError', pid: process.ppid, touchedAgoMs: undefined });
      const gone = path.join(dir, 'gone.lock');
      await writeFile(gone, JSON.stringify(holderFrom(await deadPid(), here)));
      await (await acquireLock(gone, { machine: here })).release();
      // A lock from before boot ids were recorded: as before, by host and pid namespace (its dead pid: taken over).
      const old = path.join(dir, 'old.lock');
      await writeFile(old, JSON.stringify(holderFrom(await deadPid(), {})));
      await (await acquireLock(old, { machine: here })).release();
      // Only the live holder's lock is left.
      expect(await readdir(dir)).toEqual(['live.lock']);
    });

    describe('a record from an older version (no bootId): judged by the boot id inside its recorded start (`<boot_id>:<ticks>`)', () => {
      // Boot ids as /proc gives them (the start holds the real format; `here` above does not).
      const bootHere = '11111111-1111-4111-8111-111111111111';
      const bootThere = '22222222-2222-4222-8222-222222222222';
      const thisMachine = { bootId: bootHere, machineId: 'machine-here', bootedAt: Date.now() - 3_600_000 };
      /** A lock as an older version wrote it: pid, host, nonce, start and pid namespace, no boot or machine id. */
      const olderLock = (pid: number, started: string) => ({
        pid,
        host: hostname(),
        nonce: 'older',
        acquiredAt: '',
        started,
        pidns: pidNamespace(),
      });

      it('bootOf takes the boot id from the start; a start not of that shape (or none) is unrecorded as before', () => {
        expect(bootOf({ started: `${bootHere}:4242` }, thisMachine)).toBe('this-boot');
        expect(bootOf({ started: `${bootThere}:4242` }, thisMachine, thisMachine.bootedAt - 1000)).toBe('elsewhere');
        // Its own bootId, where it has one, is what counts.
        expect(bootOf({ bootId: bootHere, started: `${bootThere}:4242` }, thisMachine)).toBe('this-boot');
        for (const started of [undefined, 4242, '', '4242', `${bootThere}:`, `${bootThere}:12x`, 'boot-there:7', `:${bootThere}`])
          expect([started, bootOf({ started }, thisMachine)]).toEqual([started, 'unrecorded']);
      });

      it("a live holder on another machine with this host name, in an older version's lock: not judged by its pid here, refused while touched, taken over once stale", async () => {
        const dir = await tempRuntimeDir();
        const cases = [
          // Its pid gone here (it runs there): without the boot id from its start, "dead", taken over at once.
          ['its pid gone here', olderLock(await deadPid(), `${bootThere}:4242`)],
          // This process's own pid there: without it, "a previous process of this pid", taken over at once.
          ['this pid there', olderLock(process.pid, `${bootThere}:4242`)],
        ] as const;
        for (const [what, holder] of cases) {
          const file = path.join(dir, `${what}.lock`);
          await writeFile(file, JSON.stringify(holder));
          const refused = await acquireLock(file, { machine: thisMachine }).catch((err: unknown) => err);
          expect([what, refused]).toEqual([what, expect.objectContaining({ name: 'LockHeldError', pid: holder.pid })]);
          expect((refused as LockHeldError).touchedAgoMs, what).toBeLessThan(LOCK_STALE_MS);
          expect(await holderOf(file), what).toEqual(holder);
          const taken = await takeOverUnchanged(file, { machine: thisMachine });
          expect(await holderOf(file), what).toMatchObject({ pid: process.pid, bootId: bootHere });
          await taken.release();
        }
      });

      it("an older version's lock from this boot is still checked by its pid: a live one refused at once, a dead one taken over", async () => {
        const dir = await tempRuntimeDir();
        const startOf = (pid: number) => (pid === process.ppid ? `${bootHere}:100` : undefined);
        const live = path.join(dir, 'live.lock');
        await writeFile(live, JSON.stringify(olderLock(process.ppid, `${bootHere}:100`)));
        const refused = await acquireLock(live, { machine: thisMachine, startOf }).catch((err: unknown) => err);
        expect(refused).toMatchObject({ name: 'LockHeldError', pid: process.ppid, touchedAgoMs: undefined });
        const gone = path.join(dir, 'gone.lock');
        await writeFile(gone, JSON.stringify(olderLock(await deadPid(), `${bootHere}:100`)));
        await (await acquireLock(gone, { machine: thisMachine, startOf })).release();
        expect(await readdir(dir)).toEqual(['live.lock']);
      });

      it('judgeOtherProcess and sameProcess (an older runner record) take the same boot id', () => {
        const self = { pid: process.pid, host: 'vm', pidns: 'pid:[4026531836]', started: `${bootHere}:100`, ...thisMachine };
        const gone = () => false;
        const older = (pid: number, started: string) => ({ pid, host: 'vm', pidns: self.pidns, started });
        // Another machine's: unverifiable, its pid gone here or this process's own.
        expect(judgeOtherProcess(older(4242, `${bootThere}:7`), self, { isAlive: gone })).toBe('unverifiable');
        expect(judgeOtherProcess(older(process.pid, `${bootThere}:7`), self)).toBe('unverifiable');
        // This boot's: by its pid, as before.
        expect(judgeOtherProcess(older(4242, `${bootHere}:7`), self, { isAlive: gone })).toBe('dead');
        expect(judgeOtherProcess(older(process.pid, `${bootHere}:7`), self)).toBe('dead');
        expect(sameProcess(older(process.pid, `${bootHere}:100`), self)).toBe(true);
        expect(sameProcess({ pid: process.pid, host: 'vm', started: `${bootThere}:100` }, { ...self, started: undefined })).toBe(false);
      });
    });

    it('bootOf, judgeOtherProcess and sameProcess (the etcd runner records) apply the same rule', () => {
      const self = { pid: process.pid, host: 'vm', pidns: 'pid:[4026531836]', started: 'boot-here:100', ...here };
      const gone = () => false;
      const from = (machine: object, extra: object = {}) => ({ pid: 4242, host: 'vm', pidns: 'pid:[4026531836]', ...machine, ...extra });
      const recent = Date.now() - 1000;
      const beforeBoot = here.bootedAt - 1000;
      expect(bootOf({}, here)).toBe('unrecorded');
      expect(bootOf({ bootId: 'boot-here' }, here)).toBe('this-boot');
      expect(bootOf({ bootId: 'boot-there', machineId: 'machine-there' }, here, beforeBoot)).toBe('elsewhere');
      expect(bootOf({ bootId: 'boot-there' }, here, beforeBoot)).toBe('elsewhere');
      expect(bootOf({ bootId: 'boot-there', machineId: 'machine-here' }, here, recent)).toBe('elsewhere');
      expect(bootOf({ bootId: 'boot-there', machineId: 'machine-here' }, here)).toBe('elsewhere');
      expect(bootOf({ bootId: 'boot-there', machineId: 'machine-here' }, here, beforeBoot)).toBe('earlier-boot');
      expect(bootOf({ bootId: 'boot-here' }, {}, recent)).toBe('elsewhere');
      // Its pid gone here: dead only when it was written in this boot (or recorded no boot).
      expect(judgeOtherProcess(from({ bootId: 'boot-here' }), self, { isAlive: gone })).toBe('dead');
      expect(judgeOtherProcess(from({}), self, { isAlive: gone })).toBe('dead');
      expect(judgeOtherProcess(from({ bootId: 'boot-there', machineId: 'machine-there' }), self, { isAlive: gone })).toBe('unverifiable');
      expect(
        judgeOtherProcess(from({ bootId: 'boot-there', machineId: 'machine-here', lastSeenAt: recent }), self, { isAlive: gone }),
      ).toBe('unverifiable');
      // This process's pid and namespace, another start: on another machine it is not a previous process of this pid.
      expect(judgeOtherProcess(from({ bootId: 'boot-there' }, { pid: process.pid, started: 'boot-there:7' }), self)).toBe('unverifiable');
      // An earlier boot of this machine, in any pid namespace, even with its pid running now: a reboot ended it.
      const alive = () => true;
      expect(
        judgeOtherProcess(from({ bootId: 'boot-before', machineId: 'machine-here', lastSeenAt: beforeBoot }, { pidns: 'pid:[1]' }), self, {
          isAlive: alive,
        }),
      ).toBe('dead');
      // Same host, pid and namespace, no start recorded, another boot: not this process.
      expect(sameProcess({ pid: process.pid, host: 'vm', pidns: self.pidns, bootId: 'boot-there' }, self)).toBe(false);
      expect(sameProcess({ pid: process.pid, host: 'vm', pidns: self.pidns, bootId: 'boot-here' }, self)).toBe(true);
      expect(sameProcess({ pid: process.pid, host: 'vm', pidns: self.pidns }, self)).toBe(true);
    });
  });

  it("lockHolderLook (a runner looking at serve's .lock): a live holder, a dead one, none; one it cannot check by its pid is live until seen unchanged for LOCK_STALE_MS", async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, '.lock');
    let now = 0;
    const look = lockHolderLook(file, { now: () => now });
    expect(await look()).toBeNull(); // no lock file: nobody serves
    await writeFile(file, JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'x', acquiredAt: '' }));
    expect(await look()).toEqual({ pid: process.ppid, host: hostname() });
    // Its process gone (killed -9, the lock left behind): nobody serves, and the file is left as it is.
    const dead = await deadPid();
    await writeFile(file, JSON.stringify({ pid: dead, host: hostname(), nonce: 'y', acquiredAt: '' }));
    expect(await look()).toBeNull();
    expect((await holderOf(file)).pid).toBe(dead);
    // Another host's (or container's): live while its lock changes, judged on the injected monotonic clock.
    await writeFile(file, JSON.stringify({ pid: dead, host: 'elsewhere.example', nonce: 'z', acquiredAt: '' }));
    expect(await look()).toEqual({ pid: dead, host: 'elsewhere.example' });
    now += LOCK_STALE_MS - 1;
    expect(await look()).toEqual({ pid: dead, host: 'elsewhere.example' });
    now += 1;
    expect(await look()).toBeNull(); // unchanged for LOCK_STALE_MS: its holder is gone
    await utimes(file, new Date(Date.now() + 5_000), new Date(Date.now() + 5_000)); // touched: alive again
    expect(await look()).toEqual({ pid: dead, host: 'elsewhere.example' });
    // A lock that names nobody (a power loss left it empty): judged the same way, by its changes.
    await writeFile(file, '');
    expect(await look()).toEqual({ pid: 0, host: '' });
    now += LOCK_STALE_MS;
    expect(await look()).toBeNull();
    await rm(file);
    expect(await look()).toBeNull();
  });

  it('wait mode: waits for the holder to release, and gives up with LockHeldError after waitMs', async () => {
    const file = path.join(await tempRuntimeDir(), '.lock');
    const first = await acquireLock(file);
    const waiting = acquireLock(file, { waitMs: 30_000 });
    setTimeout(() => void first.release(), 50);
    const second = await waiting;
    await expect(acquireLock(file, { waitMs: 100 })).rejects.toBeInstanceOf(LockHeldError);
    await second.release();
  });

  it('withLock serialises read-modify-write sections in one process', async () => {
    const file = path.join(await tempRuntimeDir(), 'counter');
    await writeFile(file, '0');
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withLock(`${file}.lock`, async () => {
          const n = Number(await readFile(file, 'utf8'));
          await new Promise((r) => setTimeout(r, 1));
          await writeFile(file, String(n + 1));
        }),
      ),
    );
    expect(await readFile(file, 'utf8')).toBe('20');
  });

  it("serve's runtime-dir lock, held by a live process on another host whose clock is 15 s behind: refused (exit 75's error), the holder keeps it", async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, '.lock');
    const holder = { pid: 4242, host: 'otherhost.example', nonce: 'abcdef0123456789', acquiredAt: new Date().toISOString() };
    // A holder as another host runs one: its lock touched every LOCK_REFRESH_MS with its own clock, 15 s behind;
    // it says "lost" if its lock stops being its own, and exits when stdin closes.
    const script = `
      const { writeFileSync, utimesSync, readFileSync } = await import('node:fs');
      const file = ${JSON.stringify(file)}, content = ${JSON.stringify(`${JSON.stringify(holder)}\n`)};
      const touch = () => { const t = new Date(Date.now() - 15000); utimesSync(file, t, t); };
      writeFileSync(file, content, { mode: 0o600 });
      touch();
      console.log('holding');
      const timer = setInterval(() => {
        let now = ''; try { now = readFileSync(file, 'utf8'); } catch {}
        if (now !== content) { console.log('lost'); process.exit(0); }
        touch();
      }, ${LOCK_REFRESH_MS});
      process.stdin.resume(); process.stdin.on('end', () => { clearInterval(timer); console.log('kept'); process.exit(0); });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await expect.poll(() => out).toContain('holding');
      const waits: number[] = [];
      const refused = await lockRuntimeDir(dir, { serve: true, runner: false }, { onWait: (_, __, ago) => waits.push(ago) }).catch(
        (err: unknown) => err,
      );
      // Before, its 15 s old mtime made it dead at once: taken over, and the live holder lost its lock.
      expect(refused).toBeInstanceOf(RuntimeDirInUseError);
      expect((refused as RuntimeDirInUseError).message).toMatch(/process 4242 on otherhost\.example holds .*\.lock.*touched the lock/);
      expect(waits).toHaveLength(1);
      expect(await holderOf(file)).toEqual(holder);
    } finally {
      child.stdin.end();
      await exited;
    }
    expect(out).toBe('holding\nkept\n');
  });

  it('concurrent acquirers in separate processes, over a dead holder: exactly one wins', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, '.lock');
    await writeFile(file, JSON.stringify({ pid: await deadPid(), host: hostname(), nonce: 'old', acquiredAt: '' }));
    const lockModule = pathToFileURL(path.join(ROOT, 'src/lock.ts')).href;
    // Each child tries once, reports, and holds what it got until told to exit (stdin closes).
    const script = `
      const { acquireLock } = await import(${JSON.stringify(lockModule)});
      try { await acquireLock(${JSON.stringify(file)}); console.log('won'); } catch (e) { console.log(e.name); }
      process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`;
    const children = Array.from({ length: 6 }, () =>
      spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT }),
    );
    const outcomes = await Promise.all(
      children.map(
        (child) =>
          new Promise<string>((resolve) => {
            let out = '';
            child.stdout.setEncoding('utf8').on('data', (d: string) => {
              out += d;
              if (out.includes('\n')) resolve(out.trim());
            });
          }),
      ),
    );
    for (const child of children) child.stdin.end();
    await Promise.all(children.map((c) => new Promise((resolve) => c.once('exit', resolve))));
    expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'LockHeldError')).toHaveLength(5);
    // The winner's lock went with it (released on exit); no guard or temp file is left behind.
    expect(await readdir(dir)).toEqual([]);
  });
});
