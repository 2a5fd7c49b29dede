import * as z from 'zod';
import type { PresetIssue } from './errors.js';
import { ownKeysOnly } from './own-keys.js';
import { deepFreeze, registryOf, type StrategyRegistry } from './registry.js';
import { shownValue as shown, shownName } from './shown-value.js';
import { brokenTunableRules, checkTunableValue, storedTunableValue } from './tunables.js';
import { instrumentSchema, type PresetDefinition, riskLevels, type StrategyInfo, type TunableValue, tradingSessions } from './types.js';

/**
 * Presets: variants of the static strategies defined as data (strategies.yaml, or the etcd
 * `strategies` key). Pure functions only: values in, values or issues out, so the file store and
 * the etcd store judge a preset the same way. Which strategies are static is read off the registry
 * passed in (`source: 'static'`), so the static registry and a registry with presets both serve.
 */

export const PRESET_KEY_PATTERN = /^[a-z][a-z0-9_]{1,47}$/;
export const PRESET_TEXT_LIMITS = { name: 100, description: 2000 } as const;
/**
 * And in UTF-8 bytes, twice the characters: what a full set's listing is sized by (MAX_PRESETS).
 * Counted in characters alone, a description of 2,000 CJK characters or `€` is 6,000 bytes, and 200
 * of them put a listing of every strategy over the 1 MiB response limit: refused as too large.
 */
export const PRESET_TEXT_BYTES = { name: 200, description: 4000 } as const;

/** Its length in UTF-8 (a lone surrogate, refused anyway, as the 3 bytes of U+FFFD). */
export function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

/**
 * At most this many presets in a set: a listing of every strategy (GraphQL `strategies`, `GET
 * /api/strategies`, `stratctl strategies`), which has no paging, stays under the response limit
 * (1 MiB) even with every name and description at its longest.
 */
export const MAX_PRESETS = 200;
export const tooManyPresets = (count: number) =>
  `at most ${MAX_PRESETS} presets (so that a listing of every strategy stays under the response limit), got ${count}`;

/** A preset's fields, in the order they are written and compared. */
export const PRESET_FIELDS = ['base', 'name', 'description', 'instruments', 'riskLevel', 'sessionPreference', 'tunables'] as const;
export type PresetField = (typeof PRESET_FIELDS)[number];

const required =
  (what: string) =>
  (iss: { input?: unknown }): string =>
    iss.input === undefined || iss.input === null ? 'is required' : `must be ${what}, got ${shown(iss.input)}`;
// A key written with no value (`risk_level:`) reads as null: the same as leaving it out.
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? undefined : v), schema.optional());
// Names are shown in lists and tables: one line of printable text. U+2028 and U+2029 (Zl, Zp) break
// a line as surely as \n does, where they are honoured (YAML 1.1, editors, JavaScript source).
const CONTROL = /[\p{Cc}\p{Zl}\p{Zp}]/u;
const MULTILINE_CONTROL = /[^\P{Cc}\n\t]/u;
// Bidirectional embeddings, overrides and isolates reorder the text around them: a name or
// description that shows one thing and holds another (a preset that looks like another's).
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;
// Half a surrogate pair is no character: JSON answers it as a 6-byte escape, YAML cannot hold it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// What shows as a blank the width of a letter: the Hangul fillers (U+115F, U+1160, U+3164 and the
// halfwidth U+FFA0; NFKC reads the last two as U+1160) and the braille blank. Default-ignorable
// (but the braille blank), yet terminals and fonts draw them: "Gold\u3164Trend" shows as "Gold Trend".
const BLANK_FILLER = /[\u115F\u1160\u3164\uFFA0\u2800]/gu;
// What shows as nothing: format characters (zero-width space, soft hyphen, directional marks, tags)
// and the other default-ignorable code points (combining grapheme joiner, variation selectors).
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;

/**
 * A name as it reads: NFKC (a full-width or ligature form reads as the plain one), blank fillers as a
 * space, invisible characters dropped ("Gold Tr\u200bend" shows as "Gold Trend"), case folded, runs
 * of white space as one. Two names the same here show as the same row in a listing; a name (or a
 * description) that reads as nothing here shows as nothing, and is blank.
 */
