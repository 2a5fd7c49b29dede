/** Starting and asking "this server": only through its CLI and its HTTP API, so the bench follows rewrites of the inside. */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getStatus, postGraphQL, QUERIES } from './http.js';
import {
  type Child,
  controlPlaneCommand,
  LISTENING,
  listeningUrl,
  SERVER_ENV,
  serverCommand,
  spawnLogged,
  TOKEN,
  waitForLog,
} from './processes.js';

export interface RunningServer {
  child: Child;
  /** http://127.0.0.1:<port>/graphql */
  url: string;
  origin: string;
  runtimeDir: string;
  label: string;
}

/**
 * `serve --production` on port 0 in a fresh runtime dir with a known admin token; resolves once /health answers 200.
 * `tokenFrom`: the admin token in CONTROL_PLANE_TOKEN (the image's, compose's and etcd deployments' way;
 * the default here) or in the runtime dir's admin.token (npm start's default), which the server follows.
 */
export async function startServer(
  tmp: string,
  name: string,
  options: { serveArgs?: string[]; nodeFlags?: string[]; root?: string; tokenFrom?: 'env' | 'file' } = {},
): Promise<RunningServer> {
  const runtimeDir = await mkdtemp(path.join(tmp, `${name}-runtime-`));
  const fromFile = options.tokenFrom === 'file';
  if (fromFile) await writeFile(path.join(runtimeDir, 'admin.token'), `${TOKEN}\n`, { mode: 0o600 });
  const cmd = serverCommand(
    ['serve', '--production', '--port', '0', '--runtime-dir', runtimeDir, ...(options.serveArgs ?? [])],
    options.nodeFlags,
    options.root,
  );
  const child = spawnLogged(cmd.file, cmd.args, {
    log: path.join(tmp, `${name}.log`),
    env: {
      ...SERVER_ENV,
      // Unset, not empty, for the file's token: an inherited one would win over the file.
      CONTROL_PLANE_TOKEN: fromFile ? undefined : TOKEN,
    },
  });
  const url = listeningUrl(await waitForLog(child, LISTENING));
  const origin = new URL(url).origin;
  const deadline = Date.now() + 10_000;
  while ((await getStatus(`${origin}/health`)) !== 200) {
    if (Date.now() > deadline) throw new Error(`${name}: /health did not answer 200 within 10 s (log: ${child.log})`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, url, origin, runtimeDir, label: cmd.label };
}

/** Starts `stratctl runner` (through the same launcher as the server) on a runtime dir. */
export function startRunner(tmp: string, name: string, runtimeDir: string): Child {
  // As operators start one (`npx stratctl runner`: plain node, without the server's flags).
  const cmd = controlPlaneCommand(['runner', '--runtime-dir', runtimeDir]);
  return spawnLogged(cmd.file, cmd.args, { log: path.join(tmp, `${name}.log`), env: { ...SERVER_ENV, CONTROL_PLANE_TOKEN: TOKEN } });
}

export interface StatusFigures {
  activeStrategyKey: string;
  configVersion: number;
  runnerState: string;
}

export async function statusOf(url: string): Promise<StatusFigures> {
  const answer = await postGraphQL(url, { query: QUERIES.status });
  const status = answer.body?.data?.status;
  if (answer.status !== 200 || !status) throw new Error(`status query failed: HTTP ${answer.status} ${answer.text.slice(0, 300)}`);
  return { activeStrategyKey: status.activeStrategyKey, configVersion: status.configVersion, runnerState: status.runner.state };
}

/** Waits until status.runner.state is RUNNING (an embedded runner's first scan, or a separate one's first heartbeat). */
export async function waitForRunnerRunning(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { runnerState } = await statusOf(url);
    if (runnerState === 'RUNNING') return;
    if (Date.now() > deadline) throw new Error(`runner not RUNNING within ${timeoutMs} ms (state ${runnerState})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Lines in <runtime-dir>/audit.log: one per accepted change. */
export async function auditLines(runtimeDir: string): Promise<number> {
  const text = await readFile(path.join(runtimeDir, 'audit.log'), 'utf8').catch(() => '');
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
