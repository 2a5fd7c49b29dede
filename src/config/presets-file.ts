import { Document, isMap, isScalar, isSeq, parseDocument, YAMLMap } from 'yaml';
import {
  checkPresets,
  MAX_PRESETS,
  PRESET_FIELDS,
  type PresetDefinition,
  type PresetField,
  type StrategyRegistry,
  shownValue,
  tooManyPresets,
} from '../registry/index.js';
import { shownPath } from '../registry/shown-value.js';
import { fromSnakeKeys, snakeCase } from './case.js';
import { ConfigFileError, MAX_VERSION } from './errors.js';
import { capped, MAX_PROBLEMS, parseYamlText, setValue, type TextSource } from './yaml-document.js';

/**
 * strategies.yaml (etcd: the `strategies` key): the preset set as text. Pure: text in, value or
 * ConfigFileError (file, line, problem) out; value and the previous text in, text out, keeping
 * comments, key order and formatting a person put there.
 */

export const PRESETS_FILE_NAME = 'strategies.yaml';

/** What the text says: its `version` and the presets in file order. */
export interface PresetsContent {
  readonly version: number;
  readonly presets: readonly PresetDefinition[];
}

const TOP_KEYS = ['version', 'presets'] as const;
const SHAPE = 'the presets file must be a YAML mapping: version: <n> and presets: { <key>: { base, name, description, ... } }';

type Problem = { line?: number; column?: number; message: string };

/**
 * Parses and checks presets text against the static strategies of `strategies`. Missing (null) or
 * empty text: no presets, version 0. Throws ConfigFileError (subject `presets`) naming its problems
 * with their lines (the first MAX_PROBLEMS, and how many more): bad YAML, unknown keys, a key that is malformed or a static strategy's, an
 * unknown base, instruments the base does not trade, tunables the base lacks or out of bounds.
 */
export function parsePresetsFile(
  strategies: StrategyRegistry,
  file: string,
  text: string | null,
  source: TextSource = 'file',
): PresetsContent {
  if (text === null) return { version: 0, presets: [] };
  const { data, locate, keysOf } = parseYamlText(file, text, 'presets', source);
  if (data === null || data === undefined) return { version: 0, presets: [] };
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigFileError(file, [{ line: 1, message: SHAPE }], 'presets');
  const top = data as Record<string, unknown>;
  // Only what is reported is located and worded (a file of 25,000 unknown tunables has 25,000
  // problems; the parse keeps lines for its first nodes alone): the rest are counted.
  const problems: Problem[] = [];
  let total = 0;
  const at = (path: readonly (string | number)[], message: string | (() => string), unknownKey?: string) => {
    if (total++ >= MAX_PROBLEMS) return;
    problems.push({ ...locate(path, unknownKey), message: typeof message === 'string' ? message : message() });
  };

  for (const key of Object.keys(top)) {
    if (!(TOP_KEYS as readonly string[]).includes(key)) at([], `Unrecognized key: "${key}" (a presets file has version and presets)`, key);
  }
  const version = top.version;
  if (version === undefined || version === null) at([], 'version: is required (a whole number, 0 or more)');
  else if (typeof version !== 'number' || !Number.isInteger(version) || version < 0 || version > MAX_VERSION)
    at(['version'], `version: must be a whole number from 0 to ${MAX_VERSION}, got ${shownValue(version)}`);

  const entries: [string, Partial<Record<PresetField, unknown>>][] = [];
  const presetKeys = keysOf(['presets']);
  // `presets:` left empty (or left out) is no presets.
  if (top.presets !== undefined && top.presets !== null && presetKeys === null) {
    at(['presets'], 'presets: must be a mapping of preset keys to presets ({} for none)');
  } else if (presetKeys !== null) {
    const raw = top.presets as Record<string, unknown>;
    // The document's order, not Object.keys' (which would move integer-like keys first).
    for (const key of presetKeys) {
      const value = Object.hasOwn(raw, key) ? raw[key] : undefined;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        at(['presets', key], `presets.${key}: must be a mapping (base: ..., name: ..., description: ...)`);
        continue;
      }
      const { known, unknown } = fromSnakeKeys(value as Record<string, unknown>, PRESET_FIELDS);
      for (const name of unknown) {
        at(['presets', key], () => `presets.${key}: Unrecognized key: "${name}" (known: ${PRESET_FIELDS.map(snakeCase).join(', ')})`, name);
      }
      entries.push([key, known]);
    }
  }
  if (entries.length > MAX_PRESETS) at(['presets'], `presets: ${tooManyPresets(entries.length)}`);
  const checked = checkPresets(strategies, entries);
  if (!checked.ok) {
    for (const issue of checked.issues) {
      // Counted there, not described (MAX_PRESET_ISSUES): counted here too.
      if (issue.more !== undefined) {
        total += issue.more;
        continue;
      }
      const [key, field, ...rest] = issue.path;
      const path = ['presets', String(key), ...(field === undefined ? [] : [snakeCase(String(field)), ...rest])];
      // A problem with the key itself is reported at the key, not at its preset's first field.
      if (field === undefined) at(['presets'], `${shownPath(path)}: ${issue.message}`, String(key));
      else at(path, `${shownPath(path)}: ${issue.message}`);
    }
  }
  if (total > 0) throw new ConfigFileError(file, capped(problems, total), 'presets');
  return { version: version as number, presets: checked.ok ? checked.presets : [] };
}

