import { describe, expect, it } from 'vitest';
import { inForceText, parseTunable, type TunableDefinition, tunablesPatch, typedFields } from '../../src/page/tunables.js';

const def = (type: 'INTEGER' | 'FLOAT' | 'BOOLEAN', min: number | null = null, max: number | null = null) =>
  ({ name: 'band_period', type, min, max, default: 20, description: '' }) as unknown as TunableDefinition;

describe("the operator page's tunable fields", () => {
  it.each([
    ['30', 30],
    ['+30', 30],
    ['2.5', 2.5],
    ['.5', 0.5],
    ['-1.25', -1.25],
    [' 42 ', 42],
  ])('reads %j as %j', (text, value) => {
    expect(parseTunable(def('FLOAT'), text)).toEqual({ ok: true, value });
  });

  it.each(['0x10', '1e2', '0b11', '0o7', '2,5', 'Infinity', '1_000', '--1', '.'])('refuses %j (not a plain decimal)', (text) => {
    expect(parseTunable(def('FLOAT'), text)).toMatchObject({ ok: false, message: expect.stringMatching(/^must be a number/) });
  });

  it('checks whole numbers and bounds after that; empty is no override', () => {
    expect(parseTunable(def('INTEGER', 2, 200), '2.5')).toEqual({ ok: false, message: 'must be a whole number' });
    expect(parseTunable(def('INTEGER', 2, 200), '201')).toEqual({
      ok: false,
      message: 'must be at most 200 (the range is 2 to 200, whole numbers)',
    });
    expect(parseTunable(def('INTEGER', 2, 200), '')).toEqual({ ok: true, value: null });
    expect(parseTunable(def('BOOLEAN'), 'true')).toEqual({ ok: true, value: true });
  });
});

describe('what the overrides editor shows in force, keeps on Review again, and sends', () => {
  it.each([
    [0.0000005, '0.0000005'],
    [1.5e-7, '0.00000015'],
    [-2.5e-8, '-0.000000025'],
    [1e21, '1000000000000000000000'],
    [1.25e22, '12500000000000000000000'],
    [0.05, '0.05'],
    [40, '40'],
  ])('shows %j in force as the plain decimal %j, which the field reads back as the same number', (value, text) => {
    expect(inForceText(value)).toBe(text);
    expect(parseTunable(def('FLOAT'), text)).toEqual({ ok: true, value });
  });

  it('shows no override as an empty field, and a boolean as its word', () => {
    expect([inForceText(null), inForceText(undefined), inForceText(false)]).toEqual(['', '', 'false']);
  });

  const named = (name: string, type: 'INTEGER' | 'FLOAT' = 'INTEGER') => ({ ...def(type, 0, 500), name }) as TunableDefinition;

  it('keeps on Review again only the fields the operator changed: one left alone shows what is in force then', () => {
    // fast typed 12 (9 in force); slow left at 100, what it showed; min cleared (the default).
    const fields = [
      { def: named('fast_ma_period'), inForce: '9', text: '12' },
      { def: named('slow_ma_period'), inForce: '100', text: '100' },
      { def: named('min_separation_pct', 'FLOAT'), inForce: '0.5', text: '' },
      { def: named('atr_period'), inForce: '', text: ' ' },
    ];
    expect(typedFields(fields)).toEqual({ fast_ma_period: '12', min_separation_pct: '' });
  });

  it('sends only the fields changed, and does not judge one left alone (an override in force the field would refuse as typed)', () => {
    const overrides = { fast_ma_period: 9, min_separation_pct: 0.0000005 };
    const fields = [
      { def: named('fast_ma_period'), inForce: '9', text: '13' },
      // What a page before this showed of 5e-7: refused as typed, it blocked every save of the strategy.
      { def: named('min_separation_pct', 'FLOAT'), inForce: '5e-7', text: '5e-7' },
    ];
    expect(tunablesPatch(fields, overrides)).toEqual({ patch: { fast_ma_period: 13 }, problems: [] });
    expect(tunablesPatch([{ def: named('fast_ma_period'), inForce: '9', text: '1e1' }], overrides)).toEqual({
      patch: {},
      problems: ['fast_ma_period must be a number (digits, an optional sign and decimal point)'],
    });
    // Typed back to its value in force: nothing to send.
    expect(tunablesPatch([{ def: named('fast_ma_period'), inForce: '9', text: '9.0' }], overrides)).toEqual({ patch: {}, problems: [] });
  });
});
