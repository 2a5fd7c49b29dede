import path from 'node:path';
import { decimalSetting, envSetting } from '../env-setting.js';
import { UsageError } from '../usage-error.js';
import { openCsvFeed } from './csv-feed.js';
import type { CandleFeed } from './feed.js';
import { DEFAULT_HEARTBEAT_MS } from './runner.js';
import { createSimulatedFeed } from './sim-feed.js';

export interface RunnerSettings {
  /** `sim[:seed]` or `csv:<file>`. */
  feed: string;
  heartbeatMs: number;
}

export interface RunnerFlags {
  feed?: string;
  'heartbeat-ms'?: string;
}

/** Flags win over the environment (CONTROL_PLANE_FEED, CONTROL_PLANE_RUNNER_HEARTBEAT_MS), which wins over the defaults. */
export function resolveRunnerSettings(flags: RunnerFlags, env: NodeJS.ProcessEnv): RunnerSettings {
  // A bad value names where it came from: the flag, or the variable (a unit file's Environment=).
  const feed = flags.feed ?? envSetting(env, 'CONTROL_PLANE_FEED') ?? 'sim';
  const source = flags.feed !== undefined ? '--feed' : 'CONTROL_PLANE_FEED';
  if (!/^(sim(:\d+)?|csv:.+)$/.test(feed)) throw new UsageError(`${source} must be sim, sim:<seed> or csv:<file>, not "${feed}"`);
  // A seed past 2^53 - 1 was read as the nearest double: 9007199254740993 ran as ...992 (two seeds,
  // one walk), and 23 digits showed as 1e+23 in the runner's feed.
  if (feed.startsWith('sim:') && !Number.isSafeInteger(Number(feed.slice(4))))
    throw new UsageError(`${source}: the seed in "${feed}" must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`);
  const rawBeat = flags['heartbeat-ms'] ?? envSetting(env, 'CONTROL_PLANE_RUNNER_HEARTBEAT_MS');
  // An empty --heartbeat-ms is refused as any empty flag is (the variable blank is unset: envSetting).
  const heartbeatMs = rawBeat === undefined ? DEFAULT_HEARTBEAT_MS : decimalSetting(rawBeat);
  if (!Number.isInteger(heartbeatMs) || heartbeatMs < 50 || heartbeatMs > 60_000) {
    const source = flags['heartbeat-ms'] !== undefined ? '--heartbeat-ms' : 'CONTROL_PLANE_RUNNER_HEARTBEAT_MS';
    throw new UsageError(`${source} must be a whole number of milliseconds from 50 to 60000, not "${rawBeat}"`);
  }
  return { feed, heartbeatMs };
}

/** Opens the feed a setting names. A bad CSV file throws a FeedError naming file and line. */
export async function openFeed(spec: string): Promise<CandleFeed> {
  if (spec.startsWith('csv:')) return openCsvFeed(path.resolve(spec.slice(4)));
  const seed = spec.startsWith('sim:') ? Number(spec.slice(4)) : undefined;
  return createSimulatedFeed({ seed });
}

export const RUNNER_OPTIONS_HELP = `  --feed <spec>           market data: sim, sim:<seed> (seeded random walk),    CONTROL_PLANE_FEED (sim)
                          or csv:<file> (replay time,instrument,open,high,low,close[,volume][,spread])
  --heartbeat-ms <n>      runner heartbeat; STALE after 3 missed               CONTROL_PLANE_RUNNER_HEARTBEAT_MS (2000)`;
