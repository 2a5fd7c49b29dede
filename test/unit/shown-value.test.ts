import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ownKeysOnly } from '../../src/registry/own-keys.js';
import { shownName, shownValue } from '../../src/registry/shown-value.js';

describe('shownValue: a client value in an error message, bounded whatever comes in', () => {
  it('spells out small values as JSON does', () => {
    expect(shownValue('gold')).toBe('"gold"');
    expect(shownValue(12.5)).toBe('12.5');
    expect(shownValue(null)).toBe('null');
    expect(shownValue(true)).toBe('true');
    expect(shownValue([1, 'a'])).toBe('[1,"a"]');
    expect(shownValue({ a: [1] })).toBe('{"a":[1]}');
    expect(shownValue(undefined)).toBe('nothing');
  });

  it('names what is not plain data as such, not by its keys ({} for a date, {"0":104,...} for bytes)', () => {
    expect(shownValue(new Date('2001-12-14T00:00:00Z'))).toBe('a date (2001-12-14T00:00:00.000Z)');
    expect(shownValue(new Date(Number.NaN))).toBe('an invalid date');
    expect(shownValue(Buffer.from('hello'))).toBe('binary data (5 bytes)');
    expect(shownValue(new Set(['a', 'b']))).toBe('a YAML set of 2');
    expect(shownValue(new Map([['a', 1]]))).toBe('a YAML map of 1');
    expect(shownValue(10n)).toBe('10 (a bigint)');
    expect(shownValue({ at: new Date(0) })).toBe('{"at":a date (1970-01-01T00:00:00.000Z)}');
  });

  it('names a number JSON cannot hold (1e400 parses as Infinity; JSON.stringify printed null)', () => {
    expect(shownValue(JSON.parse('1e400'))).toBe('a number out of range');
    expect(shownValue(Number.NaN)).toBe('a number out of range');
  });

  it('cuts deep, wide and long values short: 100,000 levels, 10,000 keys, a 1 MB string', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(shownValue(deep)).toBe('[[[[…]]]]');
    const wide = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]));
    expect(shownValue(wide)).toBe('{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,…}');
    const long = shownValue('x'.repeat(1_000_000));
    expect(long.length).toBe(60);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('ownKeysOnly: a map whose own __proto__ key is refused, not dropped', () => {
  const map = ownKeysOnly(z.record(z.string(), z.number()));
  it('zod alone drops it without a word (why the wrapper exists)', () => {
    expect(z.record(z.string(), z.number()).parse(JSON.parse('{"__proto__": 5, "a": 1}'))).toEqual({ a: 1 });
  });
  it('refused with its path; other maps pass as they were', () => {
    const refused = map.safeParse(JSON.parse('{"__proto__": 5, "a": 1}'));
    expect(refused.success).toBe(false);
    expect(refused.error?.issues.map((i) => [i.path, i.message])).toEqual([[['__proto__'], '__proto__ is never accepted as a key']]);
    expect(map.parse({ a: 1, constructor: 2 })).toEqual({ a: 1, constructor: 2 });
  });
});

describe('what a message echoes shows what was sent (the README helper session F10)', () => {
  it('controls, bidi controls and invisible characters are shown as \\uXXXX, in names and in values', () => {
    expect(shownName('\u202egold')).toBe('\\u202Egold');
    expect(shownName('gold\u0000')).toBe('gold\\u0000');
    expect(shownName('go\u200bld\u2066\ufeff')).toBe('go\\u200Bld\\u2066\\uFEFF');
    expect(shownValue('\u202egold\u0007')).toBe('"\\u202Egold\\u0007"');
    expect(shownValue({ '\u2067k': 'v\u2028' })).toBe('{"\\u2067k":"v\\u2028"}');
    // Every format character, and the fillers that show as blank: a soft hyphen, a tag (past U+FFFF), a Hangul filler.
    expect(shownName('Gold\u00ad Trend\u{E0041}\u3164')).toBe('Gold\\u00AD Trend\\u{E0041}\\u3164');
    expect(shownValue('a\u2029b\u2064')).toBe('"a\\u2029b\\u2064"');
    // Letters of any script stay as they are, and an emoji's variation selector (how it is drawn).
    expect(shownName('золото 金 ذهب')).toBe('золото 金 ذهب');
    expect(shownName('gold \u2764\ufe0f')).toBe('gold \u2764\ufe0f');
  });
});
