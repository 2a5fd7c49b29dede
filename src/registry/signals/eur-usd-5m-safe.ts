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
  let day = '';
  let entriesToday = 0;
  let reason = '';
  let returnPct = 0;
  for (let end = lookback + 1; end <= candles.length; end++) {
    const candle = candles[end - 1]!;
    const candleDay = candle.time.slice(0, 10);
    if (candleDay !== day) {
      day = candleDay;
      entriesToday = 0;
    }
    returnPct = lookbackReturnPct(candles, lookback, end);
    const wanted = thresholdDirection(returnPct, threshold);
    const spreadPips = candle.spread === undefined ? 0 : candle.spread / pip;
    if (wanted === 'FLAT') {
      position = 'FLAT';
      reason = `return over ${lookback} bars ${round(returnPct, 4)}% within ±${threshold}%`;
    } else if (wanted === position) {
      reason = `holding ${position}: return over ${lookback} bars ${round(returnPct, 4)}%`;
    } else if (spreadPips > maxSpreadPips) {
      position = 'FLAT';
      reason = `no entry: spread ${round(spreadPips, 2)} pips wider than ${maxSpreadPips}`;
    } else if (entriesToday >= cap) {
      position = 'FLAT';
      reason = `no entry: daily cap of ${cap} trades reached`;
    } else {
      position = wanted;
      entriesToday++;
      reason = `enter ${wanted}: return over ${lookback} bars ${round(returnPct, 4)}% beyond ±${threshold}%`;
    }
  }
  const close = candles.at(-1)!.close;
  const values: Record<string, number> = { close, returnPct: round(returnPct, 4), thresholdPct: threshold, entriesToday };
  if (position !== 'FLAT') {
    const side = position === 'LONG' ? 1 : -1;
    values.stopLoss = round(close - side * Number(tunables.stop_loss_pips) * pip);
    values.takeProfit = round(close + side * Number(tunables.take_profit_pips) * pip);
  }
  return { direction: position, reason, values };
};
