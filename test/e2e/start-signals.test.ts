import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { freshPrefix, rawClient } from '../helpers/etcd-stores.js';
import { isRunning, processTree } from '../helpers/processes.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { type SpawnedProcess, spawnStratctl } from '../helpers/server.js';

const TOKEN = 'env-token-abcdefghijklmnop';
/**
 * An operator's Ctrl-C must end a start that waits within this (README: Stopping), as the process
 * measures it: the end line's `stopped after <s> s`, from the signal's handler to the end. A start
 * that waited on (the lock's 10 s, etcd's 2 s call timeout) before it stopped says more.
 */
const PROMPT_MS = 1000;
/**
 * The process gone, as this test sees it (kill to exit): wide, since a loaded machine delays this
 * process as well as the child; still far below the 10 s lock wait, and it catches a process that
 * logged its end but did not exit.
 */
const EXITED_MS = 5000;

/** The seconds the last `stopped after <s> s (exit <n>)` line says, or NaN when there is none. */
function stopSeconds(stderr: string): number {
  const ends = [...stderr.matchAll(/stopped after ([\d.]+) s \(exit \d+\)/g)];
  return Number(ends.at(-1)?.[1] ?? Number.NaN);
}
const WAITING_FOR_LOCK = /waiting for it to touch the lock/;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A lock file of a holder on another host (it cannot be checked by its pid), touched just now and
 * not again: the newcomer watches it up to LOCK_STALE_MS (10 s) for a touch before taking it over.
 */
async function foreignLock(file: string): Promise<string> {
  const content = `${JSON.stringify({ pid: 4242, host: 'elsewhere.example', nonce: 'held-elsewhere', acquiredAt: '' })}\n`;
  await writeFile(file, content);
  return content;
}

/** A TCP port that takes connections and never answers (an etcd behind a black hole): the start waits on it. */
async function silentPort(): Promise<{ port: number; connected: Promise<void> }> {
  const sockets = new Set<Socket>();
  let connectedNow: () => void = () => {};
  const connected = new Promise<void>((resolve) => {
    connectedNow = resolve;
  });
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    connectedNow();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(resolve);
      }),
  );
  return { port: (server.address() as { port: number }).port, connected };
}

/**
 * The log lines of a stop during start-up that say what happened, in the order written: the signal,
 * then its cause (the start abandoned), then the end line. An on-call reads the last line as the end.
 */
function stopLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .flatMap(
      (line) =>
        line.match(
          /SIG[A-Z]+: (?:stopping the runner|finishing in-flight requests)|during start-up: stopped before it finished|stopped after [\d.]+ s \(exit \d+\)/,
        ) ?? [],
    );
}

/**
 * serve's lines for a start a signal ended: the cause, then the end line every stop by signal ends
 * with (no "finishing in-flight requests" line: it never served one).
 */
const SERVE_ABANDONED = ['during start-up: stopped before it finished', expect.stringMatching(/^stopped after [\d.]+ s \(exit 0\)$/)];

/** Signals `child` and measures how long it takes to exit; also the pids it had just before. */
async function interrupt(child: SpawnedProcess, signal: NodeJS.Signals): Promise<{ code: number | null; ms: number; tree: number[] }> {
  const tree = processTree(child.proc.pid as number);
  const t0 = performance.now();
  child.proc.kill(signal);
  const code = await child.exited;
  const ms = performance.now() - t0;
  // Its output whole (the end line may still be in the pipe at exit).
  await child.closed;
  return { code, ms, tree };
}

