import { describe, expect, it } from 'vitest';
import { parseTunable, type TunableDefinition } from '../../src/page/tunables.js';

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
