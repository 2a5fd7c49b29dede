import { createStrategyRegistry, type StrategyRegistry } from './registry.js';
import { STRATEGIES } from './strategies.js';
import type { StrategyInfo } from './types.js';

export { InvalidStrategyKeyError, type PresetIssue, PresetValidationError, RegistryError } from './errors.js';
export { ownKeysOnly } from './own-keys.js';
export * from './presets.js';
export { createStrategyRegistry, registryOf, type StrategyRegistry } from './registry.js';
export { clippedMessage, MAX_MESSAGE, shownName, shownValue } from './shown-value.js';
export { STRATEGIES } from './strategies.js';
export * from './tunables.js';
export * from './types.js';

/** Checked when this module loads: a malformed entry stops start-up with a clear message. */
export const defaultRegistry: StrategyRegistry = createStrategyRegistry(STRATEGIES);

/** Every strategy, keyed by key. A copy: mutating it (or trying to mutate its frozen entries) changes nothing here. */
export function getStrategyRegistry(): Record<string, StrategyInfo> {
  return defaultRegistry.all();
}

export function getStrategyInfo(key: string): StrategyInfo | undefined {
  return defaultRegistry.get(key);
}

export function validateStrategyKey(key: string): boolean {
  return defaultRegistry.has(key);
}
