import { expect, it } from 'vitest';
import { acceptedWords, changedLeaves, liveRunners, rollbackRows } from '../../src/page/model.js';

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

const settings = {
  activeStrategyKey: 'gold',
  tradingEnabled: true,
  scanIntervalSeconds: 30,
  tunableOverrides: { gold: { fast_ma_period: 9, slow_ma_period: 100 } },
};

it('a rollback to the settings in force changes no row (the overrides in another key order are the same), and its answer is told as nothing changed', () => {
  const same = rollbackRows(settings, { ...settings, tunableOverrides: { gold: { slow_ma_period: 100, fast_ma_period: 9 } } });
  expect(same.map((r) => r.changed)).toEqual([false, false, false, false]);
  const other = rollbackRows(settings, { ...settings, activeStrategyKey: 'range', tunableOverrides: {} });
  expect(other.filter((r) => r.changed).map((r) => [r.label, r.before, r.after])).toEqual([
    ['activeStrategyKey', 'gold', 'range'],
    ['tunableOverrides', '{"gold":{"fast_ma_period":9,"slow_ma_period":100}}', '{}'],
  ]);
  const done = 'Rolled back to the settings of version 11';
  const already = 'the settings of version 11 are already in force';
  expect(acceptedWords(done, already, { changed: true, version: 13 })).toBe(
    'Rolled back to the settings of version 11: config version 13.',
  );
  // Before: "Rolled back to the settings of version 11: config version 13." for a rollback that wrote nothing.
  expect(acceptedWords(done, already, { changed: false, version: 13 })).toBe(
    'Nothing changed: the settings of version 11 are already in force (config version 13).',
  );
});

it('a runner in ERROR still scans: it counts among the runners that act on a change, as the server counts them', () => {
  const states = ['RUNNING', 'ERROR', 'STALE', 'STOPPED'] as const;
  expect(liveRunners(states.map((state) => ({ state }))).map((r) => r.state)).toEqual(['RUNNING', 'ERROR']);
});
