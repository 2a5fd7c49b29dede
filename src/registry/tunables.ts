import { shownValue } from './shown-value.js';
import type { TunableRule, TunableSpec, TunableValue } from './types.js';

/** `an integer in [2, 200]`, `a number in [0, 5]`, `a boolean`. */
export function describeTunableSpec(spec: TunableSpec): string {
  return spec.type === 'boolean' ? 'a boolean' : `${spec.type === 'integer' ? 'an integer' : 'a number'} in [${spec.min}, ${spec.max}]`;
}

/**
 * A tunable value as stored: -0 is 0 (the API answers it as 0). Kept as sent, the file said `-0`
 * and setting 0 after it answered changed: false. The one rule for presets and overrides alike.
 */
export function storedTunableValue<T>(value: T): T {
  return Object.is(value, -0) ? (0 as T) : value;
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

/** `a` must stay below `b` (the fast period below the slow one), with `why` said after the values. */
export function lessThan(a: string, b: string, why: string): TunableRule {
  return {
    tunables: [a, b],
    check: (values) => {
      const [x, y] = [values[a], values[b]];
      return typeof x === 'number' && typeof y === 'number' && !(x < y) ? `${a} (${x}) must be less than ${b} (${y}): ${why}` : undefined;
    },
  };
}

/**
 * The rules `values` (what the strategy would run with) break, each on the tunable to name: the
 * first of the rule's tunables that `set` (the change's own values) sets, else the rule's first.
 */
export function brokenTunableRules(
  rules: readonly TunableRule[],
  values: Readonly<Record<string, TunableValue>>,
  set: Readonly<Record<string, unknown>>,
): { tunable: string; message: string }[] {
  const broken: { tunable: string; message: string }[] = [];
  for (const rule of rules) {
    const message = rule.check(values);
    if (message) broken.push({ tunable: rule.tunables.find((name) => Object.hasOwn(set, name)) ?? rule.tunables[0]!, message });
  }
  return broken;
}
