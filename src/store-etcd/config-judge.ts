import { createHash } from 'node:crypto';
import type { Document } from 'yaml';
import { type AuditEntry, systemAuditEntry } from '../config/audit-entry.js';
import { ConfigFileError, ConfigMissingError, MAX_VERSION, unnumberedHandEditError } from '../config/errors.js';
import { DEFAULT_SETTINGS, type RuntimeConfig } from '../config/schema.js';
import { type ConfigSnapshot, STAND_IN_DIGEST } from '../config/store.js';
import { parseConfigFile } from '../config/yaml-document.js';
import type { StrategyRegistry } from '../registry/index.js';

/**
 * What the etcd store concludes from the stored `config` text and the newest audit entry: pure
 * functions, the same on every replica, so they all report the same version for the same keys.
 */

/** Who an audit entry names for a change of the key made outside the API (`etcdctl put`). */
export const HAND_EDIT_ACTOR = 'etcd';

export function digestOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The config text as stored, parsed: valid (with its YAML document, to edit in place) or why not. */
export type StoredConfig =
  | { readonly ok: true; readonly text: string; readonly digest: string; readonly config: RuntimeConfig; readonly doc: Document }
  | { readonly ok: false; readonly text: string; readonly digest: string; readonly error: ConfigFileError };

export function parseStored(registry: StrategyRegistry, location: string, text: string): StoredConfig {
  const digest = digestOf(text);
  try {
    const parsed = parseConfigFile(registry, location, text, 'key');
    // Built when first asked for (a write edits it): a judgement alone never builds it in this thread.
    return {
      ok: true,
      text,
      digest,
      config: parsed.config,
      get doc() {
        return parsed.doc;
      },
    };
  } catch (err) {
    if (err instanceof ConfigFileError) return { ok: false, text, digest, error: err };
    throw err;
  }
}

export function missingConfigError(location: string): ConfigFileError {
  return new ConfigMissingError(location, [{ message: 'the key is missing; the next change through the API writes it again' }]);
}

/**
 * Running, the config key gone because etcd went back (wiped, or restored from a snapshot older than
 * the config): the last good config stays in force, as for a key deleted by hand, and the replica is
 * not ready until a change writes it again.
 */
export function configGoneBackError(location: string, wentBack: { readonly seen: number; readonly read: number }): ConfigFileError {
  return new ConfigMissingError(location, [
    {
      message: `the key is missing: etcd went back (revision ${wentBack.read}, ${wentBack.seen} was seen; its data wiped or restored from an older snapshot); the last good config stays in force until the next change through the API writes it again`,
    },
  ]);
}

/**
 * Running, the `strategies` key gone because etcd went back (wiped) while a set was in force: the set
 * in force stays in force, as the last good config does, until the next change through the API
 * writes it again. Taken in, the key's absence was "no presets": the set dropped to version 0 while
 * the config's version went on, and the presets were lost with etcd's copy of them.
 */
export function presetsGoneBackError(location: string, wentBack: { readonly seen: number; readonly read: number }): ConfigFileError {
  return new ConfigFileError(
    location,
    [
      {
        message: `the key is missing: etcd went back (revision ${wentBack.read}, ${wentBack.seen} was seen; its data wiped or restored from an older snapshot); the presets in force stay in force until the next change through the API writes them again`,
      },
    ],
    'presets',
  );
}

/** How a start's refusal of an empty prefix that other processes run on begins (start-failures.ts says no more). */
export const LOST_WHILE_RUNNING = 'the key is missing and so is its audit trail, while';

/**
 * At start: no config key and no trail, but processes run on the prefix. Each of them wrote the
 * config before it registered (a start writes the defaults on an empty prefix), so etcd lost what
 * they keep in force: the defaults written now would go in force on every one of them (the active
 * strategy switched to momentum with trading on, version 1), so they are not.
 */
