import { assert, describe, expect, it } from 'vitest';
import { ConfigValidationError } from '../../src/config/errors.js';
import { MAX_OVERRIDE_ISSUES, mergeConfigUpdate, parseStoredConfig, type RuntimeConfig } from '../../src/config/schema.js';
import { defaultRegistry, type StrategyKey } from '../../src/registry/index.js';

const base: RuntimeConfig = {
  activeStrategyKey: 'momentum' as StrategyKey,
  tradingEnabled: true,
  scanIntervalSeconds: 30,
  tunableOverrides: { momentum: { lookback_bars: 40 }, gold: { fast_ma_period: 10, slow_ma_period: 60 } },
  version: 4,
  updatedAt: '2026-11-01T10:00:00.000Z',
};
const merge = (update: unknown) => mergeConfigUpdate(defaultRegistry, base, update);

describe('mergeConfigUpdate', () => {
  it('changes only the fields given and names them', () => {
    const r = merge({ tradingEnabled: false });
    expect(r).toEqual({ ok: true, config: { ...base, tradingEnabled: false }, changed: ['tradingEnabled'] });
  });

  it('merges overrides per strategy and per tunable; null removes one, or a whole strategy’s', () => {
    const r = merge({
      tunableOverrides: { momentum: { entry_threshold_pct: 0.3 }, gold: { fast_ma_period: null }, range: { exit_at_mean: false } },
    });
    assert(r.ok, 'expected the update to be accepted');
    expect(r.config.tunableOverrides).toEqual({
      momentum: { lookback_bars: 40, entry_threshold_pct: 0.3 },
      gold: { slow_ma_period: 60 },
      range: { exit_at_mean: false },
    });
    const removed = merge({ tunableOverrides: { gold: null, momentum: { lookback_bars: null } } });
    assert(removed.ok, 'expected the removal to be accepted');
    expect(removed.config.tunableOverrides).toEqual({});
  });

  it.each([
    [{ activeStrategyKey: 'nope' }, 'activeStrategyKey', 'Invalid strategy key: nope'],
    [{ activeStrategyKey: 3 }, 'activeStrategyKey', 'must be a strategy key, got 3'],
    [{ scanIntervalSeconds: 0 }, 'scanIntervalSeconds', 'must be at least 1 second'],
    [{ scanIntervalSeconds: 1.5 }, 'scanIntervalSeconds', 'must be a whole number of seconds'],
    [{ scanIntervalSeconds: 86_401 }, 'scanIntervalSeconds', 'must be at most 86400 seconds (one day)'],
    [{ tradingEnabled: 'yes' }, 'tradingEnabled', 'must be true or false, got "yes"'],
    [
      { tunableOverrides: { gold: { fast_ma_period: 1.5 } } },
      'tunableOverrides.gold.fast_ma_period',
      'must be an integer in [2, 200], got 1.5',
    ],
    [
      { tunableOverrides: { gold: { fast_ma_period: 1000 } } },
      'tunableOverrides.gold.fast_ma_period',
      'must be an integer in [2, 200], got 1000',
    ],
    [{ tunableOverrides: { range: { exit_at_mean: 'true' } } }, 'tunableOverrides.range.exit_at_mean', 'must be a boolean, got "true"'],
    [{ tunableOverrides: { gold: { '<<': 1 } } }, 'tunableOverrides.gold.<<', /^unknown tunable "<<" for strategy "gold"/],
    [{ tunableOverrides: { '*anchor': {} } }, 'tunableOverrides.*anchor', /^unknown strategy "\*anchor"/],
    // Names of Object.prototype members are not tunables (found by the hostile-input property test).
    [{ tunableOverrides: { momentum: { constructor: 5 } } }, 'tunableOverrides.momentum.constructor', /^unknown tunable "constructor"/],
    [{ tunableOverrides: { momentum: { toString: 1 } } }, 'tunableOverrides.momentum.toString', /^unknown tunable "toString"/],
    [{ tunableOverrides: ['x'] }, 'tunableOverrides', /must be a map/],
    // Across tunables, on what gold would run with once merged (the config's slow_ma_period is 60; its default 50).
    [
      { tunableOverrides: { gold: { fast_ma_period: 70 } } },
      'tunableOverrides.gold.fast_ma_period',
      /^fast_ma_period \(70\) must be less than slow_ma_period \(60\): the fast average must be the shorter one/,
    ],
    [
      { tunableOverrides: { gold: { slow_ma_period: 10 } } },
      'tunableOverrides.gold.slow_ma_period',
      /^fast_ma_period \(10\) must be less than slow_ma_period \(10\)/,
    ],
    [
      { tunableOverrides: { gold: { fast_ma_period: 55, slow_ma_period: null } } },
      'tunableOverrides.gold.fast_ma_period',
      /^fast_ma_period \(55\) must be less than slow_ma_period \(50\)/,
    ],
    [{ version: 99 }, '', /Unrecognized key: "version"/],
  ])('refuses %j at %s', (update, path, message) => {
    const r = merge(update);
    assert(!r.ok, `expected a refusal of ${JSON.stringify(update)}`);
    expect(r.issues).toContainEqual({
      path: path === '' ? [] : path.split('.'),
      message: expect.stringMatching(
        typeof message === 'string' ? new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : message,
      ),
    });
  });

  it('takes tunables that keep the rules across them together, and leaves a strategy the update does not touch alone', () => {
    const both = merge({ tunableOverrides: { gold: { fast_ma_period: 70, slow_ma_period: 90 } } });
    assert(both.ok, 'expected the update to be accepted');
    expect(both.config.tunableOverrides.gold).toEqual({ fast_ma_period: 70, slow_ma_period: 90 });
    // A config whose gold overrides break the rule (a hand edit before the rule existed) still takes other changes.
    const broken = { ...base, tunableOverrides: { gold: { fast_ma_period: 60 } } };
    expect(mergeConfigUpdate(defaultRegistry, broken, { tunableOverrides: { momentum: { lookback_bars: 30 } } }).ok).toBe(true);
  });

  it('reads a stored config whose overrides break a rule across tunables as invalid, naming the tunable it sets', () => {
    const parsed = parseStoredConfig(defaultRegistry, {
      active_strategy_key: 'gold',
      trading_enabled: true,
      scan_interval_seconds: 30,
      tunable_overrides: { gold: { slow_ma_period: 15 } },
      version: 2,
      updated_at: '2026-11-01T10:00:00.000Z',
    });
    assert(!parsed.ok, 'expected the config to be refused');
    expect(parsed.issues).toEqual([
      {
        path: ['tunable_overrides', 'gold', 'slow_ma_period'],
        message: expect.stringMatching(/^fast_ma_period \(20\) must be less than slow_ma_period \(15\)/),
      },
    ]);
  });

  it('summarizes issues in one message, leading with an invalid key as the seed did', () => {
    const bad = merge({ activeStrategyKey: 'x', scanIntervalSeconds: 0 });
    assert(!bad.ok, 'expected a refusal');
    expect(new ConfigValidationError(bad.issues).message).toBe('Invalid strategy key: x');
    const other = merge({ scanIntervalSeconds: 0 });
    assert(!other.ok, 'expected a refusal');
    expect(new ConfigValidationError(other.issues).message).toBe('Invalid config: scanIntervalSeconds: must be at least 1 second');
  });
});

