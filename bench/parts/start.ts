/** Cold start (spawn -> first /health 200) directly, through `npm start` and on a long audit trail, and `stratctl status` wall time. */
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startServer } from '../lib/control-plane.js';
import { getStatus, postGraphQL, QUERIES } from '../lib/http.js';
import { type Child, freePort, memoryOf, ROOT, SERVER_ENV, serverCommand, spawnLogged, stop, TOKEN } from '../lib/processes.js';
import { atMost, type Row } from '../lib/report.js';
import { formatMs, median } from '../lib/stats.js';

/** ms from spawn to the first 200 from /health, polled every 2 ms on a port chosen beforehand. */
async function timeToHealthy(
  tmp: string,
  name: string,
  launch: (port: number, runtimeDir: string, log: string) => Child,
  options: { seed?: string; healthy?: (child: Child) => void } = {},
): Promise<number> {
  const port = await freePort();
  const runtimeDir = await mkdtemp(path.join(tmp, `${name}-runtime-`));
  if (options.seed) await cp(options.seed, runtimeDir, { recursive: true });
  const t0 = performance.now();
  const child = launch(port, runtimeDir, path.join(tmp, `${name}.log`));
  let exited = false;
  void child.exited.then(() => (exited = true));
  try {
    for (;;) {
      if ((await getStatus(`http://127.0.0.1:${port}/health`)) === 200) {
        const ms = performance.now() - t0;
        options.healthy?.(child);
        return ms;
      }
      if (exited) throw new Error(`${name} exited before /health answered (log: ${child.log})`);
      if (performance.now() - t0 > 30_000) throw new Error(`${name}: /health not 200 within 30 s (log: ${child.log})`);
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    await stop(child);
  }
}

/**
 * The host's floor for a start, timed the same way in the same run: a bare node:http server that
 * answers 200 at once (Node's own start, one listen). Absolute times move with the shared host (a
 * busy hour made every figure here ~1.5x slower); this floor moves with them.
 */
const BARE_SERVER = `require('node:http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'application/json' }); s.end('{"status":"ok"}'); }).listen(Number(process.argv[1]), '127.0.0.1');`;

/** The floor for `stratctl status`: a bare node process that POSTs the same query with node:http and prints the answer. */
const BARE_CLIENT = `const u = new URL(process.argv[1]); const body = JSON.stringify({ query: ${JSON.stringify(QUERIES.status)} });
const r = require('node:http').request(u, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + process.env.CONTROL_PLANE_TOKEN } }, (res) => { let t = ''; res.setEncoding('utf8'); res.on('data', (c) => (t += c)); res.on('end', () => { process.stdout.write(t + '\\n'); process.exitCode = res.statusCode === 200 ? 0 : 1; }); });
r.end(body);`;

export interface StartFigures {
  label: string;
  direct: number[];
  /** A bare node:http server's start, interleaved (BARE_SERVER). */
  bare: number[];
  npm: number[];
  /** Direct starts on a runtime dir whose audit.log has LONG_TRAIL_LINES lines, and the peak RSS of each at /health. */
  longTrail: number[];
  longTrailPeak: number[];
  longTrailBytes: number;
}

/** Lines in the long trail (a config change every 5 minutes for about two years). */
export const LONG_TRAIL_LINES = 200_000;

/**
 * A runtime dir a server left after a preset change and a few activations, its audit.log then
 * grown to LONG_TRAIL_LINES lines: the preset change stays in the first lines, the config changes
 * come after it (copies of a real activation's line), the last line is the config in force. So a
 * start looks through the whole file for a second preset change (the most it reads), and writes nothing.
 */
async function longTrailDir(tmp: string): Promise<{ dir: string; bytes: number }> {
  const server = await startServer(tmp, 'long-trail-seed');
  try {
    const preset = await postGraphQL(server.url, {
      query: 'mutation { upsertPreset(input: { key: "gold_fast", base: "gold", name: "Gold fast" }) { changed } }',
    });
    if (preset.body?.data?.upsertPreset?.changed !== true) throw new Error(`long trail seed: upsertPreset answered ${preset.text}`);
    for (const key of ['gold', 'range', 'gold_fast']) {
      const answer = await postGraphQL(server.url, { query: `mutation { activateStrategy(strategyKey: "${key}") { changed } }` });
      if (answer.body?.data?.activateStrategy?.changed !== true)
        throw new Error(`long trail seed: activateStrategy answered ${answer.text}`);
    }
  } finally {
    await stop(server.child);
  }
  const file = path.join(server.runtimeDir, 'audit.log');
  const lines = (await readFile(file, 'utf8')).trim().split('\n');
  const [baseline, presets, activation, ...rest] = lines;
  const last = JSON.parse(rest.at(-1)!);
  const template = JSON.parse(activation!);
  const filler = Array.from({ length: LONG_TRAIL_LINES - 3 }, (_, i) =>
    JSON.stringify({ ...template, version: i + 2, config: { ...template.config, version: i + 2 } }),
  );
  const version = LONG_TRAIL_LINES;
  const text = `${[baseline, presets, ...filler, JSON.stringify({ ...last, version, config: { ...last.config, version } })].join('\n')}\n`;
  await writeFile(file, text);
  return { dir: server.runtimeDir, bytes: Buffer.byteLength(text) };
}

export async function coldStarts(tmp: string, times: number, progress: (l: string) => void): Promise<StartFigures> {
  // npm start sets the allocator itself (its script); the direct start gets what the image and the unit set.
  const env = { CONTROL_PLANE_TOKEN: TOKEN };
  const serveArgs = (port: number, dir: string) => ['--production', '--port', String(port), '--runtime-dir', dir];
  const label = serverCommand(['serve']).label;
  const direct: number[] = [];
  const bare: number[] = [];
  const npm: number[] = [];
  const longTrail: number[] = [];
  const longTrailPeak: number[] = [];
  const trail = await longTrailDir(tmp);
  const directStart = (port: number, dir: string, log: string) => {
    const cmd = serverCommand(['serve', ...serveArgs(port, dir)]);
    return spawnLogged(cmd.file, cmd.args, { log, env: { ...SERVER_ENV, ...env } });
  };
  for (let i = 0; i < times; i++) {
    // Interleaved: a busy moment on the shared machine hits both ways of starting alike.
    direct.push(await timeToHealthy(tmp, `start-direct-${i}`, directStart));
    bare.push(
      await timeToHealthy(tmp, `start-bare-${i}`, (port, _dir, log) =>
        spawnLogged(process.execPath, ['-e', BARE_SERVER, String(port)], { log, env: SERVER_ENV }),
      ),
    );
    npm.push(
      await timeToHealthy(tmp, `start-npm-${i}`, (port, dir, log) =>
        spawnLogged('npm', ['start', '--', ...serveArgs(port, dir)], { log, env, cwd: ROOT }),
      ),
    );
    longTrail.push(
      await timeToHealthy(tmp, `start-long-trail-${i}`, directStart, {
        seed: trail.dir,
        healthy: (child) => longTrailPeak.push(memoryOf(child.pid).peak),
      }),
    );
    progress(
      `  cold start ${i + 1}/${times}: direct ${formatMs(direct.at(-1)!)} ms, bare node:http ${formatMs(bare.at(-1)!)} ms, npm start ${formatMs(npm.at(-1)!)} ms, long trail ${formatMs(longTrail.at(-1)!)} ms`,
    );
  }
  return { label, direct, bare, npm, longTrail, longTrailPeak, longTrailBytes: trail.bytes };
}

/** Spawn -> exit of `node <args>`, which must exit 0. */
async function timedRun(tmp: string, name: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  const child = spawnLogged(process.execPath, args, { log: path.join(tmp, `${name}.log`), env: { CONTROL_PLANE_TOKEN: TOKEN } });
  const code = await child.exited;
  if (code !== 0) throw new Error(`${name} exited ${code} (log: ${child.log})`);
  return performance.now() - t0;
}

export interface StratctlFigures {
  ms: number[];
  /** The same query from a bare node process (BARE_CLIENT), interleaved. */
  bare: number[];
}

/** `stratctl status` (bin/stratctl.js, the operator's command) against a running server: spawn -> exit; the bare client beside it. */
export async function stratctlStatus(tmp: string, url: string, times: number): Promise<StratctlFigures> {
  const ms: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < times; i++) {
    ms.push(await timedRun(tmp, `stratctl-status-${i}`, ['bin/stratctl.js', 'status', '--url', url]));
    bare.push(await timedRun(tmp, `bare-client-${i}`, ['-e', BARE_CLIENT, url]));
  }
  return { ms, bare };
}

