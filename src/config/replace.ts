import type { StrategyRegistry } from '../registry/index.js';
import type { ConfigUpdate, RuntimeConfig } from './schema.js';

/**
 * The update that makes the config equal `target` whatever it is now (a rollback): every field
 * set, and every override of today's registry either set to the target's value or removed. A
 * strategy or tunable the target has but today's registry lacks is kept in the update, so the
 * store's validation refuses it rather than silently dropping it.
 */
export function replacementUpdate(registry: StrategyRegistry, target: RuntimeConfig): ConfigUpdate {
  const overrides: NonNullable<ConfigUpdate['tunableOverrides']> = {};
  for (const key of registry.keys) if (!target.tunableOverrides[key]) overrides[key] = null;
  for (const [key, tunables] of Object.entries(target.tunableOverrides)) {
    const specs = registry.get(key)?.tunableSpecs ?? {};
    const replaced: Record<string, (typeof tunables)[string] | null> = {};
    for (const name of Object.keys(specs)) replaced[name] = tunables[name] ?? null;
    overrides[key] = { ...replaced, ...tunables };
  }
  return {
    activeStrategyKey: target.activeStrategyKey,
    tradingEnabled: target.tradingEnabled,
    scanIntervalSeconds: target.scanIntervalSeconds,
    tunableOverrides: overrides,
  };
}