describe(`overrides with many problems: ${MAX_OVERRIDE_ISSUES} described, the rest counted`, () => {
  // 40,000 unknown tunables took 2.5 s of the event loop to describe one by one (a file), and an
  // update holding them answered a megabyte of issues; 20 are shown of a file's anyway.
  const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, 1]));

  it('a stored config: the first described, one issue counting the rest, the total kept', () => {
    const stored = {
      active_strategy_key: 'momentum',
      trading_enabled: true,
      scan_interval_seconds: 30,
      tunable_overrides: { momentum: many(40_000) },
      version: 1,
      updated_at: '2026-11-28T00:00:00Z',
    };
    const r = parseStoredConfig(defaultRegistry, stored);
    assert(!r.ok);
    expect(r.issues).toHaveLength(MAX_OVERRIDE_ISSUES + 1);
    expect(r.issues[0]).toMatchObject({
      path: ['tunable_overrides', 'momentum', 't0'],
      message: expect.stringMatching(/^unknown tunable "t0"/),
    });
    expect(r.issues.at(-1)).toEqual({
      path: ['tunable_overrides'],
      message: `... and ${40_000 - MAX_OVERRIDE_ISSUES} more problems in these overrides`,
    });
    expect(r.total).toBe(40_000);
  });

  it('an update: the same bound on its issues', () => {
    const r = merge({
      tunableOverrides: { momentum: many(4_000), ...Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`s${i}`, {}])) },
    });
    assert(!r.ok);
    expect(r.issues).toHaveLength(MAX_OVERRIDE_ISSUES + 1);
    expect(r.issues.at(-1)).toEqual({
      path: ['tunableOverrides'],
      message: `... and ${4_100 - MAX_OVERRIDE_ISSUES} more problems in these overrides`,
    });
  });

  it(`exactly ${MAX_OVERRIDE_ISSUES}: all described, no count`, () => {
    const r = merge({ tunableOverrides: { momentum: many(MAX_OVERRIDE_ISSUES) } });
    assert(!r.ok);
    expect(r.issues).toHaveLength(MAX_OVERRIDE_ISSUES);
    expect(r.issues.every((i) => i.message.startsWith('unknown tunable'))).toBe(true);
  });
});
