import type { Candle, Signal } from './types.js';

/** Rounds for reporting, so signals read well and compare exactly in tests. */
export const round = (value: number, digits = 6): number => Number(value.toFixed(digits));

export function sma(values: readonly number[], period: number, end = values.length): number {
  let sum = 0;
  for (let i = end - period; i < end; i++) sum += values[i]!;
  return sum / period;
}

/** Population standard deviation of the `period` values ending before `end` (`mean`: their SMA, when the caller has it). */
export function stdDev(values: readonly number[], period: number, end = values.length, mean = sma(values, period, end)): number {
  let sq = 0;
  for (let i = end - period; i < end; i++) sq += (values[i]! - mean) ** 2;
  return Math.sqrt(sq / period);
}

/** Exponential moving average over the whole series, seeded with the SMA of the first `period` values. */
export function ema(values: readonly number[], period: number): number {
  const k = 2 / (period + 1);
  let current = sma(values, period, period);
  for (let i = period; i < values.length; i++) current = values[i]! * k + current * (1 - k);
  return current;
}

/** Average True Range over the last `period` bars (simple average of true ranges). */
export function atr(candles: readonly Candle[], period: number): number {
  let sum = 0;
  for (let i = candles.length - period; i < candles.length; i++) {
    const c = candles[i]!;
    const prevClose = candles[i - 1]?.close ?? c.open;
    sum += Math.max(c.high - c.low, Math.abs(c.high - prevClose), Math.abs(c.low - prevClose));
  }
  return sum / period;
}

/** The FLAT answer when a series is too short for the strategy's windows. */
export function notEnoughData(have: number, need: number): Signal | undefined {
  if (have >= need) return undefined;
  return { direction: 'FLAT', reason: `not enough data: need ${need} candles, have ${have}`, values: { candles: have, needed: need } };
}

/** Pip size by broker convention: 0.01 for JPY quotes and metals, 0.0001 otherwise. */
export function pipSize(instrument: string): number {
  return instrument.endsWith('_JPY') || instrument.startsWith('XAU_') || instrument.startsWith('XAG_') ? 0.01 : 0.0001;
}
