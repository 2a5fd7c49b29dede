import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { acquireLock, LockHeldError, processStart, withLock } from '../../src/lock.js';
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
