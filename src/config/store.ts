import type { StrategyRegistry } from '../registry/index.js';
import type { AuditEntry, AuditSubject } from './audit-entry.js';
import type { ConfigFileError } from './errors.js';
import type { RuntimeConfig, SettableField } from './schema.js';

/** A config as loaded, with the digest of the stored text it came from (a hand edit changes the digest). */
export interface ConfigSnapshot {
  readonly config: RuntimeConfig;
  /** `sha256:<hex>` of the stored text. */
  readonly digest: string;
}

/** Everything a change is judged against, as one consistent value. */
export interface StoreState {
  readonly config: ConfigSnapshot;
  /** The strategies in force (static; with presets, static + presets). */
  readonly strategies: StrategyRegistry;
}

/** The next config a change asks for (the store sets `version` and `updatedAt`). */
export type ConfigDraft = Omit<RuntimeConfig, 'version' | 'updatedAt'>;

/**
 * One change, as the domain describes it. `apply` is pure: it reads the state in force when the
 * change commits (not when it was asked for) and returns the config it wants, or throws a domain
 * error (ConfigValidationError, InvalidStrategyKeyError, VersionNotInHistoryError ...) to refuse.
 * The store decides whether it is a no-op (nothing differs), numbers it and writes it with its
 * audit entry. Issue 12 adds a `PRESETS` subject beside `CONFIG`.
 */
export interface ConfigChange {
  readonly subject: 'CONFIG';
  /** activateStrategy | updateConfig | rollbackConfig */
  readonly operation: string;
  /** Who asked (the token's name), for the audit trail. */
  readonly actor: string;
  /** What else the audit entry should say (e.g. the version a rollback re-applied). */
  readonly details?: Readonly<Record<string, unknown>>;
  apply(state: StoreState): ConfigDraft;
}

export type Change = ConfigChange;

export interface CommitOptions {
  /** Refuse with VersionConflictError unless the subject's version in force is this one (checked first). */
  readonly expectedVersion?: number;
}

export interface CommitResult {
  /** False for a no-op: nothing was written, no version used, no audit entry. */
  readonly changed: boolean;
  readonly previous: ConfigSnapshot;
  /** In force after the commit (the same as `previous` for a no-op). */
  readonly current: ConfigSnapshot;
  readonly changedFields: readonly SettableField[];
  /** The entry written with the change (null for a no-op). */
  readonly audit: AuditEntry | null;
}

export type StoreEvent =
  /** The config in force changed: a commit here, on another replica, or a hand edit of the store. */
  | {
      readonly type: 'changed';
      readonly previous: ConfigSnapshot;
      readonly current: ConfigSnapshot;
      /** The entry recorded for it, when known. */
      readonly audit: AuditEntry | null;
      readonly source: 'commit' | 'handEdit' | 'replica';
    }
  /** What is stored is invalid: the last good config stays in force (see `problem()`). */
  | { readonly type: 'invalid'; readonly error: ConfigFileError }
  /** What is stored is valid again. */
  | { readonly type: 'valid' }
  /** Reachability of the store changed (etcd). */
  | { readonly type: 'connection'; readonly connected: boolean };

export interface StoreInfo {
  readonly kind: 'FILE' | 'ETCD';
  /** Human-readable location, for messages and logs (a path, an etcd prefix); never sent to API clients. */
  readonly location: string;
  readonly connected: boolean;
  /** Last successful contact with the store (ISO-8601), null before the first. */
  readonly lastContactAt: string | null;
}

export interface AuditQuery {
  /** Entries to return at most, newest first. */
  readonly last: number;
  /** Only this subject's entries (default: all). */
  readonly subject?: AuditSubject;
}

/**
 * Where the runtime config and its audit trail live: the YAML file store (default) or etcd. Both
 * implement this, and nothing outside them touches the storage. Reads are synchronous (the state in
 * force, kept up to date by a watch); writes and audit reads are async.
 */
export interface ConfigStore {
  readonly info: () => StoreInfo;
  /** The last good state (config and strategies) in force. */
  state(): StoreState;
  /** Why the stored config is currently unusable (a broken hand edit), or null. */
  problem(): ConfigFileError | null;
  /**
   * Validates `change` against the state in force at commit, refuses a stale `expectedVersion`,
   * skips a no-op, and otherwise writes the change and its audit entry together, durable before it
   * resolves. Concurrent commits are serialised (the file store may write several in one group).
   */
  commit(change: Change, options?: CommitOptions): Promise<CommitResult>;
  /** The audit trail, newest first. */
  audit(query: AuditQuery): Promise<readonly AuditEntry[]>;
  /** Re-reads the stored config now (level-triggered: safe to call at any time, any number of times). */
  refresh(): Promise<void>;
  subscribe(listener: (event: StoreEvent) => void): () => void;
  /**
   * Begins serving: writes what is missing (a default config, a recovery audit entry for a version
   * that has none) and starts watching. Before `start()` the store has written nothing.
   */
  start(): Promise<void>;
  /** Stops watching; resolves once in-flight writes have finished. */
  close(): Promise<void>;
}
