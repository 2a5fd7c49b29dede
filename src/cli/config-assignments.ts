import { parse as parseYaml } from 'yaml';
import { GRAPHQL_INT, SCAN_INTERVAL_WORDS } from '../config/scan-interval.js';
import type { UpdateConfigInput } from '../generated/graphql.js';
import { UsageError } from '../usage-error.js';

type Scalar = string | number | boolean | null;

/** The config file's snake_case keys that `config set` takes (DESIGN.md). */
/** GraphQL's Int: 32-bit signed. */

export const SETTABLE_KEYS = ['active_strategy_key', 'trading_enabled', 'scan_interval_seconds', 'tunable_overrides.<strategy>.<tunable>'];

/**
 * The value of `key=raw` read as YAML (`config set`, `preset set`; `noun` names what the command
 * takes in its message). Two spellings are refused because they arrived as a removal: nothing after
 * "=" (an unset shell variable, `lookback=$LB`) is YAML's null, and `.nan`, `.inf` or 1e400 became
 * null on the way to the server (JSON has no such numbers). Either one deleted a live override, exit 0.
 */
export function yamlAssignment(assignment: string, raw: string, noun: 'scalar' | 'value'): unknown {
  const key = assignment.slice(0, assignment.indexOf('=')).trim();
  if (raw === '') throw new UsageError(`${key}: no value after "="${key.includes('.') ? ' (to remove it, write null)' : ''}`);
  let value: unknown;
  try {
    value = parseYaml(raw);
  } catch (err) {
    throw new UsageError(`${assignment}: "${raw}" is not a YAML ${noun} (${(err as Error).message.split('\n')[0]})`);
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw new UsageError(`${key}: "${raw}" is not a finite number`);
  return value;
}

function yamlScalar(assignment: string, raw: string): Scalar {
  const value = yamlAssignment(assignment, raw, 'scalar');
  if (value !== null && typeof value === 'object') throw new UsageError(`${assignment}: give one value, not a list or a map`);
  return value as Scalar;
}

/**
 * `key=value ...` -> UpdateConfigInput. Keys are the file's snake_case ones, dotted for overrides
 * (`tunable_overrides.momentum.lookback=20`); values are YAML scalars (`null` removes an override).
 * The server validates ranges and strategy keys; this only catches what cannot be meant.
 */
export function parseAssignments(assignments: string[]): UpdateConfigInput {
  if (assignments.length === 0) throw new UsageError(`nothing to set: give key=value, with key one of ${SETTABLE_KEYS.join(', ')}`);
  const input: UpdateConfigInput = {};
  // Maps without a prototype: a strategy or tunable named `constructor` or `__proto__` is a key like
  // any other (sent, and refused by the server), where `{}` gave back Object's own and the value
  // went onto Object itself (`__proto__.x=1` set x on every object in this process).
  const overrides: Record<string, Record<string, Scalar> | null> = Object.create(null);
  // A key given twice is refused, not "the last wins": in a script it is nearly always two variables
  // that expand to the same key, and one of the two values is silently dropped.
  const given = new Set<string>();
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new UsageError(`"${assignment}" is not key=value (e.g. scan_interval_seconds=15)`);
    const key = assignment.slice(0, eq).trim();
    const raw = assignment.slice(eq + 1).trim();
    if (given.has(key)) throw new UsageError(`${key} is given twice: give each key once`);
    given.add(key);
    const value = yamlScalar(assignment, raw);
    const [head, strategy, tunable, ...rest] = key.split('.');
    if (head === 'tunable_overrides') {
      if (!strategy || rest.length > 0) throw new UsageError(`${key}: write tunable_overrides.<strategy>.<tunable>=<value>`);
      // A strategy's overrides all removed and one of them set, in one command: which was meant?
      const whole = `${head}.${strategy}`;
      const clash = tunable === undefined ? [...given].find((k) => k.startsWith(`${whole}.`)) : given.has(whole) ? whole : undefined;
      if (clash !== undefined)
        throw new UsageError(`${key} and ${clash} are both given: remove ${whole}'s overrides or set its tunables, not both`);
      if (tunable === undefined) {
        if (value !== null) throw new UsageError(`${key}: only null (remove all of its overrides) can be set on a whole strategy`);
        overrides[strategy] = null;
        continue;
      }
      if (!tunable) throw new UsageError(`${key}: the tunable name is empty`);
      const forStrategy = overrides[strategy] ?? (Object.create(null) as Record<string, Scalar>);
      forStrategy[tunable] = value;
      overrides[strategy] = forStrategy;
      continue;
    }
    if (strategy !== undefined) throw new UsageError(`${key}: only tunable_overrides takes a dotted key`);
    switch (head) {
      case 'active_strategy_key':
        // Nothing after "=" is refused (an unset variable); `null` typed out is a key like `true`
        // (a preset may be named so), sent as typed.
        if (raw === '') throw new UsageError(`${key}: give a strategy key (stratctl strategies lists them)`);
        // Read as YAML like every other value ("range" and 'range' are range), a key YAML reads as
        // something else (a number, true, null) as typed: the server judges it.
        input.activeStrategyKey = typeof value === 'string' ? value : raw;
        break;
      case 'trading_enabled':
        if (typeof value !== 'boolean') throw new UsageError(`${key}: expected true or false, not "${raw}"`);
        input.tradingEnabled = value;
        break;
      case 'scan_interval_seconds':
        if (typeof value !== 'number' || !Number.isInteger(value)) throw new UsageError(`${key}: expected whole seconds, not "${raw}"`);
        // A value GraphQL's Int cannot carry is refused here, in the server's words: sent, GraphQL
        // refused it first as "Int cannot represent non 32-bit signed integer value", which named
        // neither the key nor the bound. Any other is the server's to judge (BAD_USER_INPUT under
        // --json, as scripts gate on).
        if (value < GRAPHQL_INT.min) throw new UsageError(`${key}: ${SCAN_INTERVAL_WORDS.min}, not ${raw}`);
        if (value > GRAPHQL_INT.max) throw new UsageError(`${key}: ${SCAN_INTERVAL_WORDS.max}, not ${raw}`);
        input.scanIntervalSeconds = value;
        break;
      default:
        throw new UsageError(`unknown key "${key}": use one of ${SETTABLE_KEYS.join(', ')}`);
    }
  }
  if (Object.keys(overrides).length > 0) input.tunableOverrides = overrides;
  return input;
}
