import type { Candle } from '../registry/signals/index.js';

/**
 * Where the runner gets market data. Implementations: a deterministic simulation (default) and a
 * CSV replay; a broker feed later. Each call is one scan's view of an instrument.
 */
export interface CandleFeed {
  /** For status and logs, e.g. `sim:42` or `csv:/data/candles.csv`. */
  readonly description: string;
  /** Up to `count` most recent candles for `instrument`, oldest first. Rejects when it has none. */
  candles(instrument: string, count: number): Promise<readonly Candle[]>;
}

export class FeedError extends Error {
  override name = 'FeedError';
}
