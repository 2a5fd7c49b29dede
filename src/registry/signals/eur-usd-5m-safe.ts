import { notEnoughData, pipSize, round } from './indicators.js';
import { lookbackReturnPct, thresholdDirection } from './momentum.js';
import type { SignalDirection, SignalFunction } from './types.js';

/**
 * Conservative 5-minute momentum. Replayed bar by bar so that the spread filter and the daily
 * trade cap (per UTC day of the candle times) act on entries only, from the candles alone.
 */
export const eurUsd5mSafeSignal: SignalFunction = ({ instrument, candles, tunables }) => {
  const lookback = Number(tunables.lookback_bars);
  const threshold = Number(tunables.entry_threshold_pct);
  const maxSpreadPips = Number(tunables.max_spread_pips);
  const cap = Number(tunables.max_trades_per_day);
  const short = notEnoughData(candles.length, lookback + 1);
  if (short) return short;
  const pip = pipSize(instrument);
  let position: SignalDirection = 'FLAT';
  // A candle time whose first 10 characters are the UTC day being counted (compared in place: no string per bar).
  let day = '';
  let entriesToday = 0;
  // Each bar decides a reason; only the last bar's is reported, so it is written out once, after the replay.
  let why: 'within' | 'holding' | 'spread' | 'cap' | 'enter' = 'within';
  let returnPct = 0;
  let spreadPips = 0;
  for (let end = lookback + 1; end <= candles.length; end++) {
    const candle = candles[end - 1]!;
    if (!sameDay(candle.time, day)) {
      day = candle.time;
      entriesToday = 0;
    }
    returnPct = lookbackReturnPct(candles, lookback, end);
    const wanted = thresholdDirection(returnPct, threshold);
    spreadPips = candle.spread === undefined ? 0 : candle.spread / pip;
    if (wanted === 'FLAT') {
      position = 'FLAT';
      why = 'within';
    } else if (wanted === position) {
      why = 'holding';
    } else if (spreadPips > maxSpreadPips) {
      position = 'FLAT';
      why = 'spread';
    } else if (entriesToday >= cap) {
      position = 'FLAT';
      why = 'cap';
    } else {
      position = wanted;
      entriesToday++;
      why = 'enter';
    }
  }
  const reason =
    why === 'within'
      ? `return over ${lookback} bars ${round(returnPct, 4)}% within ±${threshold}%`
      : why === 'holding'
        ? `holding ${position}: return over ${lookback} bars ${round(returnPct, 4)}%`
        : why === 'spread'
          ? `no entry: spread ${round(spreadPips, 2)} pips wider than ${maxSpreadPips}`
          : why === 'cap'
            ? `no entry: daily cap of ${cap} trades reached`
            : `enter ${position}: return over ${lookback} bars ${round(returnPct, 4)}% beyond ±${threshold}%`;
  const close = candles.at(-1)!.close;
  const values: Record<string, number> = { close, returnPct: round(returnPct, 4), thresholdPct: threshold, entriesToday };
  if (position !== 'FLAT') {
    const side = position === 'LONG' ? 1 : -1;
    values.stopLoss = round(close - side * Number(tunables.stop_loss_pips) * pip);
    values.takeProfit = round(close + side * Number(tunables.take_profit_pips) * pip);
  }
  return { direction: position, reason, values };
};

/** `a.slice(0, 10) === b.slice(0, 10)`, without the two strings. */
function sameDay(a: string, b: string): boolean {
  const n = Math.min(a.length, 10);
  if (n !== Math.min(b.length, 10)) return false;
  for (let i = 0; i < n; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return false;
  return true;
}
