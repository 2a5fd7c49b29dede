import { describe, expect, it } from 'vitest';
import { defaultRegistry } from '../../src/registry/index.js';
import type { Candle } from '../../src/registry/signals/index.js';

/** Candles from closes: open at the previous close, high/low half a `wick` around the close. */
function candles(closes: number[], options: { wick?: number; start?: string; stepMinutes?: number; spread?: number } = {}): Candle[] {
  const wick = options.wick ?? 1;
  const start = Date.parse(options.start ?? '2026-03-02T08:00:00Z');
  return closes.map((close, i) => ({
    time: new Date(start + i * (options.stepMinutes ?? 5) * 60_000).toISOString(),
    open: closes[i - 1] ?? close,
    high: close + wick / 2,
    low: close - wick / 2,
    close,
    ...(options.spread !== undefined && { spread: options.spread }),
  }));
}

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
/** Closes from log returns, starting at `start`. */
function fromReturns(returns: number[], start = 1.2): number[] {
  const closes = [start];
  for (const r of returns) closes.push(closes.at(-1)! * Math.exp(r));
  return closes;
}

function run(key: string, instrument: string, series: Candle[], overrides: Record<string, number | boolean> = {}) {
  const fn = defaultRegistry.get(key)!.signal;
  return fn({ instrument, candles: series, tunables: { ...defaultRegistry.get(key)!.tunables, ...overrides } });
}