const spread = (xs: number[]) =>
  `median ${formatMs(median(xs))} ms (${formatMs(Math.min(...xs))}–${formatMs(Math.max(...xs))}, n=${xs.length})`;

export function startRows(s: StartFigures): Row[] {
  return [
    {
      figure: `cold start: \`${s.label} serve\` -> /health 200`,
      ours: `${spread(s.direct)}; the host's floor in the same run, a bare node:http server's start: ${spread(s.bare)}`,
      target: '<= 400 ms',
      verdict: atMost(median(s.direct), 400),
    },
    { figure: 'cold start: `npm start` -> /health 200', ours: spread(s.npm), target: '<= 700 ms', verdict: atMost(median(s.npm), 700) },
    {
      figure: `cold start on a ${LONG_TRAIL_LINES.toLocaleString('en-US')}-line audit.log (${Math.round(s.longTrailBytes / 1e6)} MB; its one preset change in the first lines, so all of it is looked through)`,
      ours: `${spread(s.longTrail)}: ${(median(s.longTrail) / median(s.direct)).toFixed(2)}x the fresh start; peak RSS at /health: median ${Math.round(median(s.longTrailPeak) / 2 ** 20)} MB`,
      verdict: 'no target',
    },
  ];
}

export function stratctlRows(f: StratctlFigures): Row[] {
  return [
    {
      figure: '`stratctl status` wall time (running server)',
      ours: `${spread(f.ms)}; the host's floor in the same run, a bare node process POSTing the same query: ${spread(f.bare)}`,
      target: '<= 300 ms',
      verdict: atMost(median(f.ms), 300),
    },
  ];
}