export function configLostWhileRunningError(
  location: string,
  running: { replicas: readonly string[]; runners: readonly string[] },
): ConfigFileError {
  const named = (one: string, ids: readonly string[]) => (ids.length === 0 ? [] : [`${one}${ids.length > 1 ? 's' : ''} ${ids.join(', ')}`]);
  const who = [...named('API replica', running.replicas), ...named('runner', running.runners)];
  const count = running.replicas.length + running.runners.length;
  // A change that changes nothing writes nothing, and presets in use went with the data too.
  const wayOut =
    running.replicas.length > 0
      ? 'make one change through a running API replica that changes a value (stratctl activate of another strategy, or config set) to write it again with the presets it holds, then start this one'
      : 'no API replica runs to write it again: put the config back (etcdctl put; the runners report what they apply), and the strategies key if presets were in use, then start this one';
  return new ConfigMissingError(location, [
    {
      message: `${LOST_WHILE_RUNNING} ${who.join(' and ')} ${count > 1 ? 'run' : 'runs'} on this prefix: etcd lost its data (wiped)? They keep the last good config in force; ${wayOut}. The defaults are not written over a deployment that runs (to begin afresh, stop it first)`,
    },
  ]);
}

/** At start: no config key, but an audit trail (a migration cut short after clearing, or a delete by hand). */
export function missingConfigAtStartError(location: string): ConfigFileError {
  return new ConfigMissingError(location, [{ message: 'the key is missing, but its audit trail is there' }]);
}

/** The config an audit entry recorded, as a snapshot (the last good config when the key is broken or gone). */
export function snapshotOfEntry(entry: AuditEntry): ConfigSnapshot {
  return { config: entry.config as RuntimeConfig, digest: entry.digest };
}

export function defaultSnapshot(now: Date): ConfigSnapshot {
  const config: RuntimeConfig = { ...DEFAULT_SETTINGS, version: 1, updatedAt: now.toISOString() };
  return { config, digest: STAND_IN_DIGEST };
}

/**
 * The stored config as it is in force: an audited text takes its entry's version; a text nobody
 * audited (a hand edit) is numbered like a hand edit of config.yaml, never backwards: its own
 * `version` when that is above the last audited one, else last + 1.
 */
export function effectiveSnapshot(
  stored: StoredConfig & { ok: true },
  last: AuditEntry | null,
): { snapshot: ConfigSnapshot; audited: boolean } {
  if (last && last.digest === stored.digest)
    return { snapshot: { config: { ...stored.config, version: last.version }, digest: stored.digest }, audited: true };
  const version = !last || stored.config.version > last.version ? stored.config.version : last.version + 1;
  return { snapshot: { config: { ...stored.config, version }, digest: stored.digest }, audited: false };
}

/**
 * A text nobody audited that no version is left for: the last audited one is at MAX_VERSION, and a
 * hand edit not above it is numbered last + 1. Judged invalid (the last good config stays), as
 * config.yaml's is: in force as 2147483648, every `status` read failed with GraphQL's Int error.
 */
export function unnumberedHandEdit(stored: StoredConfig & { ok: true }, last: AuditEntry | null, location: string): ConfigFileError | null {
  if (effectiveSnapshot(stored, last).snapshot.config.version <= MAX_VERSION) return null;
  return unnumberedHandEditError(location, 'config', 'the audit trail');
}

/** The entry for a stored text nobody audited: a hand edit (actor `etcd`), or the first config the trail sees. */
export function handEditEntry(stored: StoredConfig & { ok: true }, last: AuditEntry | null, now: Date): AuditEntry {
  const { snapshot } = effectiveSnapshot(stored, last);
  if (!last) return systemAuditEntry('baseline', snapshot, undefined, now);
  const entry = systemAuditEntry('handEdit', snapshot, last, now);
  return { ...entry, actor: HAND_EDIT_ACTOR, details: { ...entry.details, note: 'the config key was put directly, not through the API' } };
}
