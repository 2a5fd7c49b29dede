/** A tunable's value: a number (integer or real) or a boolean. */
export type TunableValue = number | boolean;

/** One bar of market data. Times are ISO-8601; prices in the instrument's quote currency. */
export interface Candle {
  readonly time: string;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume?: number;
  /** Bid/ask spread at the close, in price units (optional: not every feed has it). */
  readonly spread?: number;
}

export type SignalDirection = 'LONG' | 'SHORT' | 'FLAT';

/** What a strategy says about one instrument: a direction, why, and the numbers behind it. */
export interface Signal {
  readonly direction: SignalDirection;
  readonly reason: string;
  readonly values: Readonly<Record<string, number>>;
}

export interface SignalInput {
  /** Broker convention, e.g. `EUR_USD` (pip size depends on it). */
  readonly instrument: string;
  /** Oldest first. */
  readonly candles: readonly Candle[];
  /** The strategy's effective tunables: defaults, then the config's overrides. */
  readonly tunables: Readonly<Record<string, TunableValue>>;
}

/** A strategy's logic: pure and deterministic, no I/O, no clock; the same input gives the same signal. */
export type SignalFunction = (input: SignalInput) => Signal;
