import type { PresetDefinition, StrategyRegistry } from '../registry/index.js';
import type { AuditEntry, AuditSubject } from './audit-entry.js';
import type { ConfigFileError } from './errors.js';
import type { RuntimeConfig, SettableField } from './schema.js';

/** A config as loaded, with the digest of the stored text it came from (a hand edit changes the digest). */
/**
 * The digest of a stand-in config that no store holds (the defaults, before anything valid was ever
 * read): a runner never applies it while the store reports its config invalid.
 */
export const STAND_IN_DIGEST = 'sha256:none';

export interface ConfigSnapshot {
  readonly config: RuntimeConfig;
  /** `sha256:<hex>` of the stored text. */
  readonly digest: string;
}

/** The preset set as loaded: its own version (never goes backwards) and the digest of the stored text. */
export interface PresetsSnapshot {
  /** +1 on every accepted change of the set; 0 while there has never been a presets file. */
  readonly version: number;
  /** `sha256:<hex>` of the stored text (of the empty text when there is none). */
  readonly digest: string;
  /** In file order. */
  readonly presets: readonly PresetDefinition[];
}

/** Everything a change is judged against, as one consistent value. */
export interface StoreState {
  readonly config: ConfigSnapshot;
  /** The strategies in force: the static ones, then the presets (`strategySetOf`). */
  readonly strategies: StrategyRegistry;
  /** The preset set in force (the presets of `strategies`, with its version and digest). */
  readonly presets: PresetsSnapshot;
}

/** The next config a change asks for (the store sets `version` and `updatedAt`). */
export type ConfigDraft = Omit<RuntimeConfig, 'version' | 'updatedAt'>;

/**
 * One change, as the domain describes it. `apply` is pure: it reads the state in force when the
 * change commits (not when it was asked for) and returns the config it wants, or throws a domain
 * error (ConfigValidationError, InvalidStrategyKeyError, VersionNotInHistoryError ...) to refuse.
 * The store decides whether it is a no-op (nothing differs), numbers it and writes it with its
 * audit entry.
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

/**
 * A change of the preset set (src/config/preset-changes.ts). `apply` returns the next set, in file
 * order, every preset checked against the static strategies, and refuses (PresetValidationError,
 * PresetInUseError) a set that would remove or invalidate a strategy the config in force uses.
 * The store judges a no-op (`samePresets`), numbers the set's own version and writes it with a
 * `PRESETS` audit entry.
 */
export interface PresetsChange {
  readonly subject: 'PRESETS';
  /** upsertPreset | deletePreset */
  readonly operation: string;
  readonly actor: string;
  /** The preset it is about. */
  readonly presetKey: string;
  readonly details?: Readonly<Record<string, unknown>>;
  apply(state: StoreState): readonly PresetDefinition[];
}

export type Change = ConfigChange | PresetsChange;

