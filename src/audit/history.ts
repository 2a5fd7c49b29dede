import { replacementUpdate } from '../config/replace.js';
import type { ConfigChange, ConfigStore } from '../config/store.js';
import type { StrategyRegistry } from '../registry/index.js';
import type { AuditEntry, AuditLog } from './audit-log.js';
import { VersionNotInHistoryError } from './errors.js';

/** How many past versions stay listable and restorable. */
export const HISTORY_LIMIT = 100;

/**
 * The accepted config versions, newest first, at most HISTORY_LIMIT. Each is the full config an
 * audit line recorded, so history survives exactly what the audit log survives.
 */
export class ConfigHistory {
  constructor(
    private readonly audit: AuditLog,
    private readonly limit = HISTORY_LIMIT,
  ) {}

  list(max = this.limit): AuditEntry[] {
    const seen = new Set<number>();
    const versions: AuditEntry[] = [];
    const entries = this.audit.last(Number.MAX_SAFE_INTEGER);
    for (let i = entries.length - 1; i >= 0 && versions.length < Math.min(max, this.limit); i--) {
      const entry = entries[i] as AuditEntry;
      if (seen.has(entry.version)) continue; // a later line for the same version (a hand edit) wins
      seen.add(entry.version);
      versions.push(entry);
    }
    return versions;
  }

  /** The recorded config of `version`; VersionNotInHistoryError when it is not (or no longer) kept. */
  find(version: number): AuditEntry {
    const kept = this.list();
    const found = kept.find((e) => e.version === version);
    if (found) return found;
    const versions = kept.map((e) => e.version);
    const oldest = versions.length ? Math.min(...versions) : undefined;
    const newest = versions.length ? Math.max(...versions) : undefined;
    const expired = oldest !== undefined && version >= 1 && version < oldest;
    throw new VersionNotInHistoryError(version, expired ? 'expired' : 'unknown', oldest, newest);
  }
}

/** Re-applies a past version as a new version: validated against today's registry, audited. */
export function rollbackConfig(
  services: { store: ConfigStore; history: ConfigHistory; registry: StrategyRegistry },
  toVersion: number,
  options: { actor?: string; expectedVersion?: number },
): Promise<ConfigChange> {
  const target = services.history.find(toVersion);
  return services.store.save(replacementUpdate(services.registry, target.config), {
    actor: options.actor,
    operation: 'rollbackConfig',
    expectedVersion: options.expectedVersion,
    details: { rolledBackTo: toVersion },
  });
}
