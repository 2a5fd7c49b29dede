import type { ConfigFileError } from './errors.js';
import type { ConfigUpdate, RuntimeConfig } from './schema.js';

/** A config as loaded, with the digest of the content it came from (a hand edit changes the digest). */
export interface ConfigSnapshot {
  readonly config: RuntimeConfig;
  /** `sha256:<hex>` of the file's bytes. */
  readonly digest: string;
}

export interface ConfigChange {
  readonly operation: string;
  readonly actor: string;
  readonly previous: ConfigSnapshot;
  readonly current: ConfigSnapshot;
  /** Fields whose value changed (besides version and updatedAt, which always do). */
  readonly changed: readonly (keyof RuntimeConfig)[];
  /** What else the audit line should say (e.g. the version a rollback re-applied). */
  readonly details?: Readonly<Record<string, unknown>>;
}

export type ConfigEvent =
  | { readonly type: 'saved'; readonly change: ConfigChange }
  /** The file changed outside the API (a hand edit) and the new content is valid. */
  | { readonly type: 'reloaded'; readonly previous: ConfigSnapshot; readonly current: ConfigSnapshot }
  /** The file on disk is invalid: the last good config stays in force. */
  | { readonly type: 'invalid'; readonly error: ConfigFileError }
  /** The file is valid again (the content is unchanged since the last good load). */
  | { readonly type: 'recovered'; readonly current: ConfigSnapshot };

export interface SaveOptions {
  /** Refuse with VersionConflictError unless the current version is this one. */
  readonly expectedVersion?: number;
  /** Who asked (the token's name), for the audit trail. */
  readonly actor?: string;
  /** What asked (the mutation), for the audit trail. */
  readonly operation?: string;
  /** Passed on to the commit hooks in the change (see ConfigChange.details). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * Runs after the new config is durably written and before the caller is answered (audit line,
 * history). If one throws, the store puts the previous file back and the save fails.
 */
export type CommitHook = (change: ConfigChange) => Promise<void>;

/**
 * Where the runtime config lives. The first implementation is a YAML file; a later one is etcd.
 * Nothing outside `config/` touches the config's storage.
 */
export interface ConfigStore {
  /** Human-readable location, for messages (a path, a URL). */
  readonly location: string;
  /** The last good config. */
  current(): ConfigSnapshot;
  /** Why the stored config is currently unusable (a broken hand edit), or null. */
  fileError(): ConfigFileError | null;
  /** Merges, validates, and only then writes; one writer at a time. */
  save(update: ConfigUpdate, options?: SaveOptions): Promise<ConfigChange>;
  /** Re-reads the stored config now (level-triggered: safe to call at any time, any number of times). */
  refresh(): Promise<void>;
  subscribe(listener: (event: ConfigEvent) => void): () => void;
  /** Stops watching; resolves once in-flight writes have finished. */
  close(): Promise<void>;
}