describe('a stop signal during a start that waits (README: Stopping): it ends the start at once, exit 0, nothing left behind', () => {
  it('serve waiting for the .lock of a holder it cannot check by its pid: SIGINT exits 0 within 1 s, writes nothing, leaves that lock alone', async () => {
    const dir = await tempRuntimeDir();
    const lock = path.join(dir, '.lock');
    const held = await foreignLock(lock);
    const server = spawnStratctl(['serve', '--port', '0', '--runtime-dir', dir], { CONTROL_PLANE_TOKEN: TOKEN });
    await server.waitFor(WAITING_FOR_LOCK);
    const { code, ms, tree } = await interrupt(server, 'SIGINT');
    expect({ code, exited: ms < EXITED_MS, promptly: stopSeconds(server.stderr()) < PROMPT_MS / 1000 }).toEqual({
      code: 0,
      exited: true,
      promptly: true,
    });
    expect(server.stderr()).toContain('SIGINT during start-up: stopped before it finished');
    // The end line of any stop by signal, last (it was missing: the log ended at the cause).
    expect(stopLines(server.stderr())).toEqual(SERVE_ABANDONED);
    expect(server.stdout()).not.toContain('listening on');
    // Only the other holder's lock: no admin token, no config, no lock of its own.
    expect(await readdir(dir)).toEqual(['.lock']);
    expect(await readFile(lock, 'utf8')).toBe(held);
    expect(tree.filter(isRunning)).toEqual([]);
  });

  it('serve waiting for the .runner.lock of such a holder (its embedded runner): SIGTERM exits 0 within 1 s, the end line last, in json too', async () => {
    const dir = await tempRuntimeDir();
    const lock = path.join(dir, '.runner.lock');
    const held = await foreignLock(lock);
    const server = spawnStratctl(['serve', '--port', '0', '--runtime-dir', dir, '--log-format', 'json'], { CONTROL_PLANE_TOKEN: TOKEN });
    await server.waitFor(WAITING_FOR_LOCK);
    const { code, ms, tree } = await interrupt(server, 'SIGTERM');
    expect({ code, exited: ms < EXITED_MS, promptly: stopSeconds(server.stderr()) < PROMPT_MS / 1000 }).toEqual({
      code: 0,
      exited: true,
      promptly: true,
    });
    const lines = server
      .stderr()
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { msg: string; exitCode?: number; stopSeconds?: number });
    expect(stopLines(lines.map((line) => line.msg).join('\n'))).toEqual(SERVE_ABANDONED);
    // The last line, with the fields a normal stop's end line has.
    expect(lines.at(-1)).toMatchObject({ exitCode: 0, stopSeconds: expect.any(Number) });
    expect(lines.at(-1)?.stopSeconds).toBeLessThan(PROMPT_MS / 1000);
    // Its own .lock released; the other holder's .runner.lock left as it was.
    expect(await readdir(dir)).toEqual(['.runner.lock']);
    expect(await readFile(lock, 'utf8')).toBe(held);
    expect(tree.filter(isRunning)).toEqual([]);
  });

  it('stratctl runner waiting for the .runner.lock of such a holder: SIGTERM exits 0 within 1 s, its files released', async () => {
    const dir = await tempRuntimeDir();
    const lock = path.join(dir, '.runner.lock');
    const held = await foreignLock(lock);
    const runner = spawnStratctl(['runner', '--runtime-dir', dir]);
    await runner.waitFor(WAITING_FOR_LOCK);
    const { code, ms, tree } = await interrupt(runner, 'SIGTERM');
    expect({ code, exited: ms < EXITED_MS, promptly: stopSeconds(runner.stderr()) < PROMPT_MS / 1000 }).toEqual({
      code: 0,
      exited: true,
      promptly: true,
    });
    expect(runner.stderr()).toContain('SIGTERM during start-up: stopped before it finished');
    expect(stopLines(runner.stderr())).toEqual([
      'SIGTERM: stopping the runner',
      'during start-up: stopped before it finished',
      expect.stringMatching(/^stopped after [\d.]+ s \(exit 0\)$/),
    ]);
    expect(runner.stdout()).not.toContain('strategy runner started');
    expect(await readdir(dir)).toEqual(['.runner.lock']);
    expect(await readFile(lock, 'utf8')).toBe(held);
    expect(tree.filter(isRunning)).toEqual([]);
  });

  for (const command of ['serve', 'runner'] as const) {
    it(`${command} on an etcd that does not answer at start: SIGINT exits 0 within 1 s (not 1 after the 2 s call timeout)`, async () => {
      const dir = await tempRuntimeDir();
      const etcd = await silentPort();
      const args = command === 'serve' ? ['serve', '--port', '0'] : ['runner'];
      const child = spawnStratctl([...args, '--runtime-dir', dir, '--store', `etcd://127.0.0.1:${etcd.port}/scp`], {
        CONTROL_PLANE_TOKEN: TOKEN,
      });
      // Connected to the silent "etcd": the process is inside its start, waiting for an answer.
      await etcd.connected;
      const { code, ms, tree } = await interrupt(child, 'SIGINT');
      expect({ code, exited: ms < EXITED_MS, promptly: stopSeconds(child.stderr()) < PROMPT_MS / 1000 }).toEqual({
        code: 0,
        exited: true,
        promptly: true,
      });
      expect(child.stderr()).toContain('SIGINT during start-up: stopped before it finished');
      expect(stopLines(child.stderr())).toEqual(
        command === 'runner'
          ? [
              'SIGINT: stopping the runner',
              'during start-up: stopped before it finished',
              expect.stringMatching(/^stopped after [\d.]+ s \(exit 0\)$/),
            ]
          : SERVE_ABANDONED,
      );
      expect(child.stderr()).not.toContain('cannot start');
      expect(await readdir(dir)).toEqual([]);
      expect(tree.filter(isRunning)).toEqual([]);
    });
  }
});