export interface CommitOptions {
  /**
   * Refuse unless the subject's version in force is this one (checked first): the config's version
   * (VersionConflictError), or the preset set's own (PresetsVersionConflictError).
   */
  readonly expectedVersion?: number;
  /**
   * The request that asked for it (its X-Request-Id): on the event the change publishes here, so that
   * the process log's line for it carries the id. Never stored (not in the audit entry).
   */
  readonly requestId?: string;
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

export interface PresetsCommitResult {
  /** False for a no-op (an identical upsert): nothing written, no version used, no audit entry. */
  readonly changed: boolean;
  readonly previous: PresetsSnapshot;
  /** In force after the commit (the same as `previous` for a no-op). */
  readonly current: PresetsSnapshot;
  /** The strategies in force before and after (a deleted preset's entry is in `previousStrategies`). */
  readonly previousStrategies: StrategyRegistry;
  readonly strategies: StrategyRegistry;
  /** `<presetKey>.<field>` for each preset field that changed. */
  readonly changedFields: readonly string[];
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
      /** The request that committed it in this process (CommitOptions.requestId); none from another replica or a hand edit. */
      readonly requestId?: string;
    }
  /** What is stored is invalid: the last good config stays in force (see `problem()`). */
  | { readonly type: 'invalid'; readonly error: ConfigFileError }
  /** What is stored is valid again. */
  | { readonly type: 'valid' }
  /** A commit could not be written (a full or read-only disk, a refused file): refused, nothing changed. */
  | { readonly type: 'writeFailed'; readonly step: string; readonly errno?: string | undefined }
  /** `--audit-keep` (file store): audit.log could not be trimmed after a change; the change stands, the trim is tried again. */
  | { readonly type: 'auditTrimFailed'; readonly step: string; readonly errno?: string | undefined }
  /** The preset set in force changed: a commit, another replica, or a hand edit (`state().strategies` has it). */
  | {
      readonly type: 'presetsChanged';
      readonly previous: PresetsSnapshot;
      readonly current: PresetsSnapshot;
      readonly audit: AuditEntry | null;
      readonly source: 'commit' | 'handEdit' | 'replica';
      /** The request that committed it in this process (CommitOptions.requestId); none from another replica or a hand edit. */
      readonly requestId?: string;
    }
  /**
   * The stored presets are invalid, or would remove or invalidate a strategy the config uses: the
   * last good set stays in force (see `strategiesProblem()`).
   */
  | { readonly type: 'presetsInvalid'; readonly error: ConfigFileError }
  /** The stored presets are in force again. */
  | { readonly type: 'presetsValid' }
  /** Reachability of the store changed (etcd). */
  /** Reachability changed; a loss says why (`accessRefused`: etcd refused this process's credentials or rights, a setting). */
  | {
      readonly type: 'connection';
      readonly connected: boolean;
      readonly failure?: {
        readonly detail?: string;
        readonly accessRefused: boolean;
        /** The client certificate has run out (etcd over TLS): what to do about it, in words. */
        readonly certificateExpired?: string;
        /** The same without the certificate file's path: what /ready (no token needed) says. */
        readonly certificateExpiredPublic?: string;
      };
    };

export interface StoreInfo {
  readonly kind: 'FILE' | 'ETCD';
  /** Human-readable location, for messages and logs (a path, an etcd prefix); never sent to API clients. */
  readonly location: string;
  readonly connected: boolean;
  /** Last successful contact with the store (ISO-8601), null before the first. */
  readonly lastContactAt: string | null;
}

/**
 * A store's `state()` and `info()` answers, made again only when a value in them changed (compared
 * by identity): a cached read asks for both on every request (its revision), and a new object each
 * time was garbage.
 */
export class StoreAnswers {
  private lastState: StoreState | undefined;
  private lastInfo: StoreInfo | undefined;

  state(config: ConfigSnapshot, strategies: StrategyRegistry, presets: PresetsSnapshot): StoreState {
    const last = this.lastState;
    if (last?.config === config && last.strategies === strategies && last.presets === presets) return last;
    this.lastState = { config, strategies, presets };
    return this.lastState;
  }

  info(kind: StoreInfo['kind'], location: string, connected: boolean, lastContactAt: string | null): StoreInfo {
    const last = this.lastInfo;
    if (last?.kind === kind && last.location === location && last.connected === connected && last.lastContactAt === lastContactAt)
      return last;
    this.lastInfo = { kind, location, connected, lastContactAt };
    return this.lastInfo;
  }
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
  /** Why the stored presets are not in force (invalid, or kept out: they would break the config), or null. */
  strategiesProblem(): ConfigFileError | null;
  /**
   * Validates `change` against the state in force at commit, refuses a stale `expectedVersion`,
   * skips a no-op, and otherwise writes the change and its audit entry together, durable before it
   * resolves. Concurrent commits are serialised (the file store may write several in one group).
   */
  commit(change: ConfigChange, options?: CommitOptions): Promise<CommitResult>;
  commit(change: PresetsChange, options?: CommitOptions): Promise<PresetsCommitResult>;
  commit(change: Change, options?: CommitOptions): Promise<CommitResult | PresetsCommitResult>;
  /** The audit trail, newest first. */
  audit(query: AuditQuery): Promise<readonly AuditEntry[]>;
  /** Re-reads the stored config and presets now (level-triggered: safe to call at any time, any number of times). */
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