const nameAsRead = (name: string): string =>
  name
    .normalize('NFKC')
    .replace(BLANK_FILLER, ' ')
    .replace(INVISIBLE, '')
    .toLowerCase()
    .replace(/\p{White_Space}+/gu, ' ')
    .trim();

const text = (what: string, max: number, maxBytes: number, oneLine: boolean) =>
  z
    .string({ error: required(what) })
    // Blank also when all it holds is invisible (zero-width spaces and joiners, variation selectors) or
    // blank fillers (U+3164, the braille blank): read as the name comparison reads it, one definition.
    .refine((s) => nameAsRead(s) !== '', 'must not be blank')
    // Counted as JavaScript counts (UTF-16 code units): the listing's size bound assumes it.
    .refine((s) => s.length <= max, `must be at most ${max} characters (UTF-16 code units: most emoji count 2)`)
    .refine(
      (s) => utf8Length(s) <= maxBytes,
      `must be at most ${maxBytes} bytes in UTF-8 (${maxBytes / 2} characters of most scripts, ${Math.floor(maxBytes / 3)} of CJK)`,
    )
    .refine((s) => !LONE_SURROGATE.test(s), 'must be Unicode text (half a surrogate pair is not)')
    .refine((s) => !oneLine || !CONTROL.test(s), 'must be one line of text, without control characters')
    // A description may span lines; other control characters show as nothing and answer as 6 bytes each (\u0001).
    .refine((s) => oneLine || !MULTILINE_CONTROL.test(s), 'must not contain control characters other than newline and tab')
    .refine((s) => !BIDI_CONTROL.test(s), 'must not contain bidirectional control characters (U+202A to U+202E, U+2066 to U+2069)');

/** Each field's shape alone; what depends on the base is checked after (see checkPreset). */
const FIELD_SCHEMAS: Record<PresetField, z.ZodType> = {
  base: z.string({ error: required('a static strategy key') }),
  name: text('text', PRESET_TEXT_LIMITS.name, PRESET_TEXT_BYTES.name, true),
  description: optional(text('text', PRESET_TEXT_LIMITS.description, PRESET_TEXT_BYTES.description, false)),
  instruments: optional(
    z
      .array(instrumentSchema, { error: (iss) => `must be a list of instruments, e.g. [XAU_USD], got ${shown(iss.input)}` })
      .min(1, 'must name at least one instrument (leave it out to trade all of the base’s)')
      .refine((list) => new Set(list).size === list.length, 'instruments must not repeat'),
  ),
  riskLevel: optional(z.enum(riskLevels, { error: (iss) => `must be one of ${riskLevels.join(', ')}, got ${shown(iss.input)}` })),
  sessionPreference: optional(
    z.enum(tradingSessions, { error: (iss) => `must be one of ${tradingSessions.join(', ')}, got ${shown(iss.input)}` }),
  ),
  tunables: optional(ownKeysOnly(z.record(z.string(), z.unknown(), { error: 'must be a map of tunable names to values' }))),
};

const staticKeys = (strategies: StrategyRegistry) =>
  strategies
    .list()
    .filter((s) => s.source === 'static')
    .map((s) => s.key);

/** Why `key` cannot name a preset, or undefined. */
export function presetKeyProblem(strategies: StrategyRegistry, key: string): string | undefined {
  if (!PRESET_KEY_PATTERN.test(key))
    return `"${shownName(key)}" is not a preset key: lower snake_case, 2 to 48 characters (${PRESET_KEY_PATTERN.source})`;
  if (strategies.get(key)?.source === 'static') return `"${shownName(key)}" is a static strategy's key; a preset needs a key of its own`;
  return undefined;
}

/**
 * The most problems of one preset, or of a whole set, described one by one; the rest are counted in
 * one more issue (`more`). A preset of 6,000 unknown tunables (a 47 KB request) answered 1.2 MB, and
 * a strategies.yaml of 25,000 made every status, /ready and log line megabytes: enough to fix it is
 * a few, never all (the overrides' rule, MAX_OVERRIDE_ISSUES).
 */
export const MAX_PRESET_ISSUES = 50;

/** Issues described up to MAX_PRESET_ISSUES (a message is built only when it is described), the rest counted. */
class IssueList {
  private readonly described: PresetIssue[] = [];
  private more = 0;

  get length(): number {
    return this.described.length + this.more;
  }

