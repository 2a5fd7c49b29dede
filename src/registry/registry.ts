import { z } from 'zod';
import { type StrategyDefinition, type StrategyInfo, strategyDefinitionSchema, type TunableValue } from './types.js';

export class RegistryError extends Error {
  override name = 'RegistryError';
}

/** The set of strategies, computed once from definitions (later: definitions plus presets). */
export interface StrategyRegistry {
  /** Keys in registry order. */
  readonly keys: readonly string[];
  /** A fresh object each call; its entries are frozen, so nothing a caller does reaches the registry. */
  all(): Record<string, StrategyInfo>;
  /** Frozen entries in registry order (no copy: for hot paths). */
  list(): readonly StrategyInfo[];
  get(key: string): StrategyInfo | undefined;
  has(key: string): boolean;
}

function deepFreeze<T>(value: T): T {
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

/**
 * Validates the definitions and builds the registry. Throws a RegistryError naming every problem:
 * a malformed registry must stop start-up, not surface as a strange runtime error later.
 */
export function createStrategyRegistry(definitions: Readonly<Record<string, StrategyDefinition>>): StrategyRegistry {
  const parsed = definitionsSchema.safeParse(definitions);
  if (!parsed.success) {
    throw new RegistryError(`Strategy registry is invalid:\n${formatIssues(parsed.error.issues)}`);
  }
  const entries = new Map<string, StrategyInfo>();
  for (const def of Object.values(parsed.data)) {
    const tunables: Record<string, TunableValue> = {};
    for (const [name, spec] of Object.entries(def.tunables)) tunables[name] = spec.default;
    entries.set(
      def.key,
      deepFreeze({
        key: def.key,
        name: def.name,
        description: def.description,
        instruments: [...def.instruments],
        tunables,
        tunableSpecs: structuredClone(def.tunables),
        riskLevel: def.riskLevel,
        sessionPreference: def.sessionPreference,
      }),
    );
  }
  const keys = Object.freeze([...entries.keys()]);
  const list = Object.freeze([...entries.values()]);
  return {
    keys,
    all: () => Object.fromEntries(entries),
    list: () => list,
    get: (key) => entries.get(key),
    has: (key) => entries.has(key),
  };
}