describe('signal functions', () => {
  it('each registry entry carries its own signal function, and no key reaches a prototype member', () => {
    for (const info of defaultRegistry.list()) expect(typeof info.signal).toBe('function');
    expect(new Set(defaultRegistry.list().map((s) => s.signal)).size).toBe(defaultRegistry.keys.length);
    expect(defaultRegistry.get('toString')).toBeUndefined();
    expect(() => defaultRegistry.parse('toString')).toThrow('Invalid strategy key: toString');
  });

  describe('momentum (lookback 20, threshold 0.15%, ATR 14, stop 2 ATR, target 3 ATR)', () => {
    it('goes LONG on a rising series, with ATR stop and target', () => {
      // close 129 vs 109 twenty bars before: +18.3486%; every true range is 1.5 (wick 1, step 1).
      const signal = run('momentum', 'EUR_USD', candles(range(30, (i) => 100 + i)));
      expect(signal).toEqual({
        direction: 'LONG',
        reason: 'return over 20 bars 18.3486% >= +0.15%',
        values: { close: 129, returnPct: 18.3486, thresholdPct: 0.15, atr: 1.5, stopLoss: 126, takeProfit: 133.5 },
      });
    });
    it('goes SHORT on a falling series and FLAT inside the threshold', () => {
      const short = run('momentum', 'EUR_USD', candles(range(30, (i) => 200 - i)));
      expect(short.direction).toBe('SHORT');
      expect(short.values).toMatchObject({ close: 171, returnPct: -10.4712, stopLoss: 174, takeProfit: 166.5 });
      // 100.145 vs 100.045: +0.09996%, inside 0.15% but beyond a 0.05% override.
      const drift = candles(range(30, (i) => 100 + i * 0.005));
      const flat = run('momentum', 'EUR_USD', drift);
      expect(flat.direction).toBe('FLAT');
      expect(flat.reason).toBe('return over 20 bars 0.1% within ±0.15%');
      expect(flat.values).not.toHaveProperty('stopLoss');
      expect(run('momentum', 'EUR_USD', drift, { entry_threshold_pct: 0.05 }).direction).toBe('LONG');
    });
    it('is FLAT with a clear reason when the series is too short', () => {
      expect(run('momentum', 'EUR_USD', candles(range(20, (i) => 100 + i)))).toEqual({
        direction: 'FLAT',
        reason: 'not enough data: need 21 candles, have 20',
        values: { candles: 20, needed: 21 },
      });
    });
  });

  describe('gold (fast MA 20, slow MA 50, min separation 0.05%)', () => {
    it('goes LONG when the fast average is above the slow one by more than the separation', () => {
      // fast = mean(2040..2059) = 2049.5, slow = mean(2010..2059) = 2034.5; gap 15/2059 = 0.7285%.
      const signal = run('gold', 'XAU_USD', candles(range(60, (i) => 2000 + i)));
      expect(signal).toEqual({
        direction: 'LONG',
        reason: 'fast MA(20) above slow MA(50) by 0.7285%',
        values: { close: 2059, fastMa: 2049.5, slowMa: 2034.5, separationPct: 0.7285, minSeparationPct: 0.05, atr: 1.5, stopLoss: 2055.25 },
      });
    });
    it('is FLAT inside the minimum separation and SHORT on a falling series', () => {
      expect(run('gold', 'XAU_USD', candles(range(60, (i) => 2000 + i)), { min_separation_pct: 1 }).direction).toBe('FLAT');
      const short = run('gold', 'XAU_USD', candles(range(60, (i) => 2100 - i)));
      expect(short).toMatchObject({ direction: 'SHORT', reason: 'fast MA(20) below slow MA(50) by -0.7349%' });
      expect(run('gold', 'XAU_USD', candles(range(60, () => 2000))).reason).toBe('MAs within the minimum separation (0%, need 0.05%)');
    });
  });

  describe('range (band 20, 2 standard deviations, exit at mean, stop 15 pips)', () => {
    const quiet = range(20, (i) => (i % 2 === 0 ? 1.001 : 0.999));
    it('sells a close above the upper band, with a pip stop and the mean as target', () => {
      // window: ten 0.999, nine 1.001 and 1.010: mean 1.00045, sd 0.002397, upper band 1.005245.
      const signal = run('range', 'EUR_GBP', candles([...quiet, 1.01], { wick: 0.0002 }));
      expect(signal).toEqual({
        direction: 'SHORT',
        reason: 'close above the upper band: fade it',
        values: {
          close: 1.01,
          mean: 1.00045,
          upperBand: 1.005245,
          lowerBand: 0.995655,
          stdDev: 0.002397,
          stopLoss: 1.0115,
          takeProfit: 1.00045,
        },
      });
    });
    it('buys a close below the lower band', () => {
      const signal = run('range', 'EUR_GBP', candles([...quiet, 0.99], { wick: 0.0002 }));
      expect(signal.direction).toBe('LONG');
      expect(signal.values.stopLoss).toBe(0.9885);
    });
    it('holds until the mean, then exits; without exit_at_mean it holds until the opposite band', () => {
      const holding = run('range', 'EUR_GBP', candles([...quiet, 1.01, 1.003], { wick: 0.0002 }));
      expect(holding).toMatchObject({ direction: 'SHORT', reason: 'holding SHORT until price returns to the band centre' });
      const exited = run('range', 'EUR_GBP', candles([...quiet, 1.01, 1.0], { wick: 0.0002 }));
      expect(exited).toMatchObject({ direction: 'FLAT', reason: 'price returned to the band centre: exit' });
      const held = run('range', 'EUR_GBP', candles([...quiet, 1.01, 1.0], { wick: 0.0002 }), { exit_at_mean: false });
      expect(held).toMatchObject({ direction: 'SHORT', reason: 'holding SHORT until the opposite band' });
      expect(held.values).not.toHaveProperty('takeProfit');
      expect(run('range', 'EUR_GBP', candles(quiet, { wick: 0.0002 }))).toMatchObject({
        direction: 'FLAT',
        reason: 'close inside the band',
      });
    });
  });

  describe('eur_usd_5m_safe (lookback 12, threshold 0.08%, spread 1.2 pips, stop 8, target 12 pips, 4 trades a day)', () => {
    const flat = range(12, () => 1.1);
    it('enters LONG on a 0.0909% move over 12 bars, with pip stop and target', () => {
      expect(run('eur_usd_5m_safe', 'EUR_USD', candles([...flat, 1.101], { wick: 0.0002 }))).toEqual({
        direction: 'LONG',
        reason: 'enter LONG: return over 12 bars 0.0909% beyond ±0.08%',
        values: { close: 1.101, returnPct: 0.0909, thresholdPct: 0.08, entriesToday: 1, stopLoss: 1.1002, takeProfit: 1.1022 },
      });
    });
    it('does not enter while the spread is wider than the maximum', () => {
      const signal = run('eur_usd_5m_safe', 'EUR_USD', candles([...flat, 1.101], { wick: 0.0002, spread: 0.00015 }));
      expect(signal).toMatchObject({ direction: 'FLAT', reason: 'no entry: spread 1.5 pips wider than 1.2' });
    });
    it('stops entering once the daily cap is reached, and starts again the next UTC day', () => {
      const series = [...flat, 1.101, 1.1, 1.101]; // entry, exit, second entry
      expect(run('eur_usd_5m_safe', 'EUR_USD', candles(series, { wick: 0.0002 }), { max_trades_per_day: 2 })).toMatchObject({
        direction: 'LONG',
        values: { entriesToday: 2 },
      });
      expect(run('eur_usd_5m_safe', 'EUR_USD', candles(series, { wick: 0.0002 }), { max_trades_per_day: 1 })).toMatchObject({
        direction: 'FLAT',
        reason: 'no entry: daily cap of 1 trades reached',
      });
      // Bars two hours apart starting 20:00 UTC: the last one falls on the next day.
      const nextDay = candles(series, { wick: 0.0002, start: '2026-03-02T00:00:00Z', stepMinutes: 110 });
      expect(nextDay.at(-1)!.time.slice(0, 10)).not.toBe(nextDay.at(-3)!.time.slice(0, 10));
      expect(run('eur_usd_5m_safe', 'EUR_USD', nextDay, { max_trades_per_day: 1 }).direction).toBe('LONG');
    });
  });

  describe('momentum_v2 (lookback 30, z 1, volatility 50, trend EMA 100)', () => {
    // Bar log returns alternate ±0.1% around a drift: volatility 0.1%, lookback return 30 x drift.
    const series = (drift: number) => fromReturns(range(119, (i) => drift + 0.001 * (-1) ** i));
    it('goes LONG on an up-drift above the trend EMA: z = 0.015 / (0.001 * sqrt(30)) = 2.7386', () => {
      const signal = run('momentum_v2', 'EUR_USD', candles(series(0.0005), { wick: 0.001 }));
      expect(signal.direction).toBe('LONG');
      expect(signal.reason).toBe('z-score 2.7386 beyond ±1, with the EMA(100) trend');
      expect(signal.values.close).toBeCloseTo(1.274841, 6);
      expect(signal.values).toMatchObject({ zScore: 2.7386, entryZScore: 1, trendEma: 1.243271, trailingStop: 1 });
    });
    it('goes SHORT on a down-drift below the EMA, FLAT without drift', () => {
      expect(run('momentum_v2', 'EUR_USD', candles(series(-0.0005), { wick: 0.001 }))).toMatchObject({
        direction: 'SHORT',
        values: { zScore: -2.7386, trendEma: 1.159799 },
      });
      expect(run('momentum_v2', 'EUR_USD', candles(series(0), { wick: 0.001 }))).toMatchObject({
        direction: 'FLAT',
        values: { zScore: 0 },
      });
    });
    it('stays FLAT when the z-score points against the trend EMA', () => {
      const closes = fromReturns([...range(89, (i) => 0.002 + 0.001 * (-1) ** i), ...range(30, (i) => -0.001 + 0.001 * (-1) ** i)]);
      expect(run('momentum_v2', 'EUR_USD', candles(closes, { wick: 0.001 }))).toMatchObject({
        direction: 'FLAT',
        reason: 'z-score -3.0812 is short but close is not below EMA(100)',
      });
    });
  });
});
