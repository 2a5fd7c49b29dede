import { shownValue } from './shown-value.js';
import type { TunableSpec } from './types.js';

/** `an integer in [2, 200]`, `a number in [0, 5]`, `a boolean`. */
export function describeTunableSpec(spec: TunableSpec): string {
  return spec.type === 'boolean' ? 'a boolean' : `${spec.type === 'integer' ? 'an integer' : 'a number'} in [${spec.min}, ${spec.max}]`;
}

/** Why `value` is not acceptable for `spec`, or undefined when it is. */
export function checkTunableValue(spec: TunableSpec, value: unknown): string | undefined {
  const shown = shownValue(value);
  if (spec.type === 'boolean') return typeof value === 'boolean' ? undefined : `must be a boolean, got ${shown}`;
  if (typeof value !== 'number' || !Number.isFinite(value)) return `must be ${describeTunableSpec(spec)}, got ${shown}`;
  if (spec.type === 'integer' && !Number.isInteger(value)) return `must be ${describeTunableSpec(spec)}, got ${shown}`;
  if (value < spec.min || value > spec.max) return `must be ${describeTunableSpec(spec)}, got ${shown}`;
  return undefined;
}
