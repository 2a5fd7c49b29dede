import type { ICompare, IRequestOp } from 'etcd3';
import { type AuditEntry, type AuditSubject, parseAuditEntry } from '../config/audit-entry.js';
import {
  type ConfigFileError,
  ConfigFileInvalidError,
  ConfigValidationError,
  StoreUnavailableError,
  VersionConflictError,
} from '../config/errors.js';
import { Mutex } from '../config/mutex.js';
import { changedFields, type RuntimeConfig } from '../config/schema.js';
import type {
  AuditQuery,
  Change,
  CommitOptions,
  CommitResult,
  ConfigSnapshot,
  ConfigStore,
  StoreEvent,
  StoreInfo,
  StoreState,
} from '../config/store.js';
import { applyConfigToDocument, renderNewConfigFile } from '../config/yaml-document.js';
import type { StrategyRegistry } from '../registry/index.js';
import {
  defaultSnapshot,
  diffConfigs,
  effectiveSnapshot,
  handEditEntry,
  missingConfigError,
  parseStored,
  type StoredConfig,
  snapshotOfEntry,
} from './config-judge.js';
import type { EtcdGateway } from './gateway.js';
import { type EtcdKeys, prefixEnd } from './keys.js';
import {
  type EtcdMirror,
  type KeyValue,
  kvsOf,
  lastUnderOp,
  type MirrorBatch,
  type MirrorChange,
  prefixRangeOp,
  rangeOp,
} from './mirror.js';

export const DEFAULT_AUDIT_KEEP = 10_000;

export interface EtcdConfigStoreOptions {
  readonly registry: StrategyRegistry;
  /** Audit entries kept per subject (`--audit-keep`); older ones go in the transaction that adds one. */
  readonly auditKeep?: number;
  readonly now?: () => Date;
  readonly warn?: (message: string) => void;
}

/** What a write is judged against: the keys as one read saw them. */
interface WriteBase {
  readonly revision: number;
  readonly configKv: KeyValue | null;
  readonly stored: StoredConfig | null;
  readonly strategiesModRevision: number;
  readonly last: AuditEntry | null;
  readonly auditCount: number;
  /** The oldest audit keys (ascending), for retention. */
  readonly oldest: readonly string[];
}

const put = (key: string, value: string): IRequestOp => ({ request_put: { key: Buffer.from(key), value: Buffer.from(value) } });
const modIs = (key: string, revision: number): ICompare => ({
  key: Buffer.from(key),
  target: 'Mod',
  result: 'Equal',
  mod_revision: revision,
});
const absent = (key: string): ICompare => ({ key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0 });

/**
 * The ConfigStore on etcd. State comes from the mirror (one watch per process); a commit is one
 * transaction that compares the revisions of `config` and `strategies` as a read saw them and puts
 * the config with its audit entry, so a writer on any replica never loses an update and a version
 * exists exactly when its audit entry does. A failed compare means another writer got there first:
 * read again and judge the change against what is in force now.
 */
export class EtcdConfigStore implements ConfigStore {
  private readonly mutex = new Mutex();
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private readonly location: string;
  private readonly now: () => Date;
  private readonly keep: number;
  private snapshot: ConfigSnapshot;
  private last: AuditEntry | null = null;
  private invalid: { digest: string; error: ConfigFileError } | null = null;
  private readonly unsubscribe: (() => void)[] = [];
  private handEditQueued = false;
  /** Entries of this process's commits in flight: the watch may bring one before the transaction's answer does. */
  private readonly ownInFlight = new Set<string>();
  private closed = false;

  constructor(
    private readonly gateway: EtcdGateway,
    private readonly mirror: EtcdMirror,
    private readonly keys: EtcdKeys,
    private readonly options: EtcdConfigStoreOptions,
  ) {
    this.location = keys.config;
    this.now = options.now ?? (() => new Date());
    this.keep = Math.max(1, options.auditKeep ?? DEFAULT_AUDIT_KEEP);
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
    return { config: this.snapshot, strategies: this.options.registry };
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
    let config: MirrorChange | undefined;
    for (const change of batch.changes) {
      if (change.type === 'put' && change.kv.key.startsWith(auditPrefix)) {
        const entry = parseAuditEntry(change.kv.value);
        if (entry && (!this.last || entry.version > this.last.version)) this.last = entry;
      } else if ((change.type === 'put' ? change.kv.key : change.key) === this.keys.config) config = change;
    }
    if (config?.type === 'put') this.judge(config.kv, batch.origin);
    else if (config?.type === 'delete') {
      this.markInvalid('missing', missingConfigError(this.location));
    }
  }

