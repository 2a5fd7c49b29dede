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
  // The profile's timestamps are µs on the monotonic clock process.hrtime reads in every process.
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  let window = { from: 0, to: 0 };
  try {
    await runLoad({ url: server.url, connections, duration: 2, body: READ_BODIES.strategies });
    window.from = nowUs();
    rps = (await runLoad({ url: server.url, connections, duration: seconds, body: READ_BODIES.strategies })).rps;
    window.to = nowUs();
  } finally {
    await stop(server.child); // the profile is written as the process exits
  }
  const files = await Promise.all(
    (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).map(async (f) => ({ f, size: (await stat(path.join(dir, f))).size })),
  );
  const main = files.sort((a, b) => b.size - a.size)[0];
  if (!main) throw new Error(`no .cpuprofile written in ${dir}`);
  const profile = JSON.parse(await readFile(path.join(dir, main.f), 'utf8')) as CpuProfile;
  const inside = window.from >= profile.startTime && window.to <= profile.endTime;
  if (!inside) window = { from: profile.startTime, to: profile.endTime };
  const summary = summarizeProfile(profile, 30, window);
  const rows = (xs: typeof summary.byFunction) => xs.map((x) => [x.name, x.ms.toFixed(0), `${x.pct.toFixed(1)}%`]);
  return [
    `CPU profile of this server (\`${server.label} serve --production\`, \`--cpu-prof\`) under \`${READ_BODIES.strategies}\`,`,
    `${connections} connections, 2 s warm-up, then ${seconds} s summarised (${formatCount(rps)} req/s while profiled)` +
      `${inside ? '' : ' (the load window could not be placed on the profile clock: the whole process life is summarised, start-up included)'}.`,
    `Self time, not inclusive; shares are of the busy time (${(summary.busyMs / 1000).toFixed(1)} s busy, ${(summary.idleMs / 1000).toFixed(1)} s idle in ${(summary.spanMs / 1000).toFixed(1)} s).`,
    '',
    '### By area (package, src/ folder, node core module family)',
    '',
    renderMarkdown(['area', 'self ms', 'share of busy'], rows(summary.byArea)),
    '### Top functions',
    '',
    renderMarkdown(['function (location)', 'self ms', 'share of busy'], rows(summary.byFunction)),
  ].join('\n');
}
