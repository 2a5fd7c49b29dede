import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import type { ConfigStore } from '../../src/config/store.js';
import { createLogger } from '../../src/log.js';
import { type ControlPlaneOptions, type RunningControlPlane, startControlPlane } from '../../src/server.js';
import { gql } from './http.js';
import { tempRuntimeDir } from './runtime-dir.js';

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
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.close()));
});

/** A real server on a random loopback port, in this process, over a temp runtime dir. */
export async function startTestServer(options: Partial<ControlPlaneOptions> = {}): Promise<TestServer> {
  const runtimeDir = options.runtimeDir ?? (await tempRuntimeDir());
  const plane = await startControlPlane({
    host: '127.0.0.1',
    port: 0,
    runtimeDir,
    adminToken: TEST_TOKEN,
    logger: createLogger(process.env.TEST_LOG === '1' ? 'debug' : 'silent'),
    configPollMs: 100,
    ...options,
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
  /** Resolves with the first stdout match of `pattern`, or rejects when the process exits first. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

const children: SpawnedProcess[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop('SIGKILL')));
});

/** Runs `stratctl <args>` (src/cli.ts through tsx) as a separate process. */
export function spawnStratctl(args: string[], env: Record<string, string | undefined> = {}): SpawnedProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, CONTROL_PLANE_TOKEN: undefined, CONTROL_PLANE_LOG_LEVEL: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const child: SpawnedProcess = {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (pattern, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
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
          proc.stdout?.off('data', check);
          proc.off('exit', onExit);
        };
        proc.stdout?.on('data', check);
        proc.once('exit', onExit);
        check();
      }),
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
  children.push(child);
  return child;
}

/** Starts `stratctl serve` on a random port and waits until it listens. */
export async function spawnServer(runtimeDir: string, args: string[] = [], env: Record<string, string | undefined> = {}) {
  const child = spawnStratctl(['serve', '--port', '0', '--runtime-dir', runtimeDir, ...args], env);
  const [, url] = await child.waitFor(/listening on (http:\/\/\S+)/);
  return { ...child, url: url as string };
}
