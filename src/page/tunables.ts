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

/** The overrides a strategy has in the config now (`tunableOverrides[key]`). */
export function overridesOf(tunableOverrides: unknown, strategyKey: string): Record<string, TunableValue> {
  const all = (tunableOverrides ?? {}) as Record<string, Record<string, TunableValue> | undefined>;
  return { ...(all[strategyKey] ?? {}) };
}
