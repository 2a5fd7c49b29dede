/** Side-by-side load on this server and its peers: short rounds, interleaved; the median round kept, ratios paired by round. */
import { type LoadResult, runLoad } from '../lib/load.js';
import { cpuMsOf } from '../lib/processes.js';
import { allOf, atLeast, type Row } from '../lib/report.js';
import { formatCount, formatMs, formatRatio, median, medianBy, pairedRatio, ratio } from '../lib/stats.js';
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

export type Comparison = {
  scenario: string;
  kept: Partial<Record<Target, LoadResult>>;
  rounds: Partial<Record<Target, LoadResult[]>>;
  /** Each target's own CPU (user + system) per answer in µs, one per round (when its pid is known). */
  cpu: Partial<Record<Target, number[]>>;
};

export async function compare(
  targets: readonly { name: Target; url: string; pid?: number }[],
  scenario: Scenario,
  plan: Plan,
  progress: (line: string) => void,
): Promise<Comparison> {
  const rounds: Partial<Record<Target, LoadResult[]>> = Object.fromEntries(targets.map((t) => [t.name, []]));
  const cpu: Partial<Record<Target, number[]>> = {};
  for (const t of targets) await runLoad({ url: t.url, connections: plan.connections, duration: plan.warmup, body: scenario.body });
  for (let r = 0; r < plan.rounds; r++) {
    // Rotate who goes first, so a slow patch of the shared machine does not always land on the same target.
    const order = targets.map((_, i) => targets[(i + r) % targets.length]!);
    for (const t of order) {
      const cpuBefore = t.pid === undefined ? 0 : cpuMsOf(t.pid);
      const result = await runLoad({ url: t.url, connections: plan.connections, duration: plan.duration, body: scenario.body });
      rounds[t.name]!.push(result);
      const answers = result.ok + result.non2xx;
      if (t.pid !== undefined && answers > 0) cpu[t.name] = [...(cpu[t.name] ?? []), ((cpuMsOf(t.pid) - cpuBefore) * 1000) / answers];
      progress(`  ${scenario.name} round ${r + 1}/${plan.rounds}: ${t.name.padEnd(9)} ${formatCount(result.rps).padStart(7)} req/s`);
    }
  }
  const kept: Partial<Record<Target, LoadResult>> = {};
  for (const [name, results] of Object.entries(rounds)) kept[name as Target] = medianBy(results, (x) => x.rps);
  return { scenario: scenario.name, kept, rounds, cpu };
}

/** A server's own CPU per answer, the median of its rounds: steadier than req/s when other sessions share the cores. */
const cpuCell = (c: Comparison, t: Target) => {
  const samples = c.cpu[t];
  return samples?.length ? `${median(samples).toFixed(1)} µs` : 'n/a';
};

/**
 * Rows per comparison: req/s (the median round), p50/p99, ours divided by each peer (paired by round:
 * judged on it), the same from the median rounds (as every run before 2026-12-03 judged), and each
 * server's CPU per answer.
 */
export function comparisonRows(c: Comparison, label: string, kind: 'read' | 'mutation'): Row[] {
  const rps = (t: Target) => (c.kept[t] ? formatCount(c.kept[t]!.rps) : 'n/a');
  const lat = (t: Target) => (c.kept[t] ? `${formatMs(c.kept[t]!.p50)} / ${formatMs(c.kept[t]!.p99)}` : 'n/a');
  const roundsOf = (t: Target) => c.rounds[t]?.map((x) => x.rps);
  const r = (t: Target) => pairedRatio(roundsOf('ours'), roundsOf(t));
  const ofMedians = (t: Target) => ratio(c.kept.ours?.rps, c.kept[t]?.rps);
  const target = kind === 'read' ? '>= 1.3x mercurius, >= 0.8x node:http' : 'none (peers: in-memory swap, not durable)';
  const verdict = kind === 'read' ? allOf(atLeast(r('mercurius'), 1.3), atLeast(r('plain'), 0.8)) : 'no target';
  return [
    {
      figure: `${label}: req/s, the median round`,
      ours: rps('ours'),
      yoga: rps('yoga'),
      mercurius: rps('mercurius'),
      plain: rps('plain'),
      verdict: 'no target',
    },
    {
      figure: `${label}: p50 / p99 ms`,
      ours: lat('ours'),
      yoga: lat('yoga'),
      mercurius: lat('mercurius'),
      plain: lat('plain'),
      verdict: 'no target',
    },
    {
      figure: `${label}: ours ÷ peer, the median of the rounds' own ratios`,
      ours: '1x',
      yoga: formatRatio(r('yoga')),
      mercurius: formatRatio(r('mercurius')),
      plain: formatRatio(r('plain')),
      target,
      verdict,
    },
    {
      figure: `${label}: ours ÷ peer, median round ÷ median round`,
      ours: '1x',
      yoga: formatRatio(ofMedians('yoga')),
      mercurius: formatRatio(ofMedians('mercurius')),
      plain: formatRatio(ofMedians('plain')),
      verdict: 'no target',
    },
    ...(kind === 'read' ? [targetCeilingRow(c, label)] : []),
    {
      figure: `${label}: server CPU per answer`,
      ours: cpuCell(c, 'ours'),
      yoga: cpuCell(c, 'yoga'),
      mercurius: cpuCell(c, 'mercurius'),
      plain: cpuCell(c, 'plain'),
      verdict: 'no target',
    },
  ];
}

/**
 * The read target's two halves side by side: what 1.3x mercurius is in plain node:http's terms in
 * this run. Plain node:http returning the bytes is the ceiling of any server on node:http (the
 * issue's fast lane must be one); when 1.3x mercurius is above 0.8x of it the first half is the
 * binding one, and above 1x no server on node:http can meet it in this run.
 */
function targetCeilingRow(c: Comparison, label: string): Row {
  const mercuriusToPlain = pairedRatio(
    c.rounds.mercurius?.map((x) => x.rps),
    c.rounds.plain?.map((x) => x.rps),
  );
  const needed = mercuriusToPlain === null ? null : 1.3 * mercuriusToPlain;
  const note =
    needed === null ? 'n/a' : `${formatRatio(needed)} of plain node:http${needed > 1 ? ': above the node:http ceiling in this run' : ''}`;
  return { figure: `${label}: 1.3x mercurius, as a share of plain node:http (paired by round)`, ours: note, verdict: 'no target' };
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