describeWithEtcd('a stop signal while stratctl runner watches its --runner-id on etcd (a state another host published)', () => {
  it('SIGTERM ends the watch at once: exit 0, the cause before the end line, not exit 75 when the holder next beats', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    // Published by a runner on another host, heartbeating every minute: the newcomer watches it for 3 minutes.
    const now = new Date().toISOString();
    const holder = {
      id: 'acct-fx',
      host: 'elsewhere.example',
      pid: 4242,
      instruments: null,
      feed: 'sim',
      startedAt: now,
      heartbeatAt: now,
      heartbeatIntervalMs: 60_000,
      stopped: false,
      applied: null,
      lastScanAt: null,
      lastSignals: [],
      error: null,
    };
    await rawClient(cluster).put(`/${prefix}/runners/acct-fx`).value(JSON.stringify(holder));
    const dir = await tempRuntimeDir();
    const runner = spawnStratctl(['runner', '--store', cluster.url(prefix), '--runner-id', 'acct-fx', '--runtime-dir', dir]);
    await runner.waitFor(/waiting up to 3 heartbeats/);
    const tree = processTree(runner.proc.pid as number);
    const t0 = performance.now();
    runner.proc.kill('SIGTERM');
    const code = await Promise.race([runner.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 2 * EXITED_MS))]);
    const ms = performance.now() - t0;
    if (typeof code === 'number') await runner.closed;
    expect({ code, exited: ms < EXITED_MS, promptly: stopSeconds(runner.stderr()) < PROMPT_MS / 1000 }).toEqual({
      code: 0,
      exited: true,
      promptly: true,
    });
    expect(stopLines(runner.stderr())).toEqual([
      'SIGTERM: stopping the runner',
      'during start-up: stopped before it finished',
      expect.stringMatching(/^stopped after [\d.]+ s \(exit 0\)$/),
    ]);
    expect(runner.stdout()).not.toContain('strategy runner started');
    expect(await readdir(dir)).toEqual([]);
    // The holder's state untouched: the newcomer wrote nothing.
    expect(await rawClient(cluster).get(`/${prefix}/runners/acct-fx`).json()).toEqual(holder);
    expect(tree.filter(isRunning)).toEqual([]);
  });
});
