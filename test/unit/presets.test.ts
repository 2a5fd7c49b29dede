import { describe, expect, it } from 'vitest';
import { ConfigFileError, MAX_FILE_PROBLEMS } from '../../src/config/errors.js';
import { parsePresetsFile, renderPresetsText } from '../../src/config/presets-file.js';
import { judgeStoredPresets, NO_PRESETS_DIGEST, presetsInForce } from '../../src/config/presets-judge.js';
import { DEFAULT_SETTINGS, type RuntimeConfig } from '../../src/config/schema.js';
import {
  checkPreset,
  checkPresets,
  defaultRegistry,
  MAX_PRESET_ISSUES,
  type PresetDefinition,
  presetChanges,
  presetNameProblem,
  samePresets,
  strategySetOf,
} from '../../src/registry/index.js';

const FILE = 'strategies.yaml';

const GOLD_FAST = `# presets for the desk
version: 3
presets:
  gold_fast: # the quick one
    base: gold
    name: Gold Trend (fast)
    description: Faster crossover for quiet days.
    instruments: [XAU_USD] # only gold
    risk_level: high
    session_preference: ny
    tunables:
      fast_ma_period: 8 # was 20
      slow_ma_period: 21
  calm_momentum:
    base: momentum
    name: Calm momentum
`;

/** The problems a text is refused with, as `line: message`. */
function problems(text: string): string[] {
  try {
    parsePresetsFile(defaultRegistry, FILE, text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigFileError);
    expect((err as ConfigFileError).subject).toBe('presets');
    return (err as ConfigFileError).problems.map((p) => `${p.line ?? '-'}: ${p.message}`);
  }
  throw new Error('the text was accepted');
}

const preset = (body: string) => `version: 1\npresets:\n  my_preset:\n${body}`;