  add(path: readonly (string | number)[], message: string | (() => string)): void {
    if (this.described.length === MAX_PRESET_ISSUES) {
      this.more++;
      return;
    }
    this.described.push({ path, message: typeof message === 'string' ? message : message() });
  }

  /** Another list's issues (its count of undescribed ones included), each path as `at` makes it. */
  addAll(issues: readonly PresetIssue[], at: (path: readonly (string | number)[]) => readonly (string | number)[] = (p) => p): void {
    for (const issue of issues) {
      if (issue.more !== undefined) this.more += issue.more;
      else this.add(at(issue.path), issue.message);
    }
  }

  /** The issues, with one that says how many more there are (`what`: where they are). */
  issues(what: string): PresetIssue[] {
    if (this.more === 0) return this.described;
    return [...this.described, { path: [], message: `... and ${this.more} more problems in ${what}`, more: this.more }];
  }
}

/**
 * Checks one preset against the static strategies: its key, each field's shape, a static `base`,
 * instruments among the base's, tunables the base has and within their bounds. Issue paths name the
 * fields (camelCase) under the preset, the key's problem too (`['key']`, as upsertPreset's input
 * names it, where a typed client places it: an empty path was no field). At most MAX_PRESET_ISSUES
 * are described; the rest are counted in one last issue (`more`, an empty path). Returns the preset
 * in its canonical form (fields in PRESET_FIELDS order, absent ones left out).
 */
export function checkPreset(
  strategies: StrategyRegistry,
  key: string,
  fields: Readonly<Partial<Record<PresetField, unknown>>>,
): { ok: true; preset: PresetDefinition } | { ok: false; issues: PresetIssue[] } {
  const issues = new IssueList();
  const keyProblem = presetKeyProblem(strategies, key);
  if (keyProblem) issues.add(['key'], keyProblem);
  const values: Partial<Record<PresetField, unknown>> = {};
  for (const field of PRESET_FIELDS) {
    const parsed = FIELD_SCHEMAS[field].safeParse(Object.hasOwn(fields, field) ? fields[field] : undefined);
    if (parsed.success) values[field] = parsed.data;
    else for (const issue of parsed.error.issues) issues.add([field, ...issue.path.map(pathPart)], issue.message);
  }
  const base = typeof values.base === 'string' ? strategies.get(values.base) : undefined;
  if (typeof values.base === 'string' && base?.source !== 'static') {
    const why = base
      ? `"${shownName(String(values.base))}" is a preset; a preset's base must be a static strategy`
      : `unknown strategy "${shownName(String(values.base))}"`;
    issues.add(['base'], `${why} (static strategies: ${staticKeys(strategies).join(', ')})`);
  }
  if (base?.source === 'static') checkAgainstBase(base, values, issues);
  if (issues.length > 0) return { ok: false, issues: issues.issues('this preset') };
  const preset: Record<string, unknown> = { key };
  for (const field of PRESET_FIELDS) if (values[field] !== undefined) preset[field] = values[field];
  // An empty tunables map sets nothing: the same preset as none.
  if (preset.tunables && Object.keys(preset.tunables).length === 0) delete preset.tunables;
  // -0 is 0 (storedTunableValue).
  else if (preset.tunables)
    preset.tunables = Object.fromEntries(
      Object.entries(preset.tunables as Record<string, unknown>).map(([name, value]) => [name, storedTunableValue(value)]),
    );
  return { ok: true, preset: deepFreeze(preset as unknown as PresetDefinition) };
}

const pathPart = (p: PropertyKey): string | number => (typeof p === 'symbol' ? String(p) : p);

