import { shownPath } from '../registry/shown-value.js';
import type { AuditEntry } from './audit-entry.js';
import { ConfigValidationError } from './errors.js';
import { type ConfigUpdate, mergeConfigUpdate } from './schema.js';
import type { ConfigChange, ConfigDraft, StoreState } from './store.js';

/** Who asked and what for, as the audit trail records it. */
export interface Requester {
  readonly actor: string;
}

function draftOf(state: StoreState, update: ConfigUpdate): ConfigDraft {
  const merged = mergeConfigUpdate(state.strategies, state.config.config, update);
  if (!merged.ok) throw new ConfigValidationError(merged.issues);
  const { version: _v, updatedAt: _t, ...draft } = merged.config;
  return draft;
}

/** Makes `strategyKey` the active strategy (validated against the strategies in force at commit). */
export function activateStrategy(strategyKey: string, by: Requester): ConfigChange {
  return {
    subject: 'CONFIG',
    operation: 'activateStrategy',
    actor: by.actor,
    apply: (state) => {
      try {
        return draftOf(state, { activeStrategyKey: strategyKey });
      } catch (err) {
        // A key gone by the commit (a preset deleted meanwhile) is refused at activateStrategy's own
        // argument, as the check before the commit names it, not at updateConfig's field.
        if (!(err instanceof ConfigValidationError)) throw err;
        const issues = err.issues.map((i) => (i.path[0] === 'activeStrategyKey' ? { ...i, path: ['strategyKey', ...i.path.slice(1)] } : i));
        throw new ConfigValidationError(issues, err.message);
      }
    },
  };
}

/** A partial update: only the fields given change; `null` in overrides removes one. */
export function updateConfig(update: ConfigUpdate, by: Requester): ConfigChange {
  return { subject: 'CONFIG', operation: 'updateConfig', actor: by.actor, apply: (state) => draftOf(state, update) };
}

/**
 * Re-applies the settings a past version recorded, as a new version. Checked against the strategies
 * in force at commit: a strategy or tunable that no longer exists is refused, never silently dropped.
 */
export function rollbackConfig(target: AuditEntry, by: Requester): ConfigChange {
  return {
    subject: 'CONFIG',
    operation: 'rollbackConfig',
    actor: by.actor,
    details: { rolledBackTo: target.version },
    apply: (state) => {
      const { activeStrategyKey, tradingEnabled, scanIntervalSeconds, tunableOverrides } = target.config;
      // Said in the rollback's terms: a bare "Invalid strategy key: range_wide" left the operator to
      // work out that version's strategy (a preset, most likely) is gone since.
      if (!state.strategies.has(activeStrategyKey)) {
        const message = `Cannot roll back to version ${target.version}: its active strategy ${activeStrategyKey} is not a strategy now (a preset deleted since?); restore it first, or roll back to another version`;
        throw new ConfigValidationError([{ path: ['toVersion'], message }], message);
      }
      // Replace, not merge: what the current overrides have and the target lacks is removed.
      // Own keys only: a preset may be keyed `constructor`, which a plain object already "has"
      // (its overrides were read from Object.prototype and never re-applied).
      const overrides: NonNullable<ConfigUpdate['tunableOverrides']> = {};
      for (const [key, current] of Object.entries(state.config.config.tunableOverrides)) {
        const wanted = Object.hasOwn(tunableOverrides, key) ? tunableOverrides[key] : undefined;
        overrides[key] = wanted ? { ...Object.fromEntries(Object.keys(current).map((name) => [name, null])), ...wanted } : null;
      }
      for (const [key, wanted] of Object.entries(tunableOverrides)) if (!Object.hasOwn(overrides, key)) overrides[key] = { ...wanted };
      try {
        return draftOf(state, { activeStrategyKey, tradingEnabled, scanIntervalSeconds, tunableOverrides: overrides });
      } catch (err) {
        if (!(err instanceof ConfigValidationError)) throw err;
        // In the rollback's terms too: "Invalid config: tunableOverrides.gold_fast: unknown strategy"
        // and "fix the values above" told an operator who typed no values to fix them.
        const message = `Cannot roll back to version ${target.version}: its settings do not fit the strategies now (${err.issues.map((i) => `${shownPath(i.path)}: ${i.message}`).join('; ')}); restore what they name, or roll back to another version`;
        throw new ConfigValidationError(err.issues, message);
      }
    },
  };
}
