import { atr, ema, notEnoughData, round, stdDev } from './indicators.js';
import type { SignalDirection, SignalFunction } from './types.js';

const ATR_PERIOD = 14;

/**
 * Volatility-adjusted momentum: the lookback log return as a z-score against bar-return volatility
 * (scaled by sqrt(lookback)), traded only on the side of the trend EMA.
 */
export const momentumV2Signal: SignalFunction = ({ candles, tunables }) => {
  const lookback = Number(tunables.lookback_bars);
  const entryZ = Number(tunables.entry_z_score);
  const window = Number(tunables.volatility_window);
  const emaPeriod = Number(tunables.trend_ema_period);
  const short = notEnoughData(candles.length, Math.max(lookback + 1, window + 1, emaPeriod, ATR_PERIOD + 1));
  if (short) return short;
  const closes = candles.map((c) => c.close);
  const close = closes.at(-1)!;
  const barReturns: number[] = [];
  for (let i = closes.length - window; i < closes.length; i++) barReturns.push(Math.log(closes[i]! / closes[i - 1]!));
  const sigma = stdDev(barReturns, window);
  const lookbackReturn = Math.log(close / closes[closes.length - 1 - lookback]!);
  const z = sigma === 0 ? 0 : lookbackReturn / (sigma * Math.sqrt(lookback));
  const trend = ema(closes, emaPeriod);
  let direction: SignalDirection = 'FLAT';
  let reason: string;
  const shownZ = round(z, 4);
  if (sigma === 0) reason = 'no volatility in the window: no z-score';
  else if (Math.abs(z) < entryZ) reason = `z-score ${shownZ} within ±${entryZ}`;
  else if (z > 0 && close <= trend) reason = `z-score ${shownZ} is long but close is not above EMA(${emaPeriod})`;
  else if (z < 0 && close >= trend) reason = `z-score ${shownZ} is short but close is not below EMA(${emaPeriod})`;
  else {
    direction = z > 0 ? 'LONG' : 'SHORT';
    reason = `z-score ${shownZ} beyond ±${entryZ}, with the EMA(${emaPeriod}) trend`;
  }
  const range = atr(candles, ATR_PERIOD);
  const values: Record<string, number> = { close, zScore: shownZ, entryZScore: entryZ, trendEma: round(trend), atr: round(range) };
  if (direction !== 'FLAT') {
    values.stopLoss = round(close - (direction === 'LONG' ? 1 : -1) * Number(tunables.stop_loss_atr) * range);
    values.trailingStop = tunables.trailing_stop === true ? 1 : 0;
  }
  return { direction, reason, values };
};
