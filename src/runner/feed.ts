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
  /**
   * Why the last `candles` for `instrument` brought no new bar (a replay past its last one), or null.
   * The runner still signals on what it got, and says this with the signal, in its state and once in the log.
   */
  ended?(instrument: string): string | null;
}

export class FeedError extends Error {
  override name = 'FeedError';
}
