import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVE_NODE_FLAGS } from '../../src/code-cache.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TOKEN = 'bench-admin-token-0123456789abcdef';

/**
 * The environment every server the bench starts gets (this one and its runner, the peers): the
 * allocator setting `npm start`, the image and the systemd unit run this server with (glibc's mmap
 * threshold fixed at 128 KiB; README, "Memory"). Peers get it too, so the comparison stays like
 * for like. An operator's own value wins there, and here: the bench's environment is kept.
 */
export const SERVER_ENV: NodeJS.ProcessEnv = { MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '131072' };

/**
 * The node flags `serve` is run with in production: the ones `npm start`, the image's CMD and the
 * systemd unit's ExecStart give it (README, "Memory": `--single-threaded-gc`, V8's collector without
 * helper threads). Not the peers' (their stock start), nor `stratctl`'s other commands (`npx
 * stratctl runner`, `npx stratctl status` run plain node). The product's own list (the build's code
 * cache is made with it: src/code-cache.ts).
 */
export const SERVER_NODE_FLAGS: readonly string[] = SERVE_NODE_FLAGS;

/** `controlPlaneCommand` for `serve`: its production flags first, then `nodeFlags`; the label names the former. */
export function serverCommand(cliArgs: string[], nodeFlags: string[] = [], root = ROOT): { file: string; args: string[]; label: string } {
  const cmd = controlPlaneCommand(cliArgs, [...SERVER_NODE_FLAGS, ...nodeFlags], root);
  return { ...cmd, label: cmd.label.replace(/^node /, `node ${SERVER_NODE_FLAGS.join(' ')} `) };
}

/**
 * How "this server" (and its CLI) is started: the ONE place to change when the build changes.
 * The built JavaScript when there is a dist/, else the TypeScript through tsx's loader; either way
 * `node` itself is the spawned process, so its pid is the server's (RSS, --cpu-prof).
 */
export function controlPlaneCommand(
  cliArgs: string[],
  nodeFlags: string[] = [],
  root = ROOT,
): { file: string; args: string[]; label: string } {
  if (existsSync(path.join(root, 'dist/cli.js'))) {
    const cli = root === ROOT ? 'dist/cli.js' : path.join(root, 'dist/cli.js');
    return { file: process.execPath, args: [...nodeFlags, cli, ...cliArgs], label: `node ${cli}` };
  }
  return {
    file: process.execPath,
    args: [...nodeFlags, '--import', 'tsx', 'src/cli.ts', ...cliArgs],
    label: 'node --import tsx src/cli.ts',
  };
}

/** The process groups the bench started (each child leads its own), so a crash or Ctrl-C still ends them, and only them. */
const groups = new Set<number>();

export interface Child {
  proc: ChildProcess;
  pid: number;
  log: string;
  exited: Promise<number | null>;
}

/**
 * Spawns in its own process group (so `npm start`'s grandchildren can be ended too), stdout and
 * stderr to a log file: the bench never has to read a busy server's output on its own event loop.
 */
export function spawnLogged(file: string, args: string[], options: { log: string; env?: NodeJS.ProcessEnv; cwd?: string }): Child {
  const fd = openSync(options.log, 'a');
  const proc = spawn(file, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  if (proc.pid === undefined) throw new Error(`could not spawn ${file}`);
  groups.add(proc.pid);
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code, signal) => {
      // Forget a group once it is empty: its id may be reused by someone else's processes.
      if (!groupAlive(proc.pid!)) groups.delete(proc.pid!);
      resolve(code ?? (signal ? -1 : null));
    });
  });
  return { proc, pid: proc.pid, log: options.log, exited };
}

/** The first match of `pattern` in the child's log, polled; rejects if the child exits first or on timeout. */
export async function waitForLog(child: Child, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  let exited = false;
  void child.exited.then(() => (exited = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(child.log, 'utf8').catch(() => '');
    const match = text.match(pattern);
    if (match) return match;
    if (exited) throw new Error(`${child.log}: the process exited before printing ${pattern}:\n${text.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`${child.log}: no ${pattern} within ${timeoutMs} ms:\n${text.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The address a control plane prints when it listens: today a text line, later a JSON log line with `url`. */
export const LISTENING = /listening on (http:\/\/[^\s"]+)|"url":"(http:\/\/[^"]+)"/;

export function listeningUrl(match: RegExpMatchArray): string {
  return (match[1] ?? match[2])!;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGTERM to the whole group, SIGKILL after `graceMs`; resolves with the leader's exit code once
 * every process of the group is gone (`npm start` exits before the server it started has drained).
 */
export async function stop(child: Child, graceMs = 15_000): Promise<number | null> {
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  kill('SIGTERM');
  const timer = setTimeout(() => kill('SIGKILL'), graceMs);
  const code = await child.exited;
  while (groupAlive(child.pid)) await new Promise((r) => setTimeout(r, 20));
  clearTimeout(timer);
  groups.delete(child.pid);
  return code;
}

function killAllStarted(): void {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** For the bench's own process only: a crash or Ctrl-C still ends every process it started. */
export function endChildrenOnExit(): void {
  process.once('exit', killAllStarted);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAllStarted();
      process.exit(130);
    });
  }
}

/** VmRSS and VmHWM (peak) of a live process, in bytes. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** CPU time a live process used so far, user + system, in ms (from /proc; clock ticks of 10 ms). */
export function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A port free right now (bound then released), for a process whose port must be known before it prints it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
