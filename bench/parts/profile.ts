/** Where this server spends its CPU under the strategies read load: node --cpu-prof, summarised by self time. */
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { startServer } from '../lib/control-plane.js';
import { runLoad } from '../lib/load.js';
import { stop } from '../lib/processes.js';
import { type CpuProfile, summarizeProfile } from '../lib/profile.js';
import { renderMarkdown } from '../lib/report.js';
import { formatCount } from '../lib/stats.js';
import { READ_BODIES } from './peers.js';

export async function profileReads(tmp: string, seconds: number, connections: number): Promise<string> {
  const dir = await mkdtemp(path.join(tmp, 'cpuprof-'));
  const server = await startServer(tmp, 'profiled', { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir] });
  let rps = Number.NaN;
  try {
    await runLoad({ url: server.url, connections, duration: 2, body: READ_BODIES.strategies });
    rps = (await runLoad({ url: server.url, connections, duration: seconds, body: READ_BODIES.strategies })).rps;
  } finally {
    await stop(server.child); // the profile is written as the process exits
  }
  const files = await Promise.all(
    (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).map(async (f) => ({ f, size: (await stat(path.join(dir, f))).size })),
  );
  const main = files.sort((a, b) => b.size - a.size)[0];
  if (!main) throw new Error(`no .cpuprofile written in ${dir}`);
  const summary = summarizeProfile(JSON.parse(await readFile(path.join(dir, main.f), 'utf8')) as CpuProfile, 30);
  const rows = (xs: typeof summary.byFunction) => xs.map((x) => [x.name, x.ms.toFixed(0), `${x.pct.toFixed(1)}%`]);
  return [
    `CPU profile of this server (\`${server.label} serve --production\`, \`--cpu-prof\`) under \`${READ_BODIES.strategies}\`,`,
    `${connections} connections, 2 s warm-up + ${seconds} s measured (${formatCount(rps)} req/s while profiled); the profile`,
    `covers the whole process life (${(summary.totalMs / 1000).toFixed(1)} s, start-up included). Self time, not inclusive.`,
    '',
    '### By area (package or src/ folder)',
    '',
    renderMarkdown(['area', 'self ms', 'share'], rows(summary.byArea)),
    '### Top functions',
    '',
    renderMarkdown(['function (location)', 'self ms', 'share'], rows(summary.byFunction)),
  ].join('\n');
}
