import { describe, expect, it } from 'vitest';
import { parseAssignments } from '../../src/cli/config-assignments.js';

describe('config set key=value parsing', () => {
  it('maps the file keys to the API input, values as YAML scalars', () => {
    expect(
      parseAssignments([
        'active_strategy_key=gold',
        'trading_enabled=false',
        'scan_interval_seconds=15',
        'tunable_overrides.momentum.lookback_bars=20',
        'tunable_overrides.momentum.entry_threshold_pct=0.2',
        'tunable_overrides.gold.fast_ma_period=null',
      ]),
    ).toEqual({
      activeStrategyKey: 'gold',
      tradingEnabled: false,
      scanIntervalSeconds: 15,
      tunableOverrides: { momentum: { lookback_bars: 20, entry_threshold_pct: 0.2 }, gold: { fast_ma_period: null } },
    });
  });

  it("scan_interval_seconds past what GraphQL's Int carries is refused here in the server's words (sent, GraphQL said only \"Int cannot represent\"); any other is the server's to judge", () => {
    expect(() => parseAssignments(['scan_interval_seconds=3000000000'])).toThrow(
      'scan_interval_seconds: must be at most 86400 seconds (one day), not 3000000000',
    );
    expect(() => parseAssignments(['scan_interval_seconds=-3000000000'])).toThrow(
      'scan_interval_seconds: must be at least 1 second, not -3000000000',
    );
    // The server refuses these as BAD_USER_INPUT (what scripts gate on under --json).
    expect(parseAssignments(['scan_interval_seconds=86401'])).toEqual({ scanIntervalSeconds: 86401 });
    expect(parseAssignments(['scan_interval_seconds=0'])).toEqual({ scanIntervalSeconds: 0 });
    expect(parseAssignments(['scan_interval_seconds=2147483647'])).toEqual({ scanIntervalSeconds: 2147483647 });
  });

  it('active_strategy_key=null selects a preset named null, as =true selects one named true', () => {
    expect(parseAssignments(['active_strategy_key=null'])).toEqual({ activeStrategyKey: 'null' });
    expect(parseAssignments(['active_strategy_key=true'])).toEqual({ activeStrategyKey: 'true' });
    expect(() => parseAssignments(['active_strategy_key='])).toThrow('active_strategy_key: no value after "="');
  });

  it('null on a whole strategy removes all its overrides; a quoted number stays a string', () => {
    expect(parseAssignments(['tunable_overrides.range=null'])).toEqual({ tunableOverrides: { range: null } });
    expect(parseAssignments(["tunable_overrides.range.exit_at_mean='true'"])).toEqual({
      tunableOverrides: { range: { exit_at_mean: 'true' } },
    });
  });

  it("refuses a key given twice, and a strategy's overrides removed and set in one command (the last won, unsaid)", () => {
    expect(() => parseAssignments(['scan_interval_seconds=15', 'scan_interval_seconds=20'])).toThrow(
      'scan_interval_seconds is given twice: give each key once',
    );
    expect(() => parseAssignments(['tunable_overrides.gold.fast_ma_period=8', ' tunable_overrides.gold.fast_ma_period =9'])).toThrow(
      'tunable_overrides.gold.fast_ma_period is given twice',
    );
    expect(() => parseAssignments(['tunable_overrides.gold=null', 'tunable_overrides.gold.fast_ma_period=8'])).toThrow(
      "tunable_overrides.gold.fast_ma_period and tunable_overrides.gold are both given: remove tunable_overrides.gold's overrides or set its tunables, not both",
    );
    expect(() => parseAssignments(['tunable_overrides.gold.fast_ma_period=8', 'tunable_overrides.gold=null'])).toThrow(/are both given/);
    // Different tunables, or the same tunable of different strategies, are different keys.
    expect(parseAssignments(['tunable_overrides.gold.fast_ma_period=8', 'tunable_overrides.gold.slow_ma_period=30'])).toEqual({
      tunableOverrides: { gold: { fast_ma_period: 8, slow_ma_period: 30 } },
    });
  });

  it('a quoted strategy key is the key (the quotes were sent as part of it)', () => {
    expect(parseAssignments(['active_strategy_key="range"'])).toEqual({ activeStrategyKey: 'range' });
    expect(parseAssignments(["active_strategy_key='gold'"])).toEqual({ activeStrategyKey: 'gold' });
    expect(parseAssignments(['active_strategy_key=momentum_v2'])).toEqual({ activeStrategyKey: 'momentum_v2' });
  });

  it('a strategy or tunable named constructor or __proto__ is sent as a key (the server refuses it), and sets nothing on Object', () => {
    const named = parseAssignments(['tunable_overrides.constructor.x=1']).tunableOverrides as Record<string, unknown>;
    expect(Object.hasOwn(named, 'constructor')).toBe(true);
    expect(JSON.parse(JSON.stringify(named))).toEqual({ constructor: { x: 1 } });
    const proto = parseAssignments(['tunable_overrides.__proto__.polluted=1', 'tunable_overrides.gold.__proto__=2']).tunableOverrides;
    expect(JSON.stringify(proto)).toBe('{"__proto__":{"polluted":1},"gold":{"__proto__":2}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object as unknown as Record<string, unknown>).x).toBeUndefined();
  });

  it.each([
    [[], /nothing to set/],
    [['scan_interval_seconds'], /not key=value/],
    [['=5'], /not key=value/],
    [['scanIntervalSeconds=5'], /unknown key "scanIntervalSeconds"/],
    [['scan_interval_seconds=1.5'], /whole seconds/],
    [['trading_enabled=maybe'], /true or false/],
    [['active_strategy_key='], /active_strategy_key: no value after "="$/],
    // YAML reads these as null (a removal), or JSON sends them as null: each deleted a live override.
    [['tunable_overrides.momentum.lookback_bars='], /no value after "=" \(to remove it, write null\)/],
    [['tunable_overrides.momentum.lookback_bars=.nan'], /"\.nan" is not a finite number/],
    [['tunable_overrides.momentum.atr_period=.inf'], /"\.inf" is not a finite number/],
    [['tunable_overrides.momentum.atr_period=-.Inf'], /is not a finite number/],
    [['tunable_overrides.momentum.atr_period=1e400'], /"1e400" is not a finite number/],
    [['tunable_overrides.momentum=5'], /only null/],
    [['tunable_overrides.momentum.a.b=1'], /tunable_overrides.<strategy>.<tunable>/],
    [['tunable_overrides.momentum.lookback_bars=[1, 2]'], /one value/],
    [['trading_enabled.x=true'], /only tunable_overrides takes a dotted key/],
  ])('refuses %j', (args, message) => {
    expect(() => parseAssignments(args)).toThrow(message);
  });
});
