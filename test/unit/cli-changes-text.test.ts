import { describe, expect, it } from 'vitest';
import { changesText } from '../../src/cli/history.js';

describe('stratctl history / audit: what changed, in the words config set and preset set take', () => {
  it("names config and preset fields in the file's snake_case; strategy and tunable keys stay as they are", () => {
    expect(
      changesText({
        changes: [
          { field: 'activeStrategyKey', before: 'momentum', after: 'gold' },
          { field: 'scanIntervalSeconds', before: 30, after: 15 },
          { field: 'tunableOverrides', before: {}, after: { gold_fast: { fast_ma_period: 9 } } },
        ],
      }),
    ).toBe(
      'active_strategy_key: momentum -> gold, scan_interval_seconds: 30 -> 15, tunable_overrides: {} -> {"gold_fast":{"fast_ma_period":9}}',
    );
    expect(
      changesText({
        changes: [
          { field: 'gold_fast.riskLevel', before: null, after: 'low' },
          { field: 'gold_fast.sessionPreference', before: null, after: 'ny' },
          { field: 'gold_fast.tunables', before: null, after: { fast_ma_period: 8 } },
        ],
      }),
    ).toBe('gold_fast.risk_level: - -> low, gold_fast.session_preference: - -> ny, gold_fast.tunables: - -> {"fast_ma_period":8}');
  });
});
