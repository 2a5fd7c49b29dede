/**
 * Quick A/B for iteration (not part of `npm run bench`): this server against plain node:http (and
 * mercurius) on one read, many short interleaved rounds, the median of the per-round ratios.
 * `node --import tsx bench/ab.ts [strategies|status] [rounds] [seconds]`
 * `AB_BASELINE=<another checkout, built> node --import tsx bench/ab.ts ...` adds that checkout's
 * server as "baseline", interleaved with the rest: a change measured against the code before it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from './lib/control-plane.js';
import { runLoad } from './lib/load.js';
import { cpuMsOf, endChildrenOnExit, stop } from './lib/processes.js';
import { formatRatio, median, pairedRatio } from './lib/stats.js';
import { READ_BODIES, startPeers } from './parts/peers.js';

const which = (process.argv[2] ?? 'strategies') as keyof typeof READ_BODIES;
const rounds = Number(process.argv[3] ?? 6);
const seconds = Number(process.argv[4] ?? 3);
endChildrenOnExit();
const tmp = await mkdtemp(path.join(tmpdir(), 'scp-ab-'));
const ours = await startServer(tmp, 'ours');
const peers = await startPeers(tmp, ours, []);
const baselineRoot = process.env.AB_BASELINE;
const baseline = baselineRoot ? await startServer(tmp, 'baseline', { root: path.resolve(baselineRoot) }) : undefined;
const targets = [
  { name: 'ours', url: ours.url, pid: ours.child.pid },
  ...(baseline ? [{ name: 'baseline', url: baseline.url, pid: baseline.child.pid }] : []),
  ...peers.filter((p) => p.name !== 'yoga').map((p) => ({ name: p.name, url: p.url, pid: p.child.pid })),
];
const cpuPerRequest: Record<string, number[]> = {};
const p50s: Record<string, number[]> = {};
const p99s: Record<string, number[]> = {};
const body = READ_BODIES[which];
for (const t of targets) await runLoad({ url: t.url, connections: 50, duration: 1, body });
const peerNames = ['mercurius', 'plain', ...(baseline ? ['baseline'] : [])];
const rpsByRound: Record<string, number[]> = {};
for (let r = 0; r < rounds; r++) {
  const rps: Record<string, number> = {};
  for (const t of r % 2 ? [...targets].reverse() : targets) {
    const before = cpuMsOf(t.pid);
    const result = await runLoad({ url: t.url, connections: 50, duration: seconds, body });
    rps[t.name] = result.rps;
    rpsByRound[t.name] = [...(rpsByRound[t.name] ?? []), result.rps];
    const cpu = ((cpuMsOf(t.pid) - before) * 1000) / (result.ok + result.non2xx);
    cpuPerRequest[t.name] = [...(cpuPerRequest[t.name] ?? []), cpu];
    p50s[t.name] = [...(p50s[t.name] ?? []), result.p50];
    p99s[t.name] = [...(p99s[t.name] ?? []), result.p99];
  }
  process.stdout.write(
    `round ${r + 1}: ${Object.entries(rps)
      .map(([n, v]) => `${n} ${v.toFixed(0)}`)
      .join(', ')}\n`,
  );
}
process.stdout.write(
  `${which}: ${peerNames.map((peer) => `ours/${peer} median ${formatRatio(pairedRatio(rpsByRound.ours, rpsByRound[peer]))}`).join(', ')}\n`,
);
// The server's own CPU per answer: less sensitive to a shared machine than req/s (the load generator competes for the same cores).
process.stdout.write(
  `server CPU per request (median of rounds): ${Object.entries(cpuPerRequest)
    .map(([n, v]) => `${n} ${median(v).toFixed(1)} us`)
    .join(', ')}\n`,
);
// Response times as the client saw them: the median of the rounds' own p50 and p99.
process.stdout.write(
  `response time p50 / p99 ms (median of rounds): ${Object.keys(p99s)
    .map((n) => `${n} ${median(p50s[n]!).toFixed(2)} / ${median(p99s[n]!).toFixed(2)}`)
    .join(', ')}\n`,
);
for (const p of peers) await stop(p.child);
await stop(ours.child);
if (baseline) await stop(baseline.child);
await rm(tmp, { recursive: true, force: true });
process.exit(0);
