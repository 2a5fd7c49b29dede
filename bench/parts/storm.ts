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
import { type Child, spawnLogged, stop, waitForLog } from '../lib/processes.js';
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

/** One activation on `agent` (false: a new connection); its round trip in ms, or null with the failure recorded. */
async function timedActivation(url: string, agent: Agent | false, k: string, failures: string[]): Promise<number | null> {
  const answer = await postGraphQL(url, { query: QUERIES.activate, variables: { k } }, agent).catch((err: Error) => err);
  if (answer instanceof Error) failures.push(answer.message);
  else if (!activationOf(answer).ok) failures.push(`HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
  else return answer.ms;
  return null;
}

async function activations(url: string, count: number, pooled: Agent, next: () => string, failures: string[]): Promise<Series> {
  const series: Series = { fresh: [], pooled: [] };
  for (let i = 0; i < 2 * count; i++) {
    const kind = i % 2 === 0 ? 'fresh' : 'pooled';
    const ms = await timedActivation(url, kind === 'fresh' ? false : pooled, next(), failures);
    if (ms !== null) series[kind].push(ms);
  }
  return series;
}

/** A read storm in its own process (`load-child.ts`), started: its autocannon has begun opening its connections. */
async function startStorm(tmp: string, url: string, connections: number, log: string): Promise<Child> {
  const spec = { url, connections, duration: 120, body: READ_BODIES.strategies };
  const storm = spawnLogged(process.execPath, ['--import', 'tsx', 'bench/load-child.ts', JSON.stringify(spec)], {
    log: path.join(tmp, log),
  });
  try {
    await waitForLog(storm, /storm started/);
  } catch (err) {
    await stop(storm);
    throw err;
  }
  return storm;
}

/** Stops the storm; its reads per second and errors, from the line it prints as it ends. */
async function endStorm(storm: Child): Promise<{ rps: number; errors: number; non2xx: number }> {
  await stop(storm);
  const line = (await waitForLog(storm, /RESULT (\{.*\})/, 1_000).catch(() => null))?.[1];
  return line ? (JSON.parse(line) as { rps: number; errors: number; non2xx: number }) : { rps: Number.NaN, errors: Number.NaN, non2xx: 0 };
}

/**
 * @param target the storm reads `target.url`; the activations go to `target.activationUrl` (the
 *   same by default; the plain peer's durable route for the reference row)
 */
export async function activationUnderStorm(
  tmp: string,
  target: { url: string; activationUrl?: string },
  count: number,
  connections: number,
  log = 'storm.log',
): Promise<StormResult> {
  const next = keyCycle(1);
  const failures: string[] = [];
  const pooled = keepAlive(1);
  const activationUrl = target.activationUrl ?? target.url;
  const quiet = await activations(activationUrl, count, pooled, next, failures);
  let stormed: Series = { fresh: [], pooled: [] };
  let reads = { rps: Number.NaN, errors: Number.NaN, non2xx: 0 };
  const storm = await startStorm(tmp, target.url, connections, log);
  try {
    await new Promise((r) => setTimeout(r, 1_000)); // every connection open and busy
    stormed = await activations(activationUrl, count, pooled, next, failures);
  } finally {
    pooled.destroy();
    reads = await endStorm(storm);
  }
  return { quiet, storm: stormed, failures, readsPerSecond: reads.rps, readErrors: reads.errors + reads.non2xx };
}

export interface StormStartResult extends Series {
  failures: string[];
}

/** When, after a storm's start, its activations are sent: new connections at each, the kept connection at the middle one. */
export const STORM_START_OFFSETS_MS = [0, 25, 50, 100, 200] as const;

/**
 * Activations while a read storm's connections are still arriving: `rounds` storms started anew;
 * in each, an activation on a new connection at each of STORM_START_OFFSETS_MS (concurrently, as
 * independent clients would) and one on a keep-alive connection opened before the storms. Node
 * 20's libuv accepts one connection per turn of the event loop, so a new connection waits in the
 * kernel's accept queue behind the storm's own; a connection opened before does not. No target:
 * item 4's figure is taken from 1 s in.
 */
export async function activationAtStormStart(
  tmp: string,
  ours: RunningServer,
  rounds: number,
  connections: number,
): Promise<StormStartResult> {
  const next = keyCycle(2);
  const result: StormStartResult = { fresh: [], pooled: [], failures: [] };
  const pooled = keepAlive(1);
  const after = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const timed = async (agent: Agent | false, kind: keyof Series, offset: number) => {
    await after(offset);
    const ms = await timedActivation(ours.url, agent, next(), result.failures);
    if (ms !== null) result[kind].push(ms);
  };
  try {
    await postGraphQL(ours.url, { query: QUERIES.status }, pooled); // the kept connection, opened before any storm
    for (let round = 0; round < rounds; round++) {
      const storm = await startStorm(tmp, ours.url, connections, `storm-start-${round}.log`);
      try {
        await Promise.all([
          ...STORM_START_OFFSETS_MS.map((offset) => timed(false, 'fresh', offset)),
          timed(pooled, 'pooled', STORM_START_OFFSETS_MS[2]),
        ]);
      } finally {
        await endStorm(storm);
      }
      await after(1_000); // the storm's connections closed, the server quiet again
    }
  } finally {
    pooled.destroy();
  }
  return result;
}

const worst = (xs: number[]) => (xs.length ? Math.max(...xs) : Number.NaN);
const mid = (xs: number[]) => (xs.length ? median(xs) : Number.NaN);
const fig = (xs: number[]) => `median ${formatMs(mid(xs))} / worst ${formatMs(worst(xs))} ms`;

const refusedOf = (r: StormResult) => (r.failures.length ? `; ${r.failures.length} activations REFUSED: ${r.failures[0]}` : '');
const readsOf = (r: StormResult) =>
  `storm reads ${formatCount(r.readsPerSecond)} req/s${r.readErrors ? `, ${r.readErrors} read errors` : ''}`;

/**
 * @param bare the same storm and activations on the plain node:http peer, each activation answered
 *   after the group commit's disk work on a worker thread: a reference row, no target
 */
export function stormRows(r: StormResult, connections: number, bare?: StormResult): Row[] {
  const row = (kind: keyof Series, label: string): Row => ({
    figure: `activation during a ${connections}-connection read storm, ${label} (${r.storm[kind].length} sent)`,
    ours: `${fig(r.storm[kind])} (quiet: ${fig(r.quiet[kind])}; ${readsOf(r)}${refusedOf(r)})`,
    target: 'worst of 30 <= 50 ms',
    verdict: r.failures.length ? 'failed' : allOf(atMost(worst(r.storm[kind]), 50)),
  });
  const rows = [row('fresh', 'new connection each'), row('pooled', 'one keep-alive connection')];
  if (bare)
    rows.push({
      figure: `the same storm and activations on a bare node:http server (the plain peer: the storm's reads answered with the same bytes, each activation answered after the group commit's disk work on a worker thread, asked by message)`,
      ours: `new connection each: ${fig(bare.storm.fresh)}; one keep-alive connection: ${fig(bare.storm.pooled)} (quiet: ${fig(bare.quiet.fresh)} and ${fig(bare.quiet.pooled)}; ${readsOf(bare)}${refusedOf(bare)})`,
      target: 'no target (a reference)',
      verdict: bare.failures.length ? 'failed' : 'no target',
    });
  return rows;
}

/** Every figure, smallest first: one per storm, so the spread is the finding. */
const each = (xs: number[]) =>
  [...xs]
    .sort((a, b) => a - b)
    .map(formatMs)
    .join(', ') || 'none';

export function stormStartRows(r: StormStartResult, connections: number): Row[] {
  const refused = r.failures.length ? `; ${r.failures.length} activations REFUSED: ${r.failures[0]}` : '';
  return [
    {
      figure: `activation while a ${connections}-connection read storm's connections arrive (0-${STORM_START_OFFSETS_MS.at(-1)} ms in; ${r.pooled.length} storms)`,
      ours: `new connection (${r.fresh.length}): ${fig(r.fresh)}; keep-alive connection opened before: ${each(r.pooled)} ms${refused}`,
      target: 'no target (see the notes)',
      verdict: r.failures.length ? 'failed' : 'no target',
    },
  ];
}
