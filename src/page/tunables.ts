import type { Strategy } from './model.js';

export type TunableDefinition = Strategy['tunableDefinitions'][number];
export type TunableValue = number | boolean | null;

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)$/;

/**
 * What an override field holds, checked against the tunable's type and bounds as the server will
 * check it (so a mistake is shown before anything is sent; the server still has the last word).
 * Empty means "no override": the default applies.
 */
export function parseTunable(def: TunableDefinition, raw: string): { ok: true; value: TunableValue } | { ok: false; message: string } {
  const text = raw.trim();
  if (text === '') return { ok: true, value: null };
  if (def.type === 'BOOLEAN') {
    if (text === 'true') return { ok: true, value: true };
    if (text === 'false') return { ok: true, value: false };
    return { ok: false, message: 'must be true or false' };
  }
  // Plain decimals only: Number() also reads 0x10 (16), 1e2 (100) and 0b11, a surprise in a live trading parameter.
  if (!DECIMAL.test(text)) return { ok: false, message: 'must be a number (digits, an optional sign and decimal point)' };
  const value = Number(text);
  if (!Number.isFinite(value)) return { ok: false, message: 'must be a number' };
  if (def.type === 'INTEGER' && !Number.isInteger(value)) return { ok: false, message: 'must be a whole number' };
  if (def.min !== null && value < def.min) return { ok: false, message: `must be at least ${def.min} (the range is ${bounds(def)})` };
  if (def.max !== null && value > def.max) return { ok: false, message: `must be at most ${def.max} (the range is ${bounds(def)})` };
  return { ok: true, value };
}

export function bounds(def: TunableDefinition): string {
  if (def.type === 'BOOLEAN') return 'true or false';
  return `${def.min ?? '−∞'} to ${def.max ?? '∞'}${def.type === 'INTEGER' ? ', whole numbers' : ''}`;
}

/**
 * A number as a plain decimal, the only form a field takes: `String(0.0000005)` is `5e-7`, which the
 * field then refused on Save, whatever was changed (an override in force in exponent form blocked
 * every save of that strategy's tunables). Every digit of the shortest form is kept, so it reads back as the same number.
 */
export function decimalText(value: number): string {
  const text = String(value);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!m) return text;
  const [, sign, lead, rest = '', exponent] = m;
  const digits = `${lead}${rest}`;
  // Where the decimal point goes among the digits.
  const point = 1 + Number(exponent);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** What a field shows of the override in force: empty for none (the default applies). */
export function inForceText(value: TunableValue | undefined): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'number' ? decimalText(value) : String(value);
}

/** A field of the overrides editor: what it showed as in force when the dialog opened, and what it holds now. */
export interface FieldText {
  readonly def: TunableDefinition;
  readonly inForce: string;
  readonly text: string;
}

/** The field holds what it showed as in force: the operator did not change it. */
const untouched = (field: FieldText) => field.text.trim() === field.inForce;

/**
 * What the operator changed, by name: the fields whose text differs from what they showed as in
 * force, for *Review again* to keep. A field left alone is not carried: it shows what is in force
 * then (carried, it showed the old value, and Save set a colleague's change back to it).
 */
export function typedFields(fields: readonly FieldText[]): Record<string, string> {
  return Object.fromEntries(fields.filter((f) => !untouched(f)).map((f) => [f.def.name, f.text]));
}

/**
 * What Save sends (`patch`: each field changed whose value differs from the override in force),
 * or why it cannot (`problems`). A field left alone is neither judged nor sent: its value is the
 * one in force, which the server accepted.
 */
export function tunablesPatch(
  fields: readonly FieldText[],
  overrides: Record<string, TunableValue>,
): { patch: Record<string, TunableValue>; problems: string[] } {
  const patch: Record<string, TunableValue> = {};
  const problems: string[] = [];
  for (const field of fields) {
    if (untouched(field)) continue;
    const parsed = parseTunable(field.def, field.text);
    if (!parsed.ok) problems.push(`${field.def.name} ${parsed.message}`);
    else if ((overrides[field.def.name] ?? null) !== parsed.value) patch[field.def.name] = parsed.value;
  }
  return { patch, problems };
}

/** The overrides a strategy has in the config now (`tunableOverrides[key]`). */
export function overridesOf(tunableOverrides: unknown, strategyKey: string): Record<string, TunableValue> {
  const all = (tunableOverrides ?? {}) as Record<string, Record<string, TunableValue> | undefined>;
  return { ...(all[strategyKey] ?? {}) };
}
