import type { AuditEntry } from '../config/audit-entry.js';
import { AUDIT_MEMORY } from '../config/audit-file.js';
import { type Requester, rollbackConfig as rollbackChange } from '../config/changes.js';
import type { CommitOptions, CommitResult, ConfigStore } from '../config/store.js';
import { VersionNotInHistoryError } from './errors.js';

/** How many past versions stay listable and restorable. */
export const HISTORY_LIMIT = 100;

/**
 * The accepted config versions, newest first, at most `max` (and HISTORY_LIMIT). Each is the full
 * config an audit entry recorded, so history survives exactly what the audit trail survives.
 */
export async function configHistory(store: ConfigStore, max = HISTORY_LIMIT): Promise<AuditEntry[]> {
  const entries = await store.audit({ last: AUDIT_MEMORY, subject: 'CONFIG' });
  const seen = new Set<number>();
  const versions: AuditEntry[] = [];
  for (const entry of entries) {
    if (versions.length >= Math.min(max, HISTORY_LIMIT)) break;
    if (seen.has(entry.version)) continue; // a later entry for the same version (a hand edit) wins
    seen.add(entry.version);
    versions.push(entry);
  }
  return versions;
}

/**
 * `versions 1 to 40, 88 to 100`: the kept versions as runs. One range would name versions that are
 * not kept (a hand edit whose version jumped ahead leaves a gap), and an unknown version inside it
 * read as a contradiction ("Unknown config version: 58 (kept: versions 1 to 88)").
 */
export function keptRanges(versions: readonly number[]): string {
  if (versions.length === 0) return 'none';
  const sorted = [...new Set(versions)].sort((a, b) => a - b);
  const runs: string[] = [];
  let start = sorted[0]!;
  let end = start;
  for (const v of [...sorted.slice(1), Number.NaN]) {
    if (v === end + 1) {
      end = v;
      continue;
    }
    runs.push(start === end ? `${start}` : `${start} to ${end}`);
    start = v;
    end = v;
  }
  const shown = runs.length > 6 ? [...runs.slice(0, 3), '…', ...runs.slice(-2)] : runs;
  return `version${sorted.length === 1 ? '' : 's'} ${shown.join(', ')}`;
}

/** The recorded config of `version`; VersionNotInHistoryError when it is not (or no longer) kept. */
export async function findVersion(store: ConfigStore, version: number): Promise<AuditEntry> {
  const kept = await configHistory(store);
  const found = kept.find((e) => e.version === version);
  if (found) return found;
  const versions = kept.map((e) => e.version);
  const oldest = versions.length ? Math.min(...versions) : undefined;
  const newest = versions.length ? Math.max(...versions) : undefined;
  const expired = oldest !== undefined && version >= 1 && version < oldest;
  throw new VersionNotInHistoryError(version, expired ? 'expired' : 'unknown', oldest, newest, keptRanges(versions));
}

/** Re-applies a past version as a new version: validated against the strategies in force, audited. */
export async function rollbackConfig(
  store: ConfigStore,
  toVersion: number,
  by: Requester,
  options: CommitOptions = {},
): Promise<CommitResult> {
  return store.commit(rollbackChange(await findVersion(store, toVersion), by), options);
}
