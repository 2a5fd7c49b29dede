import { type AuditEntry, type AuditSubject, parseAuditEntry } from '../config/audit-entry.js';
import { type ConfigFileError, ConfigFileInvalidError, ConfigValidationError } from '../config/errors.js';
import type {
  AuditQuery,
  Change,
  CommitOptions,
  CommitResult,
  ConfigChange,
  ConfigSnapshot,
  ConfigStore,
  PresetsChange,
  PresetsCommitResult,
  StoreEvent,
  StoreInfo,
  StoreState,
} from '../config/store.js';

import { renderNewConfigFile } from '../config/yaml-document.js';
import { Mutex } from '../fs/mutex.js';
import type { StrategyRegistry } from '../registry/index.js';
import { judgeGroup, NO_PRESETS, type QueuedCommit } from './config-group.js';
import { ConfigIo, entryId } from './config-io.js';
import { defaultSnapshot, effectiveSnapshot, handEditEntry, missingConfigError, parseStored, snapshotOfEntry } from './config-judge.js';
import { EtcdUnavailableError } from './errors.js';
import type { EtcdGateway } from './gateway.js';
import type { EtcdKeys } from './keys.js';
import { type EtcdMirror, type KeyValue, kvsOf, type MirrorBatch, type MirrorChange, prefixRangeOp } from './mirror.js';

export const DEFAULT_AUDIT_KEEP = 10_000;
/** Changes written in one transaction at most (etcd allows 128 operations and 128 compares). */
const MAX_GROUP = 50;

export interface EtcdConfigStoreOptions {
  readonly registry: StrategyRegistry;
  /** Audit entries kept per subject (`--audit-keep`); older ones go in the transaction that adds one. */
  readonly auditKeep?: number;
  readonly now?: () => Date;
  readonly warn?: (message: string) => void;
}

/**
 * The ConfigStore on etcd. State comes from the mirror (one watch per process). Commits queue and
 * are written in groups: one read, each change judged against the state the ones before it left,
 * then one transaction that compares the revisions of `config` and `strategies` as the read saw
 * them and puts the config with every change's audit entry. A failed compare means another replica
 * got there first: read again and judge the group against what is in force now. So no writer on any
 * replica loses an update, and a version exists exactly when its audit entry does.
 */
export class EtcdConfigStore implements ConfigStore {
  private readonly mutex = new Mutex();
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private readonly io: ConfigIo;
  private readonly location: string;
  private readonly now: () => Date;
  private snapshot: ConfigSnapshot;
  private last: AuditEntry | null = null;
  private invalid: { digest: string; error: ConfigFileError } | null = null;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly queue: QueuedCommit[] = [];
  private draining = false;
  private handEditQueued = false;
  private closed = false;

  constructor(
    private readonly gateway: EtcdGateway,
    private readonly mirror: EtcdMirror,
    private readonly keys: EtcdKeys,
    private readonly options: EtcdConfigStoreOptions,
  ) {
    this.location = keys.config;
    this.now = options.now ?? (() => new Date());
    this.io = new ConfigIo(gateway, mirror, keys, options.registry, Math.max(1, options.auditKeep ?? DEFAULT_AUDIT_KEEP));
    this.snapshot = defaultSnapshot(this.now());
    this.unsubscribe.push(mirror.onBatch((batch) => this.onBatch(batch)));
    this.unsubscribe.push(gateway.onConnection((connected) => this.emit({ type: 'connection', connected })));
  }

  /** After the mirror's first read: with no config key, the last audited config (or the defaults) is in force. */
  settle(): void {
    if (this.mirror.get(this.keys.config)) return;
    if (this.last) {
      this.snapshot = snapshotOfEntry(this.last);
      this.invalid = { digest: 'missing', error: missingConfigError(this.location) };
    }
  }

  info(): StoreInfo {
    return { kind: 'ETCD', location: this.gateway.location, connected: this.gateway.connected, lastContactAt: this.gateway.lastContactAt };
  }

  state(): StoreState {
    return { config: this.snapshot, strategies: this.options.registry, presets: NO_PRESETS };
  }