describe('strategies.yaml: parsing and checks against the static strategies', () => {
  it('reads the presets in file order, in their canonical form', () => {
    const content = parsePresetsFile(defaultRegistry, FILE, GOLD_FAST);
    expect(content.version).toBe(3);
    expect(content.presets).toEqual([
      {
        key: 'gold_fast',
        base: 'gold',
        name: 'Gold Trend (fast)',
        description: 'Faster crossover for quiet days.',
        instruments: ['XAU_USD'],
        riskLevel: 'high',
        sessionPreference: 'ny',
        tunables: { fast_ma_period: 8, slow_ma_period: 21 },
      },
      { key: 'calm_momentum', base: 'momentum', name: 'Calm momentum' },
    ]);
  });

  it('a missing or empty file is no presets at version 0', () => {
    expect(parsePresetsFile(defaultRegistry, FILE, null)).toEqual({ version: 0, presets: [] });
    expect(parsePresetsFile(defaultRegistry, FILE, '# nothing yet\n')).toEqual({ version: 0, presets: [] });
    expect(parsePresetsFile(defaultRegistry, FILE, 'version: 2\npresets:\n')).toEqual({ version: 2, presets: [] });
  });

  it('refuses an unknown base, naming the static strategies, at its line', () => {
    expect(problems(preset('    base: golden\n    name: X\n'))).toEqual([
      '4: presets.my_preset.base: unknown strategy "golden" (static strategies: momentum, gold, range, eur_usd_5m_safe, momentum_v2)',
    ]);
  });

  it('refuses a preset as a base: variants of variants would hide which code runs', () => {
    const text = `version: 1\npresets:\n  a_one:\n    base: gold\n    name: A\n  b_two:\n    base: a_one\n    name: B\n`;
    expect(problems(text)).toEqual([
      '7: presets.b_two.base: unknown strategy "a_one" (static strategies: momentum, gold, range, eur_usd_5m_safe, momentum_v2)',
    ]);
    const withPresets = strategySetOf(defaultRegistry, [{ key: 'a_one' as never, base: 'gold' as never, name: 'A' }]);
    const checked = checkPreset(withPresets, 'b_two', { base: 'a_one', name: 'B' });
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.issues[0]?.message).toMatch(/^"a_one" is a preset; a preset's base must be a static strategy/);
  });

  it('refuses tunables the base lacks, of the wrong type, or out of bounds, each at its line', () => {
    const text = preset(
      '    base: gold\n    name: X\n    tunables:\n      fast_ma_period: 1\n      slow_ma_period: 2.5\n      min_separation_pct: yes\n      lookback_bars: 20\n',
    );
    expect(problems(text)).toEqual([
      '7: presets.my_preset.tunables.fast_ma_period: must be an integer in [2, 200], got 1',
      '8: presets.my_preset.tunables.slow_ma_period: must be an integer in [3, 500], got 2.5',
      '9: presets.my_preset.tunables.min_separation_pct: must be a number in [0, 5], got "yes"',
      '10: presets.my_preset.tunables.lookback_bars: unknown tunable "lookback_bars" for gold (its tunables: fast_ma_period, slow_ma_period, min_separation_pct, atr_period, stop_loss_atr)',
    ]);
  });

  it('refuses tunables that together break a rule of the base, at the line of the one it sets', () => {
    // Each within its bounds; with the base's slow_ma_period (50), or its own, the fast average would be the longer.
    expect(problems(preset('    base: gold\n    name: X\n    tunables:\n      fast_ma_period: 60\n'))).toEqual([
      expect.stringMatching(
        /^7: presets\.my_preset\.tunables\.fast_ma_period: fast_ma_period \(60\) must be less than slow_ma_period \(50\): /,
      ),
    ]);
    expect(problems(preset('    base: gold\n    name: X\n    tunables:\n      slow_ma_period: 12\n'))).toEqual([
      expect.stringMatching(
        /^7: presets\.my_preset\.tunables\.slow_ma_period: fast_ma_period \(20\) must be less than slow_ma_period \(12\)/,
      ),
    ]);
    const both = checkPreset(defaultRegistry, 'gold_slow', {
      base: 'gold',
      name: 'X',
      tunables: { fast_ma_period: 60, slow_ma_period: 100 },
    });
    expect(both.ok).toBe(true);
  });

  it('refuses instruments the base does not trade, and repeats', () => {
    expect(problems(preset('    base: gold\n    name: X\n    instruments: [XAU_USD, EUR_USD]\n'))).toEqual([
      '6: presets.my_preset.instruments.1: EUR_USD is not traded by gold (its instruments: XAU_USD)',
    ]);
    expect(problems(preset('    base: gold\n    name: X\n    instruments: [XAU_USD, XAU_USD]\n'))).toEqual([
      '6: presets.my_preset.instruments: instruments must not repeat',
    ]);
  });

  it('refuses keys that are malformed or a static strategy’s, duplicate keys, unknown fields and a missing name', () => {
    expect(problems('version: 1\npresets:\n  Gold-Fast:\n    base: gold\n    name: X\n')).toEqual([
      '3: presets.Gold-Fast: "Gold-Fast" is not a preset key: lower snake_case, 2 to 48 characters (^[a-z][a-z0-9_]{1,47}$)',
    ]);
    expect(problems('version: 1\npresets:\n  gold:\n    base: gold\n    name: X\n')).toEqual([
      `3: presets.gold: "gold" is a static strategy's key; a preset needs a key of its own`,
    ]);
    expect(problems(`version: 1\npresets:\n  ${'a'.repeat(49)}:\n    base: gold\n    name: X\n`)[0]).toMatch(/is not a preset key/);
    expect(problems('version: 1\npresets:\n  g_one:\n    base: gold\n    name: X\n  g_one:\n    base: gold\n    name: Y\n')).toEqual([
      '6: Map keys must be unique',
    ]);
    expect(problems(preset('    base: gold\n    name: X\n    colour: gold\n    riskLevel: high\n'))).toEqual([
      '6: presets.my_preset: Unrecognized key: "colour" (known: base, name, description, instruments, risk_level, session_preference, tunables)',
      '7: presets.my_preset: Unrecognized key: "riskLevel" (known: base, name, description, instruments, risk_level, session_preference, tunables)',
    ]);
    expect(problems(preset('    base: gold\n'))).toEqual(['4: presets.my_preset.name: is required']);
  });

  it('a name that reads as another strategy’s (a static one’s or another preset’s, ignoring case and compatibility forms) is the API’s refusal; a stored set holding one still loads', () => {
    const alike = '; a preset needs a name of its own (compared ignoring case, Unicode compatibility forms and invisible characters)';
    const named = (key: string, base: string, name: string) => ({ key, base, name }) as PresetDefinition;
    // Two rows "Gold Trend" in a listing, told apart only by key: a preset showing as another strategy.
    expect(presetNameProblem(defaultRegistry, named('my_preset', 'momentum', 'Gold Trend'), [])).toBe(
      `"Gold Trend" is the name of the static strategy gold ("Gold Trend")${alike}`,
    );
    // Full-width letters (NFKC: the plain ones), another case, a doubled space.
    expect(presetNameProblem(defaultRegistry, named('my_preset', 'momentum', 'ＧＯＬＤ  trend'), [])).toMatch(/static strategy gold/);
    const quiet = named('p_one', 'gold', 'Quiet');
    expect(presetNameProblem(defaultRegistry, named('p_two', 'range', 'quiet'), [quiet])).toBe(
      `"quiet" is the name of the preset p_one ("Quiet")${alike}`,
    );
    // Its own name (another case of it) is no copy; a name that only contains another is its own.
    expect(presetNameProblem(defaultRegistry, named('p_one', 'gold', 'QUIET'), [quiet])).toBeUndefined();
    expect(presetNameProblem(defaultRegistry, named('my_preset', 'gold', 'Gold Trend (fast)'), [])).toBeUndefined();
    // A file holding copies (a hand edit, or written before the check) loads: refused, a server that
    // ran on it would not start after an upgrade.
    const copies =
      'version: 1\npresets:\n  p_one:\n    base: gold\n    name: Gold Trend\n  p_two:\n    base: range\n    name: gold trend\n';
    expect(parsePresetsFile(defaultRegistry, FILE, copies).presets.map((p) => p.key)).toEqual(['p_one', 'p_two']);
  });

  it('refuses as blank a name of blank fillers or default-ignorables alone, and reads a filler as the space it shows', () => {
    // Each shows as an empty or blank name in a listing: the Hangul fillers (two columns of nothing),
    // the braille blank, a combining grapheme joiner, a variation selector, a zero-width space.
    for (const name of ['\u3164', '\u115f\u1160', '\uffa0 ', '\u2800', '\u034f', '\ufe0f', '\u200b']) {
      const checked = checkPreset(defaultRegistry, 'p_blank', { base: 'gold', name });
      expect(checked.ok ? [] : checked.issues, JSON.stringify(name)).toEqual([{ path: ['name'], message: 'must not be blank' }]);
    }
    // A description too (the same check).
    const described = checkPreset(defaultRegistry, 'p_blank', { base: 'gold', name: 'Quiet', description: '\u2800\n\u3164' });
    expect(described.ok ? [] : described.issues).toEqual([{ path: ['description'], message: 'must not be blank' }]);
    // "Gold\u3164Trend" shows as "Gold Trend" (a blank between): gold's name, not "goldtrend".
    const alike = '; a preset needs a name of its own (compared ignoring case, Unicode compatibility forms and invisible characters)';
    for (const name of ['Gold\u3164Trend', 'Gold\u115fTrend', 'Gold\uffa0\u200bTrend', 'Gold \u2800 Trend']) {
      const checked = checkPreset(defaultRegistry, 'p_copy', { base: 'momentum', name });
      expect(checked.ok, JSON.stringify(name)).toBe(true);
      if (checked.ok)
        expect(presetNameProblem(defaultRegistry, checked.preset, [])).toContain(
          `is the name of the static strategy gold ("Gold Trend")${alike}`,
        );
    }
    // A filler is a blank, not nothing: "Quiet\u3164days" copies "Quiet days", not "Quietdays".
    const named = (key: string, name: string) => ({ key, base: 'gold', name }) as PresetDefinition;
    const filled = named('p_two', 'Quiet\u3164days');
    expect(presetNameProblem(defaultRegistry, filled, [named('p_one', 'Quietdays')])).toBeUndefined();
    expect(presetNameProblem(defaultRegistry, filled, [named('p_one', 'Quiet days')])).toMatch(
      /^".+" is the name of the preset p_one \("Quiet days"\)/,
    );
  });

  it('refuses a wrong shape: not a mapping, no version, unknown top-level keys, aliases', () => {
    expect(problems('- a\n- b\n')).toEqual([
      '1: the presets file must be a YAML mapping: version: <n> and presets: { <key>: { base, name, description, ... } }',
    ]);
    expect(problems('presets: {}\nextra: 1\n')).toEqual([
      '2: Unrecognized key: "extra" (a presets file has version and presets)',
      '-: version: is required (a whole number, 0 or more)',
    ]);
    expect(problems('version: -1\n')).toEqual(['1: version: must be a whole number from 0 to 2147483647, got -1']);
    expect(problems('version: 1\npresets: [gold_fast]\n')).toEqual([
      '2: presets: must be a mapping of preset keys to presets ({} for none)',
    ]);
    // Each alias is reported at its own line (a large file need not be searched), merge keys too.
    expect(problems('version: 1\npresets:\n  a_one: &p\n    base: gold\n    name: A\n  b_two: *p\n  c_three:\n    <<: *p\n')).toEqual([
      expect.stringMatching(/^6: YAML aliases are not allowed here \(\*p\): write the value out/),
      expect.stringMatching(/^8: YAML aliases are not allowed here \(\*p\): write the value out/),
    ]);
  });
});

