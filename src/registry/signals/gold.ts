import { atr, notEnoughData, round, sma } from './indicators.js';
import type { SignalDirection, SignalFunction } from './types.js';

/** Gold trend: fast SMA above the slow one by the minimum separation is long, below is short. */
export const goldSignal: SignalFunction = ({ candles, tunables }) => {
  const fastPeriod = Number(tunables.fast_ma_period);
  const slowPeriod = Number(tunables.slow_ma_period);
  const minSeparation = Number(tunables.min_separation_pct);
  const atrPeriod = Number(tunables.atr_period);
  const short = notEnoughData(candles.length, Math.max(fastPeriod, slowPeriod, atrPeriod + 1));
  if (short) return short;
  const closes = candles.map((c) => c.close);
  const close = closes.at(-1)!;
  const fast = sma(closes, fastPeriod);
  const slow = sma(closes, slowPeriod);
  const separationPct = ((fast - slow) / close) * 100;
  const direction: SignalDirection =
    separationPct >= minSeparation && separationPct > 0 ? 'LONG' : separationPct <= -minSeparation && separationPct < 0 ? 'SHORT' : 'FLAT';
  const range = atr(candles, atrPeriod);
  const values: Record<string, number> = {
    close,
    fastMa: round(fast),
    slowMa: round(slow),
    separationPct: round(separationPct, 4),
    minSeparationPct: minSeparation,
    atr: round(range),
  };
  if (direction !== 'FLAT') values.stopLoss = round(close - (direction === 'LONG' ? 1 : -1) * Number(tunables.stop_loss_atr) * range);
  const gap = `${round(separationPct, 4)}%`;
  const reason =
    direction === 'LONG'
      ? `fast MA(${fastPeriod}) above slow MA(${slowPeriod}) by ${gap}`
      : direction === 'SHORT'
        ? `fast MA(${fastPeriod}) below slow MA(${slowPeriod}) by ${gap}`
        : `MAs within the minimum separation (${gap}, need ${minSeparation}%)`;
  return { direction, reason, values };
};
