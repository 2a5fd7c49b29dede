import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVE_NODE_FLAGS } from '../../src/code-cache.js';
import type { ConfigStore } from '../../src/config/store.js';
import { createLogger } from '../../src/log.js';
import { type ControlPlaneOptions, type RunningControlPlane, startControlPlane } from '../../src/server.js';
import { afterEachTest } from './cleanup.js';
import { gql } from './http.js';
import { tempRuntimeDir } from './runtime-dir.js';
import { cliEnv } from './stratctl.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TEST_TOKEN = 'test-admin-token-0123456789abcdef';

export interface TestServer extends RunningControlPlane {
  runtimeDir: string;
  /** The plane's config store (`services.store`). */
  store: ConfigStore;
  token: string;
  /** Runs a GraphQL operation over HTTP; with the admin token unless `token` says otherwise (null: none). */
  gql: <T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string | null) => ReturnType<typeof gql<T>>;
}

const running: RunningControlPlane[] = [];
afterEachTest(async () => {
  await Promise.all(running.splice(0).map((p) => p.close()));
});

/**
 * A real server on a random loopback port, in this process, over a temp runtime dir. Its admin token
 * is TEST_TOKEN, given as CONTROL_PLANE_TOKEN is; with `adminTokenFile`, written to the runtime dir's
 * admin.token instead (as a deployment without CONTROL_PLANE_TOKEN has it): only then does /health
 * prove it holds the token, so only then does stratctl send that file's token to it.
 */
export async function startTestServer(options: Partial<ControlPlaneOptions> & { adminTokenFile?: boolean } = {}): Promise<TestServer> {
  const { adminTokenFile = false, ...rest } = options;
  const runtimeDir = options.runtimeDir ?? (await tempRuntimeDir());
  if (adminTokenFile) await writeFile(path.join(runtimeDir, 'admin.token'), `${options.adminToken ?? TEST_TOKEN}\n`, { mode: 0o600 });
  const plane = await startControlPlane({
    host: '127.0.0.1',
    port: 0,
    runtimeDir,
    logger: createLogger({ level: process.env.TEST_LOG === '1' ? 'debug' : 'silent', format: 'text' }),
    adminToken: TEST_TOKEN,
    configPollMs: 100,
    ...rest,
    ...(adminTokenFile && { adminToken: undefined }),
  });
  running.push(plane);
  return Object.assign(plane, {
    runtimeDir,
    store: plane.services.store,
    token: options.adminToken ?? TEST_TOKEN,
    gql: <T>(query: string, variables?: Record<string, unknown>, token: string | null = options.adminToken ?? TEST_TOKEN) =>
      gql<T>(plane.url, query, variables, token === null ? {} : { token }),
  });
}

export interface SpawnedProcess {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /**
   * Resolves once the process exited and its output pipes closed: stdout() and stderr() are then
   * whole (at 'exit' the last lines may still be in the pipe, and a child it left may hold it open).
   */
  closed: Promise<void>;
  /** Resolves with the first match of `pattern` in stdout then stderr, or rejects when the process exits first. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

const children: SpawnedProcess[] = [];
afterEachTest(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop('SIGKILL')));
});

/** The built CLI, as `npx stratctl` runs it (test/global-setup.ts keeps dist/ current). */
export const STRATCTL_BIN = path.join(ROOT, 'bin/stratctl.js');

/** Spawns a command with piped output, and helpers to wait on it; killed after the test. */
export function spawnProcess(
  command: string,
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    /** Its own process group (as a terminal's job): `stop` signals the whole group. */
    group?: boolean;
  } = {},
): SpawnedProcess {
  const proc = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.group ?? false,
  });
  let out = '';
  let err = '';
  const changed = new Set<() => void>();
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const check of changed) check();
  });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    for (const check of changed) check();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const closed = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  const child: SpawnedProcess = {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    closed,
    waitFor: (pattern, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern) ?? err.match(pattern);
          if (m) {
            cleanup();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern}\nstdout: ${out}\nstderr: ${err}`));
        }, timeoutMs);
        const onExit = (code: number | null) => {
          cleanup();
          reject(new Error(`process exited (${code}) before ${pattern}\nstdout: ${out}\nstderr: ${err}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          changed.delete(check);
          proc.off('exit', onExit);
        };
        changed.add(check);
        proc.once('exit', onExit);
        check();
      }),
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) {
        if (options.group && proc.pid !== undefined) process.kill(-proc.pid, signal);
        else proc.kill(signal);
      }
      return exited;
    },
  };
  children.push(child);
  return child;
}

/**
 * Runs the built `stratctl <args>` as a separate process. Logs come in text format (as at a
 * terminal) unless `env` says otherwise; no CONTROL_PLANE_* setting leaks in from the shell.
 */
export function spawnStratctl(args: string[], env: Record<string, string | undefined> = {}): SpawnedProcess {
  return spawnProcess(process.execPath, [STRATCTL_BIN, ...args], { env: cliEnv({ CONTROL_PLANE_LOG_FORMAT: 'text', ...env }) });
}

/** The address a server announces: `listening on <url>` on stdout (text) or in a JSON log line (json). */
export const LISTENING = /listening on (http:\/\/[^\s"]+)/;

/**
 * Starts `serve` on a random port as production does (npm start, the image, the unit: `node
 * --single-threaded-gc dist/cli.js serve`, so from the build's code cache: src/code-cache.ts) and
 * waits until it listens. `npx stratctl serve` (no node flags: from the ES modules) is spawnStratctl's.
 */
export async function spawnServer(runtimeDir: string, args: string[] = [], env: Record<string, string | undefined> = {}) {
  const child = spawnProcess(
    process.execPath,
    [...SERVE_NODE_FLAGS, path.join(ROOT, 'dist/cli.js'), 'serve', '--port', '0', '--runtime-dir', runtimeDir, ...args],
    { env: cliEnv({ CONTROL_PLANE_LOG_FORMAT: 'text', ...env }) },
  );
  const [, url] = await child.waitFor(LISTENING);
  return { ...child, url: url as string };
}