/** A preset as the file spells it (snake_case keys, the key itself being the mapping's key). */
function fileValue(preset: PresetDefinition): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of PRESET_FIELDS) if (preset[field] !== undefined) out[snakeCase(field)] = structuredClone(preset[field]);
  return out;
}

function styleNew(map: YAMLMap): void {
  map.flow = false;
  const instruments = map.get('instruments', true);
  if (isSeq(instruments)) instruments.flow = true;
  const tunables = map.get('tunables', true);
  if (isMap(tunables)) tunables.flow = false;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Brings one preset's mapping level with `preset`, touching only the fields that differ. */
function applyPreset(doc: Document, node: YAMLMap, preset: PresetDefinition): void {
  const wanted = fileValue(preset);
  for (const pair of [...node.items]) {
    const name = String(isScalar(pair.key) ? pair.key.value : pair.key);
    if (!Object.hasOwn(wanted, name)) node.delete(pair.key);
  }
  for (const [name, value] of Object.entries(wanted)) {
    const current = node.get(name, true);
    if (name === 'tunables' && isMap(current)) {
      const tunables = value as Record<string, unknown>;
      for (const pair of [...current.items]) {
        const tunable = String(isScalar(pair.key) ? pair.key.value : pair.key);
        if (!Object.hasOwn(tunables, tunable)) current.delete(pair.key);
      }
      for (const [tunable, v] of Object.entries(tunables)) {
        const old = current.get(tunable, true);
        if (!isScalar(old) || old.value !== v) setValue(doc, ['presets', preset.key, name, tunable], v);
      }
      continue;
    }
    if (isScalar(current) && (value === null || typeof value !== 'object')) {
      if (current.value !== value) current.value = value;
      continue;
    }
    if (current !== undefined && sameJson((current as { toJSON(): unknown }).toJSON(), value)) continue;
    const created = doc.createNode(value);
    if (isSeq(created)) created.flow = true;
    if (isMap(created)) created.flow = false;
    node.set(name, created);
  }
}

/**
 * Applies `next` to a presets document in place: `version` set, presets no longer wanted removed,
 * changed ones edited field by field where they are, new ones added at the end.
 */
export function applyPresetsToDocument(doc: Document, next: PresetsContent): void {
  setValue(doc, ['version'], next.version);
  let map = doc.get('presets', true);
  if (!isMap(map)) {
    map = new YAMLMap();
    doc.set('presets', map);
  }
  const presets = map as YAMLMap;
  const wanted = new Map(next.presets.map((p) => [p.key as string, p]));
  for (const pair of [...presets.items]) {
    if (!wanted.has(String(isScalar(pair.key) ? pair.key.value : pair.key))) presets.delete(pair.key);
  }
  for (const preset of next.presets) {
    // By the key as the data reads it: a hand-written `true:` is the preset "true" (a boolean key
    // to the library, whose lookup missed it and added a second `"true":` beside it).
    const node = presets.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === preset.key)?.value;
    if (isMap(node)) applyPreset(doc, node, preset);
    else {
      const created = doc.createNode(fileValue(preset)) as YAMLMap;
      styleNew(created);
      presets.set(preset.key, created);
    }
  }
  presets.flow = presets.items.length === 0;
}

const HEADER = [
  ' strategy-control-plane presets: variants of the static strategies (the same signal code,',
  ' their own key, metadata and tunables). Changed through the API (upsertPreset, deletePreset)',
  ' and picked up without a restart. Hand edits are fine: they are validated, and an invalid file',
  ' (or one that removes a strategy the config uses) is refused and reported.',
].join('\n');

export function renderNewPresetsFile(next: PresetsContent): string {
  const doc = new Document({ version: next.version, presets: {} });
  doc.commentBefore = HEADER;
  applyPresetsToDocument(doc, next);
  return doc.toString();
}

/**
 * The text to store for `next`, given the text stored now (null: none): that text edited in place
 * when it is a YAML mapping (comments and order kept), a new file otherwise.
 */
export function renderPresetsText(previousText: string | null, next: PresetsContent): string {
  if (previousText !== null) {
    const doc = parseDocument(previousText, { uniqueKeys: true, merge: false, strict: true, schema: 'core' });
    if (doc.errors.length === 0 && (doc.contents === null || isMap(doc.contents))) {
      applyPresetsToDocument(doc, next);
      return doc.toString();
    }
  }
  return renderNewPresetsFile(next);
}