function checkAgainstBase(base: StrategyInfo, values: Partial<Record<PresetField, unknown>>, issues: IssueList): void {
  const before = issues.length;
  const instruments = values.instruments as readonly string[] | undefined;
  instruments?.forEach((instrument, i) => {
    if (!base.instruments.includes(instrument)) {
      issues.add(['instruments', i], () => `${instrument} is not traded by ${base.key} (its instruments: ${base.instruments.join(', ')})`);
    }
  });
  const tunables = values.tunables as Readonly<Record<string, unknown>> | undefined;
  for (const [name, value] of Object.entries(tunables ?? {})) {
    // Own keys only: `constructor` or `toString` must not find Object.prototype's members.
    const spec = Object.hasOwn(base.tunableSpecs, name) ? base.tunableSpecs[name] : undefined;
    if (!spec) {
      issues.add(
        ['tunables', name],
        () => `unknown tunable "${shownName(name)}" for ${base.key} (its tunables: ${Object.keys(base.tunableSpecs).join(', ')})`,
      );
      continue;
    }
    const problem = checkTunableValue(spec, value);
    if (problem) issues.add(['tunables', name], problem);
  }
  // Each value within its bounds: then together, as the preset would run (the base's defaults, then its own).
  if (issues.length === before && tunables) {
    for (const broken of brokenTunableRules(
      base.tunableRules,
      { ...base.tunables, ...(tunables as Record<string, TunableValue>) },
      tunables,
    )) {
      issues.add(['tunables', broken.tunable], broken.message);
    }
  }
}

/** The strategies' names as read (nameAsRead), to whose they are; a static strategy's first. */
type NamesRead = Map<string, { readonly key: string; readonly name: string; readonly source: 'static' | 'preset' }>;

function staticNamesRead(strategies: StrategyRegistry): NamesRead {
  const names: NamesRead = new Map();
  for (const s of strategies.list())
    if (s.source === 'static' && !names.has(nameAsRead(s.name)))
      names.set(nameAsRead(s.name), { key: s.key, name: s.name, source: 'static' });
  return names;
}

/** Why `preset`'s name cannot be among `names` (or undefined): it reads as the name of another strategy there. */
function nameCopied(preset: PresetDefinition, names: NamesRead): string | undefined {
  const copied = names.get(nameAsRead(preset.name));
  if (!copied || (copied.source === 'preset' && copied.key === preset.key)) return undefined;
  const whose = copied.source === 'static' ? 'the static strategy' : 'the preset';
  return `"${shownName(preset.name)}" is the name of ${whose} ${copied.key} ("${shownName(copied.name)}"); a preset needs a name of its own (compared ignoring case, Unicode compatibility forms and invisible characters)`;
}

/**
 * Why `preset`'s name cannot stand beside `others` (or undefined): it reads as the name of a static
 * strategy of `strategies` or of one of `others` (presets with another key). Told apart only by key,
 * two rows of one name let a preset show as another strategy, as a bidirectional control would.
 */
export function presetNameProblem(
  strategies: StrategyRegistry,
  preset: PresetDefinition,
  others: readonly PresetDefinition[],
): string | undefined {
  const names = staticNamesRead(strategies);
  for (const p of others) {
    const read = nameAsRead(p.name);
    if (p.key !== preset.key && !names.has(read)) names.set(read, { key: p.key, name: p.name, source: 'preset' });
  }
  return nameCopied(preset, names);
}

/**
 * Checks a whole preset set, in order: each preset as checkPreset does, and keys unique. Issue
 * paths start with the preset's key; a problem with the key itself is the entry's (the path is the
 * key alone: a stored set's entries are keyed by it, and hold no `key` field). Names that read
 * alike are refused by the API only (presetNameProblem): a stored set holding such a copy (a hand edit, or a set written before that
 * check) still loads, or a server that ran on it would refuse to start after an upgrade. At most
 * MAX_PRESET_ISSUES are described for the whole set; the rest are counted in one last issue (`more`,
 * an empty path).
 */
export function checkPresets(
  strategies: StrategyRegistry,
  entries: readonly (readonly [string, Readonly<Partial<Record<PresetField, unknown>>>])[],
): { ok: true; presets: readonly PresetDefinition[] } | { ok: false; issues: PresetIssue[] } {
  const issues = new IssueList();
  const presets: PresetDefinition[] = [];
  const seen = new Set<string>();
  for (const [key, fields] of entries) {
    if (seen.has(key)) issues.add([key], () => `duplicate preset key "${shownName(key)}"`);
    seen.add(key);
    const checked = checkPreset(strategies, key, fields);
    if (checked.ok) presets.push(checked.preset);
    else issues.addAll(checked.issues, (path) => (path.length === 1 && path[0] === 'key' ? [key] : [key, ...path]));
  }
  return issues.length > 0 ? { ok: false, issues: issues.issues('these presets') } : { ok: true, presets: Object.freeze(presets) };
}

