import uPlot from 'uplot';
import { expect, it } from 'vitest';
import type { Signal } from '../../src/page/model.js';
import { chartData, signalScales } from '../../src/page/views/signals.js';
import { SINGLE_VERSION_PAD_S, timelineRange } from '../../src/page/views/timeline.js';

/** A FLAT signal of gold at candle `iso`, priced `price`. */
const gold = (iso: string, price: number): Signal => ({
  instrument: 'XAU_USD',
  runnerId: 'r2',
  strategyKey: 'gold',
  direction: 'FLAT',
  reason: 'MAs within the minimum separation',
  price,
  candleTime: iso,
  error: null,
  runStartedAt: null,
  scan: null,
});

const at = (iso: string) => Date.parse(iso) / 1000;

/**
 * The ranges a signal chart's axes take for `signals`, asked as uPlot asks them: x with the times
 * and, for times all at one candle, the 1,000 days uPlot widens them to first (autoScaleX); y with
 * the prices' least and greatest. A chart's scale without a range function is uPlot's own.
 */
function signalRanges(signals: Signal[]): { x: uPlot.Range.MinMax; y: uPlot.Range.MinMax } {
  const data = chartData(signals);
  const times = data[0] as number[];
  const prices = (data[1] as number[]).filter((p) => p !== null);
  const scales = signalScales();
  const u = { data } as unknown as uPlot;
  const [first, last] = [times[0] ?? null, times.at(-1) ?? null];
  const xMax = first !== null && first === last ? first + 86_400_000 : last;
  const ask = (key: 'x' | 'y', min: number | null, max: number | null): uPlot.Range.MinMax => {
    const range = scales[key]?.range;
    if (typeof range === 'function') return range(u, min as number, max as number, key);
    // uPlot's own: the x scale's data span as widened, the y scale's snapNumY.
    if (key === 'x' || min === null || max === null) return [min, max];
    return uPlot.rangeNum(min, max, 0.1, true);
  };
  return {
    x: ask('x', first, xMax),
    y: ask('y', prices.length > 0 ? Math.min(...prices) : null, prices.length > 0 ? Math.max(...prices) : null),
  };
}

it("a signal chart of one point (a runner just restarted): an hour either side of its candle and half a percent of its price, not uPlot's 1,000 days and 0 to 4,700", () => {
  const { x, y } = signalRanges([gold('2026-01-09T03:55:00Z', 2310.59)]);
  const t = at('2026-01-09T03:55:00Z');
  expect(x).toEqual([t - 3600, t + 3600]);
  const [low, high] = y as [number, number];
  expect(low).toBeCloseTo(2310.59 * 0.995, 6);
  expect(high).toBeCloseTo(2310.59 * 1.005, 6);
});

it('several points at one candle, or at one price, are a lone point on that axis; a price of 0 gets 1 either side', () => {
  const t = at('2026-01-09T03:55:00Z');
  const sameCandle = signalRanges([gold('2026-01-09T03:55:00Z', 2310.59), gold('2026-01-09T03:55:00Z', 2312)]);
  expect(sameCandle.x).toEqual([t - 3600, t + 3600]);
  const flat = signalRanges([gold('2026-01-09T03:55:00Z', 1.0512), gold('2026-01-09T04:00:00Z', 1.0512)]);
  expect(flat.x).toEqual([t, t + 300]);
  expect(flat.y).toEqual([1.0512 * 0.995, 1.0512 * 1.005]);
  expect(signalRanges([gold('2026-01-09T03:55:00Z', 0)]).y).toEqual([-1, 1]);
  expect(signalRanges([gold('2026-01-09T03:55:00Z', -4)]).y).toEqual([-4.02, -3.98]);
});

it("two or more candles and prices: the data's span in time and uPlot's own price range, as before; no data, no range", () => {
  const t = at('2026-01-09T03:55:00Z');
  const two = signalRanges([gold('2026-01-09T03:55:00Z', 2310.59), gold('2026-01-09T04:00:00Z', 2311.2)]);
  expect(two.x).toEqual([t, t + 300]);
  expect(two.y).toEqual(uPlot.rangeNum(2310.59, 2311.2, 0.1, true));
  expect(signalRanges([])).toEqual({ x: [null, null], y: [null, null] });
});

it("the timeline's lone version is the same range, its hour either side (shared with the signal charts)", () => {
  const t = at('2026-01-09T03:55:00Z');
  expect(SINGLE_VERSION_PAD_S).toBe(3600);
  expect(timelineRange([t], t, t + 86_400_000)).toEqual([t - 3600, t + 3600]);
  expect(timelineRange([t, t + 60], t, t + 60)).toEqual([t, t + 60]);
});
