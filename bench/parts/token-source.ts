/**
 * Reads carrying the admin token, with the token from `admin.token` (npm start's default: the
 * server follows the file, so a replaced token is refused from the next turn's requests) against
 * the same token from CONTROL_PLANE_TOKEN (the image's, compose's and every etcd deployment's; what
 * the other parts run with). Following the file once cost every such read a promise and a
 * thread-pool stat: 0.61-0.90x the requests a second of the env token's; nothing else in the bench
 * would show it.
 */

import { type RunningServer, startServer } from '../lib/control-plane.js';
import { runLoad } from '../lib/load.js';
import { cpuMsOf, stop } from '../lib/processes.js';
import type { Row } from '../lib/report.js';
import { formatCount, formatRatio, median, pairedRatio } from '../lib/stats.js';
import type { Plan } from './compare.js';
import { READ_BODIES } from './peers.js';

export interface TokenSourceFigures {
  /** req/s per round, interleaved (the first one rotated each round). */
  env: number[];
  file: number[];
  /** Server CPU per answer (µs), per round. */
  envCpu: number[];
  fileCpu: number[];
}

export async function readsByTokenSource(tmp: string, plan: Plan, progress: (line: string) => void): Promise<TokenSourceFigures> {
  const servers: { name: 'env' | 'file'; server: RunningServer }[] = [];
  try {
    servers.push({ name: 'env', server: await startServer(tmp, 'token-env') });
    servers.push({ name: 'file', server: await startServer(tmp, 'token-file', { tokenFrom: 'file' }) });
    const body = READ_BODIES.strategies;
    const figures: TokenSourceFigures = { env: [], file: [], envCpu: [], fileCpu: [] };
    for (const { server } of servers) await runLoad({ url: server.url, connections: plan.connections, duration: plan.warmup, body });
    for (let r = 0; r < plan.rounds; r++) {
      for (const { name, server } of r % 2 ? [...servers].reverse() : servers) {
        const before = cpuMsOf(server.child.pid);
        const result = await runLoad({ url: server.url, connections: plan.connections, duration: plan.duration, body });
        if (result.non2xx > 0 || result.ok === 0)
          throw new Error(`token-${name}: ${result.non2xx} answers not 2xx of ${result.ok + result.non2xx}`);
        figures[name].push(result.rps);
        figures[`${name}Cpu`].push(((cpuMsOf(server.child.pid) - before) * 1000) / result.ok);
        progress(
          `  strategies with the admin token from ${name === 'env' ? 'CONTROL_PLANE_TOKEN' : 'admin.token'}, round ${r + 1}/${plan.rounds}: ${formatCount(result.rps)} req/s`,
        );
      }
    }
    return figures;
  } finally {
    for (const { server } of servers) await stop(server.child);
  }
}

export function tokenSourceRows(f: TokenSourceFigures): Row[] {
  return [
    {
      figure:
        "reads `strategies` with the admin token from admin.token (npm start's default, followed while the server runs) ÷ the same token from CONTROL_PLANE_TOKEN (every other row), two fresh servers, rounds interleaved",
      ours: `${formatRatio(pairedRatio(f.file, f.env))} (the median of the rounds' own ratios; ${formatCount(median(f.file))} against ${formatCount(median(f.env))} req/s; server CPU per answer ${median(f.fileCpu).toFixed(1)} against ${median(f.envCpu).toFixed(1)} µs)`,
      verdict: 'no target',
    },
  ];
}
