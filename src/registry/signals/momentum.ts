import { atr, notEnoughData, round } from './indicators.js';
import type { Candle, Signal, SignalDirection, SignalFunction } from './types.js';

/** Percent return of the close `lookback` bars before `end - 1` to the close at `end - 1`. */
export function lookbackReturnPct(candles: readonly Candle[], lookback: number, end = candles.length): number {
  return (candles[end - 1]!.close / candles[end - 1 - lookback]!.close - 1) * 100;
}

export function thresholdDirection(returnPct: number, thresholdPct: number): SignalDirection {
  if (returnPct >= thresholdPct) return 'LONG';
  if (returnPct <= -thresholdPct) return 'SHORT';
  return 'FLAT';
}

/** Momentum: long when the lookback return clears the threshold, short below its negative; ATR stops and targets. */
export const momentumSignal: SignalFunction = ({ candles, tunables }) => {
  const lookback = Number(tunables.lookback_bars);
  const threshold = Number(tunables.entry_threshold_pct);
  const atrPeriod = Number(tunables.atr_period);
  const short = notEnoughData(candles.length, Math.max(lookback, atrPeriod) + 1);
  if (short) return short;
  const close = candles.at(-1)!.close;
  const returnPct = lookbackReturnPct(candles, lookback);
  const range = atr(candles, atrPeriod);
  const direction = thresholdDirection(returnPct, threshold);
  const values: Record<string, number> = { close, returnPct: round(returnPct, 4), thresholdPct: threshold, atr: round(range) };
  const side = direction === 'LONG' ? 1 : -1;
  if (direction !== 'FLAT') {
    values.stopLoss = round(close - side * Number(tunables.stop_loss_atr) * range);
    values.takeProfit = round(close + side * Number(tunables.take_profit_atr) * range);
  }
  const shown = `${round(returnPct, 4)}%`;
  const reason =
    direction === 'LONG'
      ? `return over ${lookback} bars ${shown} >= +${threshold}%`
      : direction === 'SHORT'
        ? `return over ${lookback} bars ${shown} <= -${threshold}%`
        : `return over ${lookback} bars ${shown} within ±${threshold}%`;
  return { direction, reason, values } satisfies Signal;
};
