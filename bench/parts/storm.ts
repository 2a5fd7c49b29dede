/**
 * Activation latency under a read storm: 30 activations on a new connection each (like `stratctl
 * activate`) and 30 on one keep-alive connection opened before the storm (like a pooled client),
 * alternating, one after another, while a separate process keeps 200 connections reading
 * `strategies` as fast as the server answers. The same on the quiet server first, for scale.
 */

import type { Agent } from 'node:http';
import path from 'node:path';
import type { RunningServer } from '../lib/control-plane.js';
import { activationOf, keepAlive, keyCycle, postGraphQL, QUERIES } from '../lib/http.js';
import { spawnLogged, stop, waitForLog } from '../lib/processes.js';
import { allOf, atMost, type Row } from '../lib/report.js';
import { formatCount, formatMs, median } from '../lib/stats.js';
import { READ_BODIES } from './peers.js';

interface Series {
  fresh: number[];
  pooled: number[];
}

export interface StormResult {
  quiet: Series;
  storm: Series;
  failures: string[];
  readsPerSecond: number;
  readErrors: number;
}

async function activations(url: string, count: number, pooled: Agent, next: () => string, failures: string[]): Promise<Series> {
  const series: Series = { fresh: [], pooled: [] };
  for (let i = 0; i < 2 * count; i++) {
    const kind = i % 2 === 0 ? 'fresh' : 'pooled';
    const answer = await postGraphQL(url, { query: QUERIES.activate, variables: { k: next() } }, kind === 'fresh' ? false : pooled).catch(
      (err: Error) => err,
    );
    if (answer instanceof Error) failures.push(answer.message);
    else if (!activationOf(answer).ok) failures.push(`HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
    else series[kind].push(answer.ms);
  }
  return series;
}

export async function activationUnderStorm(tmp: string, ours: RunningServer, count: number, connections: number): Promise<StormResult> {
  const next = keyCycle(1);
  const failures: string[] = [];
  const pooled = keepAlive(1);
  const quiet = await activations(ours.url, count, pooled, next, failures);
  const spec = { url: ours.url, connections, duration: 120, body: READ_BODIES.strategies };
  const storm = spawnLogged(process.execPath, ['--import', 'tsx', 'bench/load-child.ts', JSON.stringify(spec)], {
    log: path.join(tmp, 'storm.log'),
  });
  let stormed: Series = { fresh: [], pooled: [] };
  try {
    await waitForLog(storm, /storm started/);
    await new Promise((r) => setTimeout(r, 1_000)); // every connection open and busy
    stormed = await activations(ours.url, count, pooled, next, failures);
  } finally {
    pooled.destroy();
    await stop(storm);
  }
  const line = (await waitForLog(storm, /RESULT (\{.*\})/, 1_000).catch(() => null))?.[1];
  const reads = line
    ? (JSON.parse(line) as { rps: number; errors: number; non2xx: number })
    : { rps: Number.NaN, errors: Number.NaN, non2xx: 0 };
  return { quiet, storm: stormed, failures, readsPerSecond: reads.rps, readErrors: reads.errors + reads.non2xx };
}

const worst = (xs: number[]) => (xs.length ? Math.max(...xs) : Number.NaN);
const mid = (xs: number[]) => (xs.length ? median(xs) : Number.NaN);
const fig = (xs: number[]) => `median ${formatMs(mid(xs))} / worst ${formatMs(worst(xs))} ms`;

export function stormRows(r: StormResult, connections: number): Row[] {
  const refused = r.failures.length ? `; ${r.failures.length} activations REFUSED: ${r.failures[0]}` : '';
  const reads = `storm reads ${formatCount(r.readsPerSecond)} req/s${r.readErrors ? `, ${r.readErrors} read errors` : ''}`;
  const row = (kind: keyof Series, label: string): Row => ({
    figure: `activation during a ${connections}-connection read storm, ${label} (${r.storm[kind].length} sent)`,
    ours: `${fig(r.storm[kind])} (quiet: ${fig(r.quiet[kind])}; ${reads}${refused})`,
    target: 'worst of 30 <= 50 ms',
    verdict: r.failures.length ? 'failed' : allOf(atMost(worst(r.storm[kind]), 50)),
  });
  return [row('fresh', 'new connection each'), row('pooled', 'one keep-alive connection')];
}