describe('the strategy set', () => {
  it('is the static strategies, then the presets in file order, each entry its base’s signal with its own metadata', () => {
    const { presets } = parsePresetsFile(defaultRegistry, FILE, GOLD_FAST);
    const set = strategySetOf(defaultRegistry, presets);
    expect(set.keys).toEqual(['momentum', 'gold', 'range', 'eur_usd_5m_safe', 'momentum_v2', 'gold_fast', 'calm_momentum']);
    const gold = defaultRegistry.get('gold')!;
    const fast = set.get('gold_fast')!;
    expect(fast).toMatchObject({
      source: 'preset',
      base: 'gold',
      name: 'Gold Trend (fast)',
      instruments: ['XAU_USD'],
      riskLevel: 'high',
      tunables: { ...gold.tunables, fast_ma_period: 8, slow_ma_period: 21 },
    });
    expect(fast.signal).toBe(gold.signal);
    expect(fast.tunableSpecs).toBe(gold.tunableSpecs);
    // Left out: the base's.
    const calm = set.get('calm_momentum')!;
    const momentum = defaultRegistry.get('momentum')!;
    expect(calm).toMatchObject({
      description: momentum.description,
      instruments: momentum.instruments,
      riskLevel: momentum.riskLevel,
      sessionPreference: momentum.sessionPreference,
      tunables: momentum.tunables,
    });
    expect(Object.isFrozen(fast) && Object.isFrozen(fast.tunables) && Object.isFrozen(fast.preset)).toBe(true);
    expect(set.get('gold')).toBe(gold);
    expect(set.parse('gold_fast')).toBe('gold_fast');
    // Built from a set that already has presets: the static part is what counts.
    expect(strategySetOf(set, []).keys).toEqual(defaultRegistry.keys);
  });

  it('compares presets by meaning (tunables in any order) and lists what changed field by field', () => {
    const a: PresetDefinition[] = [
      { key: 'p_one' as never, base: 'gold' as never, name: 'P', tunables: { fast_ma_period: 8, slow_ma_period: 21 } },
    ];
    const b: PresetDefinition[] = [
      { key: 'p_one' as never, base: 'gold' as never, name: 'P', tunables: { slow_ma_period: 21, fast_ma_period: 8 } },
    ];
    expect(samePresets(a, b)).toBe(true);
    expect(presetChanges(a, b)).toEqual({});
    const c: PresetDefinition[] = [{ ...a[0]!, name: 'Q', riskLevel: 'low' }];
    expect(samePresets(a, c)).toBe(false);
    expect(presetChanges(a, c)).toEqual({ 'p_one.name': { before: 'P', after: 'Q' }, 'p_one.riskLevel': { before: null, after: 'low' } });
    expect(Object.keys(presetChanges(a, []))).toEqual(['p_one.base', 'p_one.name', 'p_one.tunables']);
  });
});

