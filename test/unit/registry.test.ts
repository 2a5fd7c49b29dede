import { describe, expect, it } from 'vitest';
import {
  createStrategyRegistry,
  getStrategyInfo,
  getStrategyRegistry,
  lessThan,
  RegistryError,
  STRATEGIES,
  type StrategyDefinition,
  validateStrategyKey,
} from '../../src/registry/index.js';

const momentum = STRATEGIES.momentum as StrategyDefinition;

describe('the registry', () => {
  it('holds exactly the seed’s five strategies, in order', () => {
    expect(Object.keys(getStrategyRegistry())).toEqual(['momentum', 'gold', 'range', 'eur_usd_5m_safe', 'momentum_v2']);
    expect(getStrategyInfo('gold')).toMatchObject({ instruments: ['XAU_USD'], riskLevel: 'high', sessionPreference: 'ny' });
    expect(getStrategyInfo('nope')).toBeUndefined();
    expect(validateStrategyKey('range')).toBe(true);
    expect(validateStrategyKey('Range')).toBe(false);
    expect(validateStrategyKey('__proto__')).toBe(false);
    expect(validateStrategyKey('toString')).toBe(false);
  });

  it('derives default tunables from the tunable specs', () => {
    expect(getStrategyInfo('momentum')?.tunables).toEqual({
      lookback_bars: 20,
      entry_threshold_pct: 0.15,
      atr_period: 14,
      stop_loss_atr: 2,
      take_profit_atr: 3,
    });
  });

  it('hands out a copy: mutating it changes nothing in the registry', () => {
    const copy = getStrategyRegistry();
    delete copy.gold;
    copy.evil = { ...(copy.momentum as object) } as never;
    expect(() => {
      (copy.momentum as { name: string }).name = 'hacked';
    }).toThrow(TypeError);
    expect(() => {
      (copy.momentum!.instruments as string[]).push('BTC_USD');
    }).toThrow(TypeError);
    expect(() => {
      (copy.momentum!.tunables as Record<string, number>).lookback_bars = 1;
    }).toThrow(TypeError);
    const fresh = getStrategyRegistry();
    expect(Object.keys(fresh)).toEqual(['momentum', 'gold', 'range', 'eur_usd_5m_safe', 'momentum_v2']);
    expect(fresh.momentum).toMatchObject({
      name: 'Momentum',
      instruments: ['EUR_USD', 'GBP_USD', 'USD_JPY'],
      tunables: { lookback_bars: 20 },
    });
    expect(validateStrategyKey('evil')).toBe(false);
  });

  it('is not changed by mutating the definitions it was built from', () => {
    const defs = { momentum: { ...momentum, instruments: [...momentum.instruments] } };
    const registry = createStrategyRegistry(defs);
    defs.momentum.instruments.push('BTC_USD');
    expect(registry.get('momentum')?.instruments).toEqual(['EUR_USD', 'GBP_USD', 'USD_JPY']);
  });
});

describe('registry validation at load', () => {
  const build = (defs: Record<string, unknown>) => () => createStrategyRegistry(defs as Record<string, StrategyDefinition>);

  it('refuses a key that does not match its entry', () => {
    expect(build({ momentum: { ...momentum, key: 'momentum2' } })).toThrow(
      new RegistryError('Strategy registry is invalid:\n  - momentum.key: key "momentum2" does not match its registry entry "momentum"'),
    );
  });

  it('refuses duplicate keys', () => {
    expect(build({ momentum, momentum_copy: { ...momentum } })).toThrow(/duplicate strategy key "momentum" \(also entry "momentum"\)/);
  });

  it('refuses empty instruments', () => {
    expect(build({ momentum: { ...momentum, instruments: [] } })).toThrow(
      /momentum\.instruments: a strategy must trade at least one instrument/,
    );
  });

  it('refuses malformed instruments, risk levels, sessions and tunables, naming each', () => {
    let message = '';
    try {
      build({
        momentum: {
          ...momentum,
          instruments: ['EURUSD'],
          riskLevel: 'extreme',
          sessionPreference: 'sydney',
          tunables: { lookback_bars: { type: 'integer', default: 1, min: 2, max: 10, description: 'x' } },
        },
      })();
    } catch (err) {
      expect(err).toBeInstanceOf(RegistryError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/momentum\.instruments\.0: instrument must look like EUR_USD/);
    expect(message).toMatch(/momentum\.riskLevel/);
    expect(message).toMatch(/momentum\.sessionPreference/);
    expect(message).toMatch(/momentum\.tunables\.lookback_bars.*default must lie within \[min, max\]/);
  });

  it('refuses a rule across tunables that names one the strategy lacks, or that its own defaults break', () => {
    expect(build({ momentum: { ...momentum, rules: [lessThan('lookback_bars', 'lookahead_bars', 'x')] } })).toThrow(
      /momentum\.rules\.0: names tunables the strategy does not declare: lookahead_bars/,
    );
    // momentum's defaults: atr_period 14, lookback_bars 20.
    expect(build({ momentum: { ...momentum, rules: [lessThan('lookback_bars', 'atr_period', 'x')] } })).toThrow(
      /momentum\.rules\.0: the defaults break it: lookback_bars \(20\) must be less than atr_period \(14\): x/,
    );
    expect(build({ momentum: { ...momentum, rules: [lessThan('atr_period', 'lookback_bars', 'x')] } })).not.toThrow();
  });

  it('refuses an empty registry', () => {
    expect(build({})).toThrow(/the registry holds no strategy/);
  });
});
