import { expect, it } from 'vitest';
import { priceTicks, utcTick } from '../../src/page/model.js';

it("the charts' time ticks are in UTC whatever the browser's zone: the date on the first and at midnight, then the time", () => {
  const at = (iso: string) => Date.parse(iso) / 1000;
  expect(utcTick(at('2026-01-09T04:00:00Z'), true)).toBe('01-09 04:00');
  expect(utcTick(at('2026-01-09T04:10:00Z'), false)).toBe('04:10');
  expect(utcTick(at('2026-01-10T00:00:00Z'), false)).toBe('01-10 00:00');
});

it("a chart's price ticks have the decimals their step needs: distinct over a small range, no more than needed over a large one", () => {
  // EUR_USD over a few pips, as uPlot splits it (floats a step apart): all three read "1.051" before.
  expect(priceTicks([1.0512, 1.0514000000000001, 1.0516], 'en-US')).toEqual(['1.0512', '1.0514', '1.0516']);
  expect(priceTicks([1.05125, 1.0515, 1.05175], 'en-US')).toEqual(['1.05125', '1.05150', '1.05175']);
  expect(priceTicks([1.05, 1.1, 1.15], 'en-US')).toEqual(['1.05', '1.10', '1.15']);
  // Gold: whole dollars, grouped as uPlot's default did.
  expect(priceTicks([2300, 2350, 2400], 'en-US')).toEqual(['2,300', '2,350', '2,400']);
  expect(priceTicks([2345.5, 2346, 2346.5], 'en-US')).toEqual(['2,345.5', '2,346.0', '2,346.5']);
  expect(priceTicks([1.0513], 'en-US')).toEqual(['1.0513']);
  expect(priceTicks([], 'en-US')).toEqual([]);
});
