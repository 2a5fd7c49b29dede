import type { Candle } from '../registry/signals/index.js';
import type { CandleFeed } from './feed.js';

const BASE_PRICES: Readonly<Record<string, number>> = {
  EUR_USD: 1.085,
  GBP_USD: 1.27,
  USD_JPY: 150.2,
  AUD_USD: 0.66,
  EUR_GBP: 0.855,
  AUD_NZD: 1.09,
  EUR_CHF: 0.955,
  XAU_USD: 2350,
};

/** FNV-1a: a stable 32-bit seed from a string. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** mulberry32: small, fast, good enough for a simulation, and the same everywhere. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimulatedFeedOptions {
  seed?: number;
  /** Bar length; candle times start at 2026-01-05T00:00:00Z. */
  barSeconds?: number;
  /** Candles kept per instrument (the most a scan can ask for). */
  history?: number;
  /** Standard deviation of a bar's log return. */
  volatility?: number;
}

const EPOCH = Date.parse('2026-01-05T00:00:00Z');

/**
 * A seeded random walk per instrument. Each call for an instrument advances it by one bar, so a
 * run's signals change from scan to scan, and the same seed and call sequence give the same candles.
 */
export function createSimulatedFeed(options: SimulatedFeedOptions = {}): CandleFeed {
  const seed = options.seed ?? 42;
  const barMs = (options.barSeconds ?? 300) * 1000;
  const history = options.history ?? 1200;
  const volatility = options.volatility ?? 0.0008;
  const walks = new Map<string, { next: () => number; bars: Candle[]; index: number }>();

  const gaussian = (next: () => number) => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const step = (walk: { next: () => number; bars: Candle[]; index: number }, prevClose: number): Candle => {
    const close = prevClose * Math.exp(volatility * gaussian(walk.next));
    const wick = () => Math.abs(gaussian(walk.next)) * volatility * 0.5;
    const high = Math.max(prevClose, close) * (1 + wick());
    const low = Math.min(prevClose, close) * (1 - wick());
    const digits = prevClose > 20 ? 3 : 5;
    const fix = (v: number) => Number(v.toFixed(digits));
    const candle: Candle = {
      time: new Date(EPOCH + walk.index * barMs).toISOString(),
      open: fix(prevClose),
      high: fix(high),
      low: fix(low),
      close: fix(close),
      volume: Math.round(500 + walk.next() * 1500),
      spread: fix(prevClose * (0.00004 + walk.next() * 0.00008)),
    };
    walk.index++;
    return candle;
  };

  return {
    description: `sim:${seed}`,
    async candles(instrument, count) {
      let walk = walks.get(instrument);
      if (!walk) {
        walk = { next: prng(hash(`${seed}:${instrument}`)), bars: [], index: 0 };
        let price = BASE_PRICES[instrument] ?? 100;
        for (let i = 0; i < history; i++) {
          const bar = step(walk, price);
          walk.bars.push(bar);
          price = bar.close;
        }
        walks.set(instrument, walk);
      } else {
        walk.bars.push(step(walk, walk.bars.at(-1)!.close));
        walk.bars.shift();
      }
      return walk.bars.slice(-count);
    },
  };
}