  /** Brings the state level with a stored config text, and says what happened. */
  private judge(kv: KeyValue, origin: MirrorBatch['origin']): void {
    const stored = parseStored(this.options.registry, this.location, kv.value);
    if (!stored.ok) {
      this.markInvalid(stored.digest, stored.error);
      return;
    }
    const wasInvalid = this.invalid !== null;
    this.invalid = null;
    const { snapshot, audited } = effectiveSnapshot(stored, this.last);
    const previous = this.snapshot;
    this.snapshot = snapshot;
    if (wasInvalid) this.emit({ type: 'valid' });
    if (previous.digest === snapshot.digest && previous.config.version === snapshot.config.version) return;
    const own = origin === 'local' || (this.last !== null && this.ownInFlight.has(entryId(this.last)));
    const source = !audited ? 'handEdit' : own ? 'commit' : 'replica';
    this.emit({ type: 'changed', previous, current: snapshot, audit: audited ? this.last : null, source });
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
        const base = await this.readBase(this.gateway.deadline());
        if (!base.stored?.ok || (base.last && base.last.digest === base.stored.digest)) return;
        const entry = handEditEntry(base.stored, base.last, this.now());
        await this.write(
          base,
          [put(this.keys.audit('CONFIG', entry.version), JSON.stringify(entry))],
          [entry],
          null,
          this.gateway.deadline(),
        );
      })
      .catch((err) => {
        this.handEditQueued = false;
        this.options.warn?.(`etcd store: could not audit a hand edit of ${this.location} yet: ${(err as Error).message}`);
      });
  }

  /** One consistent read of what a write depends on. */
  private async readBase(deadline: number): Promise<WriteBase> {
    const k = this.keys;
    const auditPrefix = k.auditPrefix('CONFIG');
    const res = await this.gateway.call(
      'read config',
      (options) =>
        this.gateway.client.kv.txn(
          {
            compare: [],
            success: [
              rangeOp(k.config),
              rangeOp(k.strategies, { keys_only: true }),
              lastUnderOp(auditPrefix),
              prefixRangeOp(auditPrefix, { count_only: true }),
              prefixRangeOp(auditPrefix, { keys_only: true, sort_order: 'Ascend', sort_target: 'Key', limit: 4 }),
            ],
          },
          options,
        ),
      deadline,
    );
    const [config, strategies, last, count, oldest] = res.responses;
    const configKv = kvsOf(config)[0] ?? null;
    const lastKv = kvsOf(last)[0];
    const base: WriteBase = {
      revision: Number(res.header.revision),
      configKv,
      stored: configKv ? parseStored(this.options.registry, this.location, configKv.value) : null,
      strategiesModRevision: kvsOf(strategies)[0]?.modRevision ?? 0,
      last: lastKv ? parseAuditEntry(lastKv.value) : null,
      auditCount: Number(count?.response_range?.count ?? 0),
      oldest: kvsOf(oldest).map((kv) => kv.key),
    };
    // What the read saw is news to this process if the watch has not brought it yet.
    const seen: MirrorChange[] = [];
    if (lastKv) seen.push({ type: 'put', kv: lastKv });
    if (configKv) seen.push({ type: 'put', kv: configKv });
    if (seen.length > 0) this.mirror.applyRead(base.revision, seen);
    return base;
  }

  /**
   * Puts `ops` (and the config text, when given) if nothing it was judged on has changed since the
   * read, trimming the audit trail to `keep`. True when it committed.
   */
  private async write(
    base: WriteBase,
    ops: IRequestOp[],
    entries: AuditEntry[],
    configText: string | null,
    deadline: number,
  ): Promise<number | null> {
    const k = this.keys;
    const auditPrefix = k.auditPrefix('CONFIG');
    const compare = [modIs(k.config, base.configKv?.modRevision ?? 0), modIs(k.strategies, base.strategiesModRevision)];
    for (const entry of entries) compare.push(absent(k.audit('CONFIG', entry.version)));
    const success = [...(configText === null ? [] : [put(k.config, configText)]), ...ops];
    const excess = Math.min(base.auditCount, base.auditCount + entries.length - this.keep);
    if (excess > 0) {
      let oldest = base.oldest;
      if (oldest.length < excess) {
        const more = await this.gateway.call(
          'read audit',
          (options) =>
            this.gateway.client.kv.range(
              {
                key: Buffer.from(auditPrefix),
                range_end: prefixEnd(auditPrefix),
                keys_only: true,
                sort_order: 'Ascend',
                sort_target: 'Key',
                limit: excess,
              },
              options,
            ),
          deadline,
        );
        oldest = more.kvs.map((kv) => kv.key.toString());
      }
      const lastDeleted = oldest[Math.min(excess, oldest.length) - 1];
      if (lastDeleted !== undefined) {
        success.push({ request_delete_range: { key: Buffer.from(auditPrefix), range_end: Buffer.from(`${lastDeleted}\0`) } });
      }
    }
    const own = configText === null ? [] : entries.map(entryId);
    for (const id of own) this.ownInFlight.add(id);
    let res: Awaited<ReturnType<typeof this.gateway.client.kv.txn>>;
    try {
      res = await this.gateway.call('commit', (options) => this.gateway.client.kv.txn({ compare, success }, options), deadline);
    } finally {
      // Cleared after the local apply below has run (or on failure): either may carry the event.
      queueMicrotask(() => {
        for (const id of own) this.ownInFlight.delete(id);
      });
    }
    if (!res.succeeded) return null;
    const revision = Number(res.header.revision);
    const changes: MirrorChange[] = entries.map((entry) => ({
      type: 'put',
      kv: { key: k.audit('CONFIG', entry.version), value: JSON.stringify(entry), modRevision: revision },
    }));
    if (configText !== null) changes.push({ type: 'put', kv: { key: k.config, value: configText, modRevision: revision } });
    this.mirror.applyLocal(revision, changes);
    return revision;
  }

  commit(change: Change, options: CommitOptions = {}): Promise<CommitResult> {
    if (this.closed) return Promise.reject(new Error('config store is closed'));
    const deadline = this.gateway.deadline();
    return this.mutex.run(() => this.commitLocked(change, options, deadline));
  }

  private async commitLocked(change: Change, options: CommitOptions, deadline: number): Promise<CommitResult> {
    let attempted: { entry: AuditEntry; previous: ConfigSnapshot; fields: CommitResult['changedFields'] } | null = null;
    for (;;) {
      if (Date.now() >= deadline) {
        throw new StoreUnavailableError(this.gateway.location, 'commit', { cause: new Error('other writers kept changing the config') });
      }
      const base = await this.readBase(deadline);
      const stored = base.stored;
      if (stored && !stored.ok) throw new ConfigFileInvalidError(stored.error);
      // A retried transaction that had in fact landed: it is ours, not a conflict.
      if (attempted && base.last && sameEntry(base.last, attempted.entry))
        return this.result(attempted.previous, attempted.entry, attempted.fields);
      const pending =
        stored?.ok && !(base.last && base.last.digest === stored.digest) ? handEditEntry(stored, base.last, this.now()) : null;
      const current: ConfigSnapshot = stored?.ok
        ? effectiveSnapshot(stored, base.last).snapshot
        : base.last
          ? snapshotOfEntry(base.last)
          : this.snapshot;
      if (options.expectedVersion !== undefined && options.expectedVersion !== current.config.version) {
        throw new VersionConflictError(options.expectedVersion, current.config.version);
      }
      const draft = change.apply({ config: current, strategies: this.options.registry });
      const time = this.now();
      const wanted: RuntimeConfig = { ...draft, version: current.config.version + 1, updatedAt: time.toISOString() };
      const fields = changedFields(current.config, wanted);
      if (fields.length === 0) return { changed: false, previous: current, current, changedFields: [], audit: null };

      let text: string;
      if (stored?.ok) {
        applyConfigToDocument(stored.doc, stored.config, wanted);
        text = stored.doc.toString();
      } else text = renderNewConfigFile(wanted);
      const written = parseStored(this.options.registry, this.location, text);
      if (!written.ok) throw new ConfigValidationError(written.error.problems.map((p) => ({ path: [], message: p.message })));
      const entry: AuditEntry = {
        time: time.toISOString(),
        actor: change.actor,
        operation: change.operation,
        subject: 'CONFIG',
        version: written.config.version,
        digest: written.digest,
        changes: diffConfigs(current.config, written.config),
        config: written.config,
        ...(change.details && { details: { ...change.details } }),
      };
      const entries = pending ? [pending, entry] : [entry];
      const ops = entries.map((e) => put(this.keys.audit('CONFIG', e.version), JSON.stringify(e)));
      attempted = { entry, previous: current, fields };
      const revision = await this.write(base, ops, entries, text, deadline);
      if (revision !== null) return this.result(current, entry, fields);
    }
  }

  private result(previous: ConfigSnapshot, entry: AuditEntry, fields: CommitResult['changedFields']): CommitResult {
    return { changed: true, previous, current: snapshotOfEntry(entry), changedFields: fields, audit: entry };
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
      const base = await this.readBase(deadline);
      if (base.stored === null && base.last === null) {
        const text = renderNewConfigFile(this.snapshot.config);
        const stored = parseStored(this.options.registry, this.location, text);
        if (!stored.ok) throw stored.error;
        const entry = handEditEntry(stored, null, this.now());
        await this.write(base, [put(this.keys.audit('CONFIG', entry.version), JSON.stringify(entry))], [entry], text, deadline);
      } else if (base.stored?.ok && !(base.last && base.last.digest === base.stored.digest)) {
        const entry = handEditEntry(base.stored, base.last, this.now());
        await this.write(base, [put(this.keys.audit('CONFIG', entry.version), JSON.stringify(entry))], [entry], null, deadline);
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

const entryId = (e: AuditEntry) => `${e.version}|${e.digest}|${e.time}|${e.actor}`;

function sameEntry(a: AuditEntry, b: AuditEntry): boolean {
  return a.version === b.version && a.digest === b.digest && a.time === b.time && a.actor === b.actor && a.operation === b.operation;
}
