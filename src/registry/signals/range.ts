import { notEnoughData, pipSize, round, sma, stdDev } from './indicators.js';
import type { SignalDirection, SignalFunction } from './types.js';

/**
 * Range mean reversion: a close above the upper band is a short, below the lower band a long. The
 * position is replayed bar by bar over the series, so it holds until the mean (exit_at_mean) or the
 * opposite band: the answer depends only on the candles.
 */
/** The replay's mark for "holding the position" (its reason names the position: written after the replay). */
const HOLDING = 'holding';

export const rangeSignal: SignalFunction = ({ instrument, candles, tunables }) => {
  const period = Number(tunables.band_period);
  const width = Number(tunables.band_std_dev);
  const exitAtMean = tunables.exit_at_mean === true;
  const short = notEnoughData(candles.length, period);
  if (short) return short;
  const closes = candles.map((c) => c.close);
  let position: SignalDirection = 'FLAT';
  let mean = 0;
  let deviation = 0;
  let reason = '';
  for (let end = period; end <= closes.length; end++) {
    mean = sma(closes, period, end);
    // The window's mean, once: the deviation is about it (the same numbers as stdDev computing it again).
    deviation = stdDev(closes, period, end, mean);
    const close = closes[end - 1]!;
    if (close > mean + width * deviation) {
      position = 'SHORT';
      reason = 'close above the upper band: fade it';
    } else if (close < mean - width * deviation) {
      position = 'LONG';
      reason = 'close below the lower band: fade it';
    } else if (position !== 'FLAT' && exitAtMean && (position === 'LONG' ? close >= mean : close <= mean)) {
      position = 'FLAT';
      reason = 'price returned to the band centre: exit';
    } else if (position !== 'FLAT') {
      reason = HOLDING;
    } else {
      reason = 'close inside the band';
    }
  }
  // Only the last bar's reason is reported: the one that names the position is written out once, here.
  if (reason === HOLDING)
    reason = exitAtMean ? `holding ${position} until price returns to the band centre` : `holding ${position} until the opposite band`;
  const close = closes.at(-1)!;
  const values: Record<string, number> = {
    close,
    mean: round(mean),
    upperBand: round(mean + width * deviation),
    lowerBand: round(mean - width * deviation),
    stdDev: round(deviation),
  };
  if (position !== 'FLAT') {
    values.stopLoss = round(close + (position === 'LONG' ? -1 : 1) * Number(tunables.stop_loss_pips) * pipSize(instrument));
    if (exitAtMean) values.takeProfit = round(mean);
  }
  return { direction: position, reason, values };
};