/** The registry entry of a preset: its base's signal and tunable specs, its own metadata, tunables = base defaults then its own. */
export function presetEntry(base: StrategyInfo, preset: PresetDefinition): StrategyInfo {
  return deepFreeze({
    key: preset.key,
    name: preset.name,
    description: preset.description ?? base.description,
    instruments: [...(preset.instruments ?? base.instruments)],
    tunables: { ...base.tunables, ...preset.tunables },
    tunableSpecs: base.tunableSpecs,
    tunableRules: base.tunableRules,
    riskLevel: preset.riskLevel ?? base.riskLevel,
    sessionPreference: preset.sessionPreference ?? base.sessionPreference,
    source: 'preset' as const,
    base: base.key,
    signal: base.signal,
    preset,
  });
}

/**
 * The strategies in force: the static ones of `strategies`, then the presets in the order given.
 * The presets must have been checked (checkPresets) against the same static strategies.
 */
export function strategySetOf(strategies: StrategyRegistry, presets: readonly PresetDefinition[]): StrategyRegistry {
  const statics = strategies.list().filter((s) => s.source === 'static');
  const byKey = new Map(statics.map((s) => [s.key as string, s]));
  return registryOf([
    ...statics,
    ...presets.map((preset) => {
      const base = byKey.get(preset.base);
      if (!base) throw new Error(`preset ${preset.key}: base ${preset.base} is not a static strategy (presets must be checked first)`);
      return presetEntry(base, preset);
    }),
  ]);
}

/** The presets of a registry, in order. */
export function presetsOf(strategies: StrategyRegistry): PresetDefinition[] {
  return strategies.list().flatMap((s) => (s.preset ? [s.preset] : []));
}

function sameTunables(a: Readonly<Record<string, TunableValue>> = {}, b: Readonly<Record<string, TunableValue>> = {}): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/** Whether two presets say the same (tunables compared as a map: their order in the file means nothing). */
export function samePreset(a: PresetDefinition, b: PresetDefinition): boolean {
  return (
    a.key === b.key &&
    a.base === b.base &&
    a.name === b.name &&
    a.description === b.description &&
    JSON.stringify(a.instruments ?? null) === JSON.stringify(b.instruments ?? null) &&
    a.riskLevel === b.riskLevel &&
    a.sessionPreference === b.sessionPreference &&
    sameTunables(a.tunables, b.tunables)
  );
}

/** Whether two preset sets are the same presets in the same order. */
export function samePresets(a: readonly PresetDefinition[], b: readonly PresetDefinition[]): boolean {
  return a.length === b.length && a.every((preset, i) => samePreset(preset, b[i] as PresetDefinition));
}

/**
 * What changed from one set to the next, for the audit trail: `{ "<key>.<field>": { before, after } }`
 * (null for a field absent on that side). An added preset lists its fields with `before: null`, a
 * removed one with `after: null`.
 */
export function presetChanges(
  before: readonly PresetDefinition[],
  after: readonly PresetDefinition[],
): Record<string, { before: unknown; after: unknown }> {
  const changes: Record<string, { before: unknown; after: unknown }> = {};
  const was = new Map(before.map((p) => [p.key as string, p]));
  const now = new Map(after.map((p) => [p.key as string, p]));
  for (const key of new Set([...was.keys(), ...now.keys()])) {
    const a = was.get(key);
    const b = now.get(key);
    for (const field of PRESET_FIELDS) {
      const x = a?.[field] ?? null;
      const y = b?.[field] ?? null;
      const same = field === 'tunables' && x && y ? sameTunables(x as never, y as never) : JSON.stringify(x) === JSON.stringify(y);
      if (!same) changes[`${key}.${field}`] = { before: x, after: y };
    }
  }
  return changes;
}

/** The preset set with `preset` added (at the end) or replacing the one with its key (in place). */
export function withPreset(presets: readonly PresetDefinition[], preset: PresetDefinition): PresetDefinition[] {
  const at = presets.findIndex((p) => p.key === preset.key);
  return at === -1 ? [...presets, preset] : presets.map((p, i) => (i === at ? preset : p));
}

/** The preset set without `key`. */
export function withoutPreset(presets: readonly PresetDefinition[], key: string): PresetDefinition[] {
  return presets.filter((p) => p.key !== key);
}
