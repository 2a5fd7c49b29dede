/** Side-by-side load on this server and its peers: short rounds, interleaved, the median round kept. */
import { type LoadResult, runLoad } from '../lib/load.js';
import { allOf, atLeast, type Row } from '../lib/report.js';
import { formatCount, formatMs, formatRatio, medianBy, ratio } from '../lib/stats.js';
import type { Target } from './peers.js';

export interface Plan {
  connections: number;
  /** seconds per round */
  duration: number;
  rounds: number;
  /** seconds of unrecorded load per target first (JIT, caches, connection set-up) */
  warmup: number;
}

export interface Scenario {
  name: string;
  body: string | (() => string);
}

export type Comparison = { scenario: string; kept: Partial<Record<Target, LoadResult>>; rounds: Partial<Record<Target, LoadResult[]>> };

export async function compare(
  targets: readonly { name: Target; url: string }[],
  scenario: Scenario,
  plan: Plan,
  progress: (line: string) => void,
): Promise<Comparison> {
  const rounds: Partial<Record<Target, LoadResult[]>> = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (const t of targets) await runLoad({ url: t.url, connections: plan.connections, duration: plan.warmup, body: scenario.body });
  for (let r = 0; r < plan.rounds; r++) {
    // Rotate who goes first, so a slow patch of the shared machine does not always land on the same target.
    const order = targets.map((_, i) => targets[(i + r) % targets.length]!);
    for (const t of order) {
      const result = await runLoad({ url: t.url, connections: plan.connections, duration: plan.duration, body: scenario.body });
      rounds[t.name]!.push(result);
      progress(`  ${scenario.name} round ${r + 1}/${plan.rounds}: ${t.name.padEnd(9)} ${formatCount(result.rps).padStart(7)} req/s`);
    }
  }
  const kept: Partial<Record<Target, LoadResult>> = {};
  for (const [name, results] of Object.entries(rounds)) kept[name as Target] = medianBy(results, (x) => x.rps);
  return { scenario: scenario.name, kept, rounds };
}

/** Three rows per comparison: req/s, p50/p99, and ours divided by each peer. */
export function comparisonRows(c: Comparison, label: string, kind: 'read' | 'mutation'): Row[] {
  const rps = (t: Target) => (c.kept[t] ? formatCount(c.kept[t]!.rps) : 'n/a');
  const lat = (t: Target) => (c.kept[t] ? `${formatMs(c.kept[t]!.p50)} / ${formatMs(c.kept[t]!.p99)}` : 'n/a');
  const r = (t: Target) => ratio(c.kept.ours?.rps, c.kept[t]?.rps);
  const target = kind === 'read' ? '>= 1.3x mercurius, >= 0.8x node:http' : 'none (peers: in-memory swap, not durable)';
  const verdict = kind === 'read' ? allOf(atLeast(r('mercurius'), 1.3), atLeast(r('plain'), 0.8)) : 'no target';
  return [
    { figure: `${label}: req/s`, ours: rps('ours'), yoga: rps('yoga'), mercurius: rps('mercurius'), plain: rps('plain'), target, verdict },
    {
      figure: `${label}: p50 / p99 ms`,
      ours: lat('ours'),
      yoga: lat('yoga'),
      mercurius: lat('mercurius'),
      plain: lat('plain'),
      verdict: 'no target',
    },
    {
      figure: `${label}: ours ÷ peer`,
      ours: '1x',
      yoga: formatRatio(r('yoga')),
      mercurius: formatRatio(r('mercurius')),
      plain: formatRatio(r('plain')),
      verdict: 'no target',
    },
  ];
}

/** Anything that was not a 2xx answer, so a fast figure made of errors cannot pass unseen. */
export function comparisonProblems(c: Comparison): string[] {
  const problems: string[] = [];
  for (const [name, results] of Object.entries(c.rounds)) {
    const non2xx = results.reduce((s, x) => s + x.non2xx, 0);
    const errors = results.reduce((s, x) => s + x.errors, 0);
    if (non2xx || errors) problems.push(`${c.scenario} on ${name}: ${non2xx} non-2xx answers, ${errors} connection errors`);
  }
  return problems;
}
