import * as z from 'zod';
import { InvalidStrategyKeyError, RegistryError } from './errors.js';
import {
  type StrategyDefinition,
  type StrategyInfo,
  type StrategyKey,
  strategyDefinitionSchema,
  strategyKeySchema,
  type TunableValue,
} from './types.js';

/** The set of strategies in force, as one value: the static ones (and, with presets, their variants). */
export interface StrategyRegistry {
  /** Keys in registry order. */
  readonly keys: readonly StrategyKey[];
  /** A fresh object each call; its entries are frozen, so nothing a caller does reaches the registry. */
  all(): Record<string, StrategyInfo>;
  /** Frozen entries in registry order (no copy: for hot paths). */
  list(): readonly StrategyInfo[];
  get(key: string): StrategyInfo | undefined;
  has(key: string): key is StrategyKey;
  /** The edge's parse: the key as a StrategyKey, or InvalidStrategyKeyError (`Invalid strategy key: <key>`). */
  parse(key: string): StrategyKey;
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

const definitionsSchema = z
  .record(z.string(), strategyDefinitionSchema)
  .superRefine((defs, ctx) => {
    const seen = new Map<string, string>();
    for (const [mapKey, def] of Object.entries(defs)) {
      if (def.key !== mapKey) {
        ctx.addIssue({ code: 'custom', path: [mapKey, 'key'], message: `key "${def.key}" does not match its registry entry "${mapKey}"` });
      }
      const other = seen.get(def.key);
      if (other !== undefined) {
        ctx.addIssue({ code: 'custom', path: [mapKey, 'key'], message: `duplicate strategy key "${def.key}" (also entry "${other}")` });
      }
      seen.set(def.key, mapKey);
    }
  })
  .refine((defs) => Object.keys(defs).length > 0, 'the registry holds no strategy');

function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `  - ${i.path.length ? i.path.join('.') : '(registry)'}: ${i.message}`).join('\n');
}

/** A registry over entries already checked (static definitions, or static plus presets). */
export function registryOf(entries: readonly StrategyInfo[]): StrategyRegistry {
  const byKey = new Map<string, StrategyInfo>(entries.map((e) => [e.key, e]));
  const keys = Object.freeze(entries.map((e) => e.key));
  const list = Object.freeze([...entries]);
  const has = (key: string): key is StrategyKey => byKey.has(key);
  return {
    keys,
    all: () => Object.fromEntries(byKey),
    list: () => list,
    get: (key) => byKey.get(key),
    has,
    parse(key) {
      if (!has(key)) throw new InvalidStrategyKeyError(key);
      return key;
    },
  };
}

/** One static definition as a frozen registry entry (its tunables' defaults spelled out). */
export function staticEntry(def: StrategyDefinition): StrategyInfo {
  const tunables: Record<string, TunableValue> = {};
  for (const [name, spec] of Object.entries(def.tunables)) tunables[name] = spec.default;
  const { signal, rules, ...metadata } = def;
  const entry: StrategyInfo = deepFreeze({
    ...metadata,
    key: strategyKeySchema.parse(def.key),
    instruments: [...def.instruments],
    tunables,
    tunableSpecs: structuredClone(def.tunables),
    tunableRules: [...(rules ?? [])],
    source: 'static' as const,
    base: null,
    signal,
  });
  return entry;
}

/**
 * Validates the definitions and builds the registry. Throws a RegistryError naming every problem:
 * a malformed registry must stop start-up, not surface as a strange runtime error later.
 */
export function createStrategyRegistry(definitions: Readonly<Record<string, StrategyDefinition>>): StrategyRegistry {
  const parsed = definitionsSchema.safeParse(definitions);
  if (!parsed.success) {
    throw new RegistryError(`Strategy registry is invalid:\n${formatIssues(parsed.error.issues)}`);
  }
  return registryOf(Object.values(parsed.data).map(staticEntry));
}
