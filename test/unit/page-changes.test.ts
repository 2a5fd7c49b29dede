import { expect, it } from 'vitest';
import { changedLeaves } from '../../src/page/model.js';

it('a change in the timeline names the values that changed, down to one tunable, not the whole map twice', () => {
  const before = { range: { band_period: 100, band_std_dev: 2.5 }, gold: { fast_ma_period: 8 } };
  const after = { range: { band_period: 40, band_std_dev: 2.5 }, gold: { fast_ma_period: 8 } };
  expect(changedLeaves('tunableOverrides', before, after)).toEqual(['tunableOverrides.range.band_period: 100 → 40']);
  expect(changedLeaves('tunableOverrides', {}, { momentum: { lookback_bars: 40 } })).toEqual([
    'tunableOverrides.momentum.lookback_bars: — → 40',
  ]);
  expect(changedLeaves('tunableOverrides', { range: { exit_at_mean: false } }, {})).toEqual([
    'tunableOverrides.range.exit_at_mean: false → —',
  ]);
  expect(changedLeaves('activeStrategyKey', 'gold', 'range')).toEqual(['activeStrategyKey: gold → range']);
  expect(changedLeaves('tradingEnabled', true, true)).toEqual([]);
});
