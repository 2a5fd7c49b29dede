import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Candle } from '../../src/registry/signals/index.js';
import type { CandleFeed } from '../../src/runner/feed.js';
import { writeWhole } from './runtime-dir.js';
import type { TestServer } from './server.js';

export const UPSERT = `mutation($input: PresetInput!, $v: Int) {
  upsertPreset(input: $input, expectedVersion: $v) {
    changed presetsVersion changedFields
    strategy { key source base name description instruments tunables riskLevel sessionPreference isActive }
  }
}`;

export const DELETE = `mutation($key: String!, $v: Int) {
  deletePreset(key: $key, expectedVersion: $v) { changed presetsVersion strategy { key source base name } }
}`;

export const ACTIVATE = `mutation($key: String!, $wait: Boolean) {
  activateStrategy(strategyKey: $key, waitForRunner: $wait) { configVersion runnerWait { applied } }
}`;

export const STATUS = `{ status {
  activeStrategyKey configVersion presetsVersion
  strategiesError { location message problems { line column message } }
  runner { state inSync appliedStrategyKey appliedConfigVersion appliedPresetsVersion lastScanAt
    lastSignals { instrument strategyKey direction reason values } }
} }`;

export const STRATEGIES = '{ strategies { key source base name tunables instruments riskLevel } }';

export type Status = Record<string, any>;
export const status = async (server: TestServer): Promise<Status> => (await server.gql(STATUS)).body.data?.status;
export const strategyKeys = async (server: TestServer): Promise<string[]> =>
  ((await server.gql(STRATEGIES)).body.data?.strategies ?? []).map((s: { key: string }) => s.key);

export const STATIC_KEYS = ['momentum', 'gold', 'range', 'eur_usd_5m_safe', 'momentum_v2'];

export const presetsFile = (server: TestServer) => path.join(server.runtimeDir, 'strategies.yaml');
export const readPresetsFile = (server: TestServer) => readFile(presetsFile(server), 'utf8');

/** Replaces strategies.yaml the way an editor that saves atomically does. */
export async function handEditPresets(server: TestServer, text: string | ((current: string) => string)): Promise<void> {
  const file = presetsFile(server);
  const next = typeof text === 'string' ? text : text(await readFile(file, 'utf8'));
  await writeWhole(file, next);
}

/**
 * Fixed candles for the known-answer test: 55 closes falling one a bar from 2100, then five rising
 * (2050 ... 2070). Gold's defaults (SMA 20 vs 50) see the long fall: fast 2054.75 below slow
 * 2067.2, SHORT. A fast preset (SMA 3 vs 5) sees the bounce: 2065 above 2060, LONG.
 */
export function fixedGoldCandles(): Candle[] {
  const closes = [...Array.from({ length: 55 }, (_, i) => 2100 - i), 2050, 2055, 2060, 2065, 2070];
  const start = Date.parse('2026-01-05T00:00:00Z');
  return closes.map((close, i) => ({
    time: new Date(start + i * 60_000).toISOString(),
    open: close,
    high: close + 1,
    low: close - 1,
    close,
  }));
}

/** A feed that answers the same candles for every instrument on every scan. */
export function fixedFeed(candles: readonly Candle[]): CandleFeed {
  return { description: 'fixed', candles: async (_instrument, count) => candles.slice(-count) };
}