  /** The etcd store does not keep presets yet (the `strategies` key is not read): never a problem with them. */
  strategiesProblem(): ConfigFileError | null {
    return null;
  }

  problem(): ConfigFileError | null {
    return this.invalid?.error ?? null;
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: StoreEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the store's state is already settled.
      }
    }
  }

  /** Every change the mirror takes in, in revision order: audit entries first, then the config they record. */
  private onBatch(batch: MirrorBatch): void {
    const auditPrefix = this.keys.auditPrefix('CONFIG');
    const fresh: AuditEntry[] = [];
    let config: MirrorChange | undefined;
    for (const change of batch.changes) {
      if (change.type === 'put' && change.kv.key.startsWith(auditPrefix)) {
        const entry = parseAuditEntry(change.kv.value);
        if (entry && (!this.last || entry.version > this.last.version)) fresh.push(entry);
      } else if ((change.type === 'put' ? change.kv.key : change.key) === this.keys.config) config = change;
    }
    fresh.sort((a, b) => a.version - b.version);
    if (fresh.length > 0) this.last = fresh.at(-1) ?? this.last;
    if (config?.type === 'put') this.judge(config.kv, batch.origin, fresh);
    else if (config?.type === 'delete') this.markInvalid('missing', missingConfigError(this.location));
  }

  /** Brings the state level with a stored config text, and says what happened: one event per version. */
  private judge(kv: KeyValue, origin: MirrorBatch['origin'], fresh: readonly AuditEntry[]): void {
    const stored = parseStored(this.options.registry, this.location, kv.value);
    if (!stored.ok) {
      this.markInvalid(stored.digest, stored.error);
      return;
    }
    const wasInvalid = this.invalid !== null;
    this.invalid = null;
    const { snapshot, audited } = effectiveSnapshot(stored, this.last);
    if (wasInvalid) this.emit({ type: 'valid' });
    // A group commit brings several entries with one config: each is a version subscribers hear of.
    const steps: { current: ConfigSnapshot; audit: AuditEntry | null }[] = audited
      ? fresh.map((entry, i) => ({ current: i === fresh.length - 1 ? snapshot : snapshotOfEntry(entry), audit: entry }))
      : [{ current: snapshot, audit: null }];
    if (steps.length === 0) steps.push({ current: snapshot, audit: audited ? this.last : null });
    for (const step of steps) {
      const previous = this.snapshot;
      this.snapshot = step.current;
      if (previous.digest === step.current.digest && previous.config.version === step.current.config.version) continue;
      const entry = step.audit;
      const own = entry !== null && (origin === 'local' || this.io.ownInFlight.has(entryId(entry)));
      const source = !entry || entry.operation === 'handEdit' ? 'handEdit' : own ? 'commit' : 'replica';
      this.emit({ type: 'changed', previous, current: step.current, audit: entry, source });
    }
    if (!audited) this.queueHandEditAudit();
  }

  private markInvalid(digest: string, error: ConfigFileError): void {
    if (this.invalid?.digest === digest) return;
    this.invalid = { digest, error };
    this.emit({ type: 'invalid', error });
  }

  /** A valid hand edit is audited once: every replica tries, the transaction lets exactly one through. */
  private queueHandEditAudit(): void {
    if (this.handEditQueued || this.closed) return;
    this.handEditQueued = true;
    void this.mutex
      .run(async () => {
        this.handEditQueued = false;
        const deadline = this.gateway.deadline();
        const base = await this.io.readBase(deadline);
        if (!base.stored?.ok || (base.last && base.last.digest === base.stored.digest)) return;
        await this.io.write(base, [handEditEntry(base.stored, base.last, this.now())], null, deadline);
      })
      .catch((err) => {
        this.handEditQueued = false;
        this.options.warn?.(`etcd store: could not audit a hand edit of ${this.location} yet: ${(err as Error).message}`);
      });
  }

  commit(change: ConfigChange, options?: CommitOptions): Promise<CommitResult>;
  commit(change: PresetsChange, options?: CommitOptions): Promise<PresetsCommitResult>;
  commit(change: Change, options?: CommitOptions): Promise<CommitResult | PresetsCommitResult>;
  commit(change: Change, options: CommitOptions = {}): Promise<CommitResult | PresetsCommitResult> {
    if (this.closed) return Promise.reject(new Error('config store is closed'));
    if (change.subject === 'PRESETS') {
      const message = 'Presets are not available with the etcd store yet';
      return Promise.reject(new ConfigValidationError([{ path: [], message }], message));
    }
    const configChange: ConfigChange = change;
    const deadline = this.gateway.deadline();
    return new Promise<CommitResult>((resolve, reject) => {
      this.queue.push({ change: configChange, options, deadline, resolve, reject });
      if (this.draining) return;
      this.draining = true;
      void this.mutex.run(async () => {
        try {
          while (this.queue.length > 0) await this.commitGroup(this.queue.splice(0, MAX_GROUP));
        } finally {
          this.draining = false;
        }
      });
    });
  }

  private async commitGroup(group: QueuedCommit[]): Promise<void> {
    let attempt: ReturnType<typeof judgeGroup> | null = null;
    for (;;) {
      const expired = group.filter((q) => Date.now() >= q.deadline);
      for (const q of expired) {
        q.reject(new EtcdUnavailableError(this.gateway.location, 'commit', { cause: new Error('no commit within the deadline') }));
      }
      group = group.filter((q) => !expired.includes(q));
      if (group.length === 0) return;
      const deadline = Math.min(...group.map((q) => q.deadline));
      try {
        const base = await this.io.readBase(deadline);
        const lastWritten = attempt?.entries.at(-1);
        // A retried transaction that had in fact landed is ours, not a conflict.
        if (attempt && lastWritten && base.last && entryId(base.last) === entryId(lastWritten)) return attempt.settle();
        if (base.stored && !base.stored.ok) throw new ConfigFileInvalidError(base.stored.error);
        attempt = judgeGroup(base, group, {
          registry: this.options.registry,
          location: this.location,
          now: this.now(),
          inForce: this.snapshot,
        });
        if (attempt.text === null) return attempt.settle();
        if ((await this.io.write(base, attempt.entries, attempt.text, deadline)) !== null) return attempt.settle();
      } catch (err) {
        for (const q of group) q.reject(err);
        return;
      }
    }
  }

  async audit(query: AuditQuery): Promise<readonly AuditEntry[]> {
    if (query.last <= 0) return [];
    const subjects: AuditSubject[] = query.subject ? [query.subject] : ['CONFIG', 'PRESETS'];
    const res = await this.gateway.call('read audit', (options) =>
      this.gateway.client.kv.txn(
        {
          compare: [],
          success: subjects.map((s) =>
            prefixRangeOp(this.keys.auditPrefix(s), { sort_order: 'Descend', sort_target: 'Key', limit: query.last }),
          ),
        },
        options,
      ),
    );
    const entries = res.responses.flatMap(kvsOf).flatMap((kv) => parseAuditEntry(kv.value) ?? []);
    if (subjects.length > 1) entries.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : b.version - a.version));
    return entries.slice(0, query.last);
  }

  async refresh(): Promise<void> {
    await this.mirror.resync();
  }

  /** Writes what is missing: the default config (with its baseline entry), or the entry of an unaudited config. */
  start(): Promise<void> {
    return this.mutex.run(async () => {
      const deadline = this.gateway.deadline();
      const base = await this.io.readBase(deadline);
      if (base.stored === null && base.last === null) {
        const text = renderNewConfigFile(this.snapshot.config);
        const stored = parseStored(this.options.registry, this.location, text);
        if (!stored.ok) throw stored.error;
        await this.io.write(base, [handEditEntry(stored, null, this.now())], text, deadline);
      } else if (base.stored?.ok && !(base.last && base.last.digest === base.stored.digest)) {
        await this.io.write(base, [handEditEntry(base.stored, base.last, this.now())], null, deadline);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.mutex.idle();
    for (const off of this.unsubscribe) off();
    this.listeners.clear();
  }
}
