import type { PresetFieldsFragment, PresetInput, RiskLevel, TradingSession } from '../generated/graphql.js';
import { UsageError } from '../usage-error.js';
import { yamlAssignment } from './config-assignments.js';

type Scalar = string | number | boolean | null;

/** The strategies.yaml keys that `preset set` takes (DESIGN.md), as the file spells them. */
export const PRESET_KEYS = ['base', 'name', 'description', 'instruments', 'risk_level', 'session_preference', 'tunables.<tunable>'];

const RISK_LEVELS = ['low', 'medium', 'high'];
const SESSIONS = ['any', 'london', 'ny', 'asia'];

/** What `preset set` asks to change: fields given (null: back to the base's), tunables to set (null: remove). */
export interface PresetEdit {
  readonly fields: {
    base?: string;
    name?: string;
    description?: string | null;
    instruments?: string[] | null;
    riskLevel?: RiskLevel | null;
    sessionPreference?: TradingSession | null;
  };
  readonly tunables: Record<string, number | boolean | null>;
}

const yamlValue = (assignment: string, raw: string): unknown => yamlAssignment(assignment, raw, 'value');

function oneOf<T extends string>(key: string, raw: string, value: unknown, allowed: string[]): T | null {
  if (value === null) return null;
  if (typeof value !== 'string' || !allowed.includes(value.toLowerCase())) {
    throw new UsageError(`${key}: expected one of ${allowed.join(', ')} (or null for the base's), not "${raw}"`);
  }
  return value.toUpperCase() as T;
}

/** YAML 1.2's words for null: text fields (description, a name) are taken as typed, except these. */
const NULL_WORDS = new Set(['null', 'Null', 'NULL', '~']);

/**
 * `key=value ...` -> the edit. Keys are the file's snake_case ones, dotted for tunables
 * (`tunables.fast_ma_period=8`); values are YAML (`null` puts a field back to the base's, or
 * removes a tunable). `instruments` takes a YAML list (`[XAU_USD]`) or a comma list. The server
 * checks bases, instruments and bounds; this only catches what cannot be meant.
 */
export function parsePresetAssignments(assignments: string[]): PresetEdit {
  if (assignments.length === 0) throw new UsageError(`nothing to set: give key=value, with key one of ${PRESET_KEYS.join(', ')}`);
  const fields: PresetEdit['fields'] = {};
  // No prototype: a tunable named `__proto__` or `constructor` is a key like any other (config-assignments.ts).
  const tunables: PresetEdit['tunables'] = Object.create(null);
  // A key given twice is refused, as config set refuses it: one of the two values was silently dropped.
  const given = new Set<string>();
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new UsageError(`"${assignment}" is not key=value (e.g. tunables.fast_ma_period=8)`);
    const key = assignment.slice(0, eq).trim();
    const raw = assignment.slice(eq + 1).trim();
    if (given.has(key)) throw new UsageError(`${key} is given twice: give each key once`);
    given.add(key);
    const [head, tunable, ...rest] = key.split('.');
    if (head === 'tunables') {
      if (!tunable || rest.length > 0) throw new UsageError(`${key}: write tunables.<tunable>=<value>`);
      const value = yamlValue(assignment, raw) as Scalar | object;
      if (value !== null && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new UsageError(`${key}: expected a number or true/false (null removes it), not "${raw}"`);
      }
      tunables[tunable] = value;
      continue;
    }
    if (tunable !== undefined) throw new UsageError(`${key}: only tunables takes a dotted key`);
    switch (head) {
      case 'base':
      case 'name':
        // Text as typed: a name like "Gold 2" or "true" stays text.
        if (raw === '') throw new UsageError(`${key}: give a value (${head === 'base' ? 'a static strategy key' : 'a name'})`);
        // null puts the other fields back to the base's; a preset has no base's name or base to go back to
        // (`name=null` was stored as the name "null").
        if (NULL_WORDS.has(raw))
          throw new UsageError(`${key}: a preset needs ${head === 'base' ? 'a base' : 'a name of its own'}; null cannot put it back`);
        fields[head] = raw;
        break;
      case 'description':
        fields.description = NULL_WORDS.has(raw) ? null : raw;
        break;
      case 'instruments': {
        const value = raw.startsWith('[') || NULL_WORDS.has(raw) ? yamlValue(assignment, raw) : raw.split(',').map((i) => i.trim());
        if (value !== null && !(Array.isArray(value) && value.every((i) => typeof i === 'string' && i !== ''))) {
          throw new UsageError(`${key}: expected a list of instruments ([XAU_USD] or XAU_USD,EUR_USD), or null for the base's`);
        }
        fields.instruments = value as string[] | null;
        break;
      }
      case 'risk_level':
        fields.riskLevel = oneOf<RiskLevel>(key, raw, yamlValue(assignment, raw), RISK_LEVELS);
        break;
      case 'session_preference':
        fields.sessionPreference = oneOf<TradingSession>(key, raw, yamlValue(assignment, raw), SESSIONS);
        break;
      default:
        throw new UsageError(`unknown key "${key}": use one of ${PRESET_KEYS.join(', ')}`);
    }
  }
  return { fields, tunables };
}

/**
 * The whole preset `key` after `edit`, starting from its definition in force (`current`; null for a
 * new one, which needs base and name).
 */
export function applyPresetEdit(key: string, current: PresetFieldsFragment | null, edit: PresetEdit): PresetInput {
  const { fields } = edit;
  const base = fields.base ?? current?.base;
  const name = fields.name ?? current?.name;
  if (!base || !name) {
    throw new UsageError(`there is no preset "${key}" yet: a new one needs base=<static strategy> and name=<text>`);
  }
  const pick = <T>(given: T | null | undefined, was: T | null | undefined): T | undefined =>
    given === null ? undefined : given !== undefined ? given : (was ?? undefined);
  const tunables: Record<string, number | boolean> = Object.assign(Object.create(null), current?.tunables ?? {});
  for (const [tunable, value] of Object.entries(edit.tunables)) {
    if (value === null) delete tunables[tunable];
    else tunables[tunable] = value;
  }
  const input: PresetInput = { key, base, name };
  const description = pick(fields.description, current?.description);
  const instruments = pick(fields.instruments, current?.instruments);
  const riskLevel = pick(fields.riskLevel, current?.riskLevel);
  const sessionPreference = pick(fields.sessionPreference, current?.sessionPreference);
  if (description !== undefined) input.description = description;
  if (instruments !== undefined) input.instruments = instruments;
  if (riskLevel !== undefined) input.riskLevel = riskLevel;
  if (sessionPreference !== undefined) input.sessionPreference = sessionPreference;
  if (Object.keys(tunables).length > 0) input.tunables = tunables;
  return input;
}