describe('writing strategies.yaml back', () => {
  it('edits the file in place: comments, order and untouched presets survive; new presets go last', () => {
    const { presets } = parsePresetsFile(defaultRegistry, FILE, GOLD_FAST);
    const [fast, calm] = presets as [PresetDefinition, PresetDefinition];
    const added: PresetDefinition = {
      key: 'range_tight' as never,
      base: 'range' as never,
      name: 'Range (tight)',
      tunables: { band_std_dev: 1.5 },
    };
    const next = [{ ...fast, tunables: { fast_ma_period: 9, slow_ma_period: 21 }, riskLevel: undefined }, calm, added];
    const text = renderPresetsText(GOLD_FAST, { version: 4, presets: next as PresetDefinition[] });
    expect(text).toContain('# presets for the desk');
    expect(text).toContain('# the quick one');
    expect(text).toContain('fast_ma_period: 9 # was 20');
    expect(text).toContain('instruments: [ XAU_USD ] # only gold');
    expect(text).not.toContain('risk_level');
    expect(text).toMatch(/^version: 4$/m);
    expect(text.indexOf('calm_momentum')).toBeLessThan(text.indexOf('range_tight'));
    const reread = parsePresetsFile(defaultRegistry, FILE, text);
    expect(samePresets(reread.presets, next as PresetDefinition[])).toBe(true);
    expect(reread.version).toBe(4);

    const removed = renderPresetsText(text, { version: 5, presets: [calm] });
    expect(removed).toContain('# presets for the desk');
    expect(parsePresetsFile(defaultRegistry, FILE, removed).presets.map((p) => p.key)).toEqual(['calm_momentum']);
    const none = renderPresetsText(removed, { version: 6, presets: [] });
    expect(none).toMatch(/^presets: \{\}$/m);
    expect(parsePresetsFile(defaultRegistry, FILE, none)).toEqual({ version: 6, presets: [] });
  });

  it('writes a new file (with a header) when there is none', () => {
    const text = renderPresetsText(null, {
      version: 1,
      presets: [{ key: 'gold_x' as never, base: 'gold' as never, name: 'X', instruments: ['XAU_USD'] }],
    });
    expect(text).toMatch(/^# strategy-control-plane presets/);
    expect(parsePresetsFile(defaultRegistry, FILE, text).presets).toEqual([
      { key: 'gold_x', base: 'gold', name: 'X', instruments: ['XAU_USD'] },
    ]);
  });
});

describe('judging stored presets (both stores)', () => {
  const config = (over: Partial<RuntimeConfig>): RuntimeConfig => ({
    ...DEFAULT_SETTINGS,
    version: 1,
    updatedAt: '2026-01-05T01:35:00Z',
    ...over,
  });

  it('keeps out a set that removes the active strategy or invalidates an override, and says why', () => {
    const onGoldFast = config({ activeStrategyKey: 'gold_fast' as never });
    const gone = judgeStoredPresets(defaultRegistry, FILE, 'version: 2\npresets: {}\n', () => onGoldFast);
    expect(gone.ok).toBe(false);
    expect(!gone.ok && gone.content?.presets).toEqual([]);
    expect(!gone.ok && gone.error.problems[0]?.message).toMatch(
      /^kept out: this version of the presets would leave the config invalid \(active_strategy_key: Invalid strategy key: gold_fast\)/,
    );
    // The file deleted: said as a removal, in words that read (it read "the presets are gone (no file) would leave ...").
    const deleted = judgeStoredPresets(defaultRegistry, FILE, null, () => onGoldFast);
    expect(!deleted.ok && deleted.error.problems[0]?.message).toMatch(
      /^kept out: removing the presets \(the file or key is gone\) would leave the config invalid \(active_strategy_key: Invalid strategy key: gold_fast\)/,
    );

    const overridden = config({ tunableOverrides: { calm: { lookback_bars: 40 } } });
    const rebased = 'version: 2\npresets:\n  calm:\n    base: gold\n    name: Calm\n';
    const judged = judgeStoredPresets(defaultRegistry, FILE, rebased, () => overridden);
    expect(!judged.ok && judged.error.problems[0]?.message).toMatch(
      /tunable_overrides\.calm\.lookback_bars: unknown tunable "lookback_bars"/,
    );

    // A preset valid alone, with the config's overrides for it on top, breaks a rule across its tunables.
    const slowOverride = config({ tunableOverrides: { calm: { slow_ma_period: 25 } } });
    const quickCalm = 'version: 2\npresets:\n  calm:\n    base: gold\n    name: Calm\n    tunables:\n      fast_ma_period: 30\n';
    const crossed = judgeStoredPresets(defaultRegistry, FILE, quickCalm, () => slowOverride);
    expect(!crossed.ok && crossed.error.problems[0]?.message).toMatch(
      /tunable_overrides\.calm\.slow_ma_period: fast_ma_period \(30\) must be less than slow_ma_period \(25\)/,
    );

    const fine = judgeStoredPresets(defaultRegistry, FILE, GOLD_FAST, () => config({}));
    expect(fine.ok && fine.strategies.has('gold_fast')).toBe(true);
  });

  it('numbers a set so versions never go backwards (the config’s rule); no presets ever is version 0', () => {
    const content = { version: 3, presets: [] };
    expect(presetsInForce({ version: 0, presets: [] }, NO_PRESETS_DIGEST, undefined, 0).version).toBe(0);
    expect(presetsInForce(content, 'sha256:x', undefined, 0).version).toBe(3);
    expect(presetsInForce(content, 'sha256:x', undefined, 7).version).toBe(8);
    const last = { digest: 'sha256:x', version: 5 } as never;
    expect(presetsInForce(content, 'sha256:x', last, 5).version).toBe(5);
    expect(presetsInForce({ version: 0, presets: [] }, NO_PRESETS_DIGEST, { digest: 'sha256:y', version: 5 } as never, 5).version).toBe(6);
  });
});

describe('many problems: the first ones described, the rest counted', () => {
  const unknownTunables = (prefix: string, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 1]));

  it(`checkPresets describes ${MAX_PRESET_ISSUES} problems across the set, each preset's own count included, and counts the rest in one`, () => {
    const entries = ['p_a', 'p_b', 'p_c'].map((key) => [key, { base: 'gold', name: key, tunables: unknownTunables(key, 30) }] as const);
    const checked = checkPresets(defaultRegistry, entries);
    expect(checked.ok).toBe(false);
    const issues = checked.ok ? [] : checked.issues;
    expect(issues).toHaveLength(MAX_PRESET_ISSUES + 1);
    expect(issues[0]?.path).toEqual(['p_a', 'tunables', 'p_a0']);
    expect(issues[MAX_PRESET_ISSUES - 1]?.path).toEqual(['p_b', 'tunables', 'p_b19']);
    expect(issues.at(-1)).toEqual({ path: [], message: `... and ${90 - MAX_PRESET_ISSUES} more problems in these presets`, more: 40 });
  });

  it('a strategies.yaml of 200 unknown tunables in each of 3 presets: 20 problems at their lines, and how many more', () => {
    const text = `version: 1\npresets:\n${['p_a', 'p_b', 'p_c']
      .map(
        (key) =>
          `  ${key}:\n    base: gold\n    name: ${key}\n    tunables:\n${Array.from({ length: 200 }, (_, i) => `      t${i}: 1\n`).join('')}`,
      )
      .join('')}`;
    let error: ConfigFileError | undefined;
    try {
      parsePresetsFile(defaultRegistry, FILE, text);
    } catch (err) {
      error = err as ConfigFileError;
    }
    expect(error).toBeInstanceOf(ConfigFileError);
    expect(error?.problems).toHaveLength(MAX_FILE_PROBLEMS + 1);
    expect(error?.problems[0]).toMatchObject({
      line: 7,
      message: expect.stringMatching(/^presets\.p_a\.tunables\.t0: unknown tunable "t0"/),
    });
    expect(error?.problems.at(-1)).toEqual({ message: `... and ${600 - MAX_FILE_PROBLEMS} more problems` });
  });

  it('a ConfigFileError given thousands of problems carries (and says) 20 of them and how many more', () => {
    const problems = Array.from({ length: 5_000 }, (_, i) => ({ line: i + 1, message: `problem ${i}` }));
    const error = new ConfigFileError('/srv/strategies.yaml', problems, 'presets');
    expect(error.problems).toHaveLength(MAX_FILE_PROBLEMS + 1);
    expect(error.problems.at(-1)).toEqual({ message: `... and ${5_000 - MAX_FILE_PROBLEMS} more problems` });
    expect(error.message.split('\n')).toHaveLength(1 + MAX_FILE_PROBLEMS + 1);
    // A list already capped (its last line says how many more) is kept as it is.
    const capped = new ConfigFileError('/srv/strategies.yaml', error.problems, 'presets');
    expect(capped.problems).toEqual(error.problems);
  });
});
