import { expect, it } from 'vitest';
import { utcTick } from '../../src/page/model.js';

it("the charts' time ticks are in UTC whatever the browser's zone: the date on the first and at midnight, then the time", () => {
  const at = (iso: string) => Date.parse(iso) / 1000;
  expect(utcTick(at('2026-01-09T04:00:00Z'), true)).toBe('01-09 04:00');
  expect(utcTick(at('2026-01-09T04:10:00Z'), false)).toBe('04:10');
  expect(utcTick(at('2026-01-10T00:00:00Z'), false)).toBe('01-10 00:00');
});
