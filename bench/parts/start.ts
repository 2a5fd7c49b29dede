/** Cold start (spawn -> first /health 200) directly and through `npm start`, and `stratctl status` wall time. */
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { getStatus } from '../lib/http.js';
import { type Child, controlPlaneCommand, freePort, ROOT, SERVER_ENV, spawnLogged, stop, TOKEN } from '../lib/processes.js';
import { atMost, type Row } from '../lib/report.js';
import { formatMs, median } from '../lib/stats.js';

/** ms from spawn to the first 200 from /health, polled every 2 ms on a port chosen beforehand. */
async function timeToHealthy(tmp: string, name: string, launch: (port: number, runtimeDir: string, log: string) => Child): Promise<number> {
  const port = await freePort();
  const runtimeDir = await mkdtemp(path.join(tmp, `${name}-runtime-`));
  const t0 = performance.now();
  const child = launch(port, runtimeDir, path.join(tmp, `${name}.log`));
  let exited = false;
  void child.exited.then(() => (exited = true));
  try {
    for (;;) {
      if ((await getStatus(`http://127.0.0.1:${port}/health`)) === 200) return performance.now() - t0;
      if (exited) throw new Error(`${name} exited before /health answered (log: ${child.log})`);
      if (performance.now() - t0 > 30_000) throw new Error(`${name}: /health not 200 within 30 s (log: ${child.log})`);
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    await stop(child);
  }
}

export interface StartFigures {
  label: string;
  direct: number[];
  npm: number[];
}

export async function coldStarts(tmp: string, times: number, progress: (l: string) => void): Promise<StartFigures> {
  // npm start sets the allocator itself (its script); the direct start gets what the image and the unit set.
  const env = { CONTROL_PLANE_TOKEN: TOKEN };
  const serveArgs = (port: number, dir: string) => ['--production', '--port', String(port), '--runtime-dir', dir];
  const label = controlPlaneCommand(['serve']).label;
  const direct: number[] = [];
  const npm: number[] = [];
  for (let i = 0; i < times; i++) {
    // Interleaved: a busy moment on the shared machine hits both ways of starting alike.
    direct.push(
      await timeToHealthy(tmp, `start-direct-${i}`, (port, dir, log) => {
        const cmd = controlPlaneCommand(['serve', ...serveArgs(port, dir)]);
        return spawnLogged(cmd.file, cmd.args, { log, env: { ...SERVER_ENV, ...env } });
      }),
    );
    npm.push(
      await timeToHealthy(tmp, `start-npm-${i}`, (port, dir, log) =>
        spawnLogged('npm', ['start', '--', ...serveArgs(port, dir)], { log, env, cwd: ROOT }),
      ),
    );
    progress(`  cold start ${i + 1}/${times}: direct ${formatMs(direct.at(-1)!)} ms, npm start ${formatMs(npm.at(-1)!)} ms`);
  }
  return { label, direct, npm };
}

/** `stratctl status` (bin/stratctl.js, the operator's command) against a running server: spawn -> exit. */
export async function stratctlStatus(tmp: string, url: string, times: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    const child = spawnLogged(process.execPath, ['bin/stratctl.js', 'status', '--url', url], {
      log: path.join(tmp, `stratctl-status-${i}.log`),
      env: { CONTROL_PLANE_TOKEN: TOKEN },
    });
    const code = await child.exited;
    if (code !== 0) throw new Error(`stratctl status exited ${code} (log: ${child.log})`);
    ms.push(performance.now() - t0);
  }
  return ms;
}

const spread = (xs: number[]) =>
  `median ${formatMs(median(xs))} ms (${formatMs(Math.min(...xs))}–${formatMs(Math.max(...xs))}, n=${xs.length})`;

export function startRows(s: StartFigures): Row[] {
  return [
    {
      figure: `cold start: \`${s.label} serve\` -> /health 200`,
      ours: spread(s.direct),
      target: '<= 400 ms',
      verdict: atMost(median(s.direct), 400),
    },
    { figure: 'cold start: `npm start` -> /health 200', ours: spread(s.npm), target: '<= 700 ms', verdict: atMost(median(s.npm), 700) },
  ];
}

export function stratctlRows(ms: number[]): Row[] {
  return [
    { figure: '`stratctl status` wall time (running server)', ours: spread(ms), target: '<= 300 ms', verdict: atMost(median(ms), 300) },
  ];
}
