import type { IKeyValue, IRequestOp, IResponseHeader, IResponseOp, Watcher } from 'etcd3';
import { Listeners } from '../listeners.js';
import type { Say } from '../log.js';
import type { EtcdGateway } from './gateway.js';
import { type EtcdKeys, prefixEnd } from './keys.js';

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
}

export type MirrorChange =
  | { readonly type: 'put'; readonly kv: KeyValue }
  | { readonly type: 'delete'; readonly key: string; readonly modRevision: number };

/** Changes that took effect together: one etcd revision (watch), a full re-read, this process's own write, or what one of its reads saw first. */
export interface MirrorBatch {
  readonly revision: number;
  readonly origin: 'watch' | 'resync' | 'local' | 'read';
  readonly changes: readonly MirrorChange[];
  /**
   * A re-read that found etcd gone back (StoreWentBack): the batch is what it holds now, every key
   * held before that is not there deleted. What was derived from the old keys (the audit trail's
   * newest entry) is to be taken from this batch alone.
   */
  readonly wentBack?: StoreWentBack;
}

/**
 * etcd came back holding less than this process had seen: its data wiped, or restored from an
 * older snapshot. `seen` is the highest revision this process knew, `read` the re-read's.
 */
export interface StoreWentBack {
  readonly seen: number;
  readonly read: number;
  readonly why: string;
}

/** Where this process's view stood when a read began: a read of the same store answers at that revision or later. */
export interface ReadMark {
  readonly revision: number;
  readonly epoch: number;
}

export const toKeyValue = (kv: IKeyValue): KeyValue => ({
  key: kv.key.toString(),
  value: kv.value.toString(),
  modRevision: Number(kv.mod_revision),
});

export const rangeOp = (key: string, more: Partial<NonNullable<IRequestOp['request_range']>> = {}): IRequestOp => ({
  request_range: { key: Buffer.from(key), ...more },
});
export const prefixRangeOp = (prefix: string, more: Partial<NonNullable<IRequestOp['request_range']>> = {}): IRequestOp =>
  rangeOp(prefix, { range_end: prefixEnd(prefix), ...more });
/**
 * The audit keys under `prefix` (`<prefix><16 digits>`): the range of keys that start with a digit,
 * so a key put there by hand (`audit/config/notes`, sorting after every version) is never taken for
 * the newest entry, nor counted, nor trimmed.
 */
export const auditRangeOp = (prefix: string, more: Partial<NonNullable<IRequestOp['request_range']>> = {}): IRequestOp =>
  rangeOp(`${prefix}0`, { range_end: Buffer.from(`${prefix}:`), ...more });
/**
 * The newest audit key under `prefix` (audit keys sort by version). A sorted range costs etcd a read
 * of every key and value in it (the limit applies after the sort): 40 ms over 10,000 entries, on
 * every runner scan and every write. `EtcdMirror.auditTailOp` asks only from the newest key it knows.
 */
export const lastUnderOp = (prefix: string): IRequestOp => auditRangeOp(prefix, { sort_order: 'Descend', sort_target: 'Key', limit: 1 });
/** An audit key's prefix (`.../audit/config/`), or null for a key that is not an audit entry's. */
const auditPrefixOf = (key: string, prefixes: readonly string[]): string | null => {
  for (const prefix of prefixes) {
    const next = key.charCodeAt(prefix.length);
    if (key.startsWith(prefix) && next >= 48 && next <= 57) return prefix;
  }
  return null;
};
export const kvsOf = (response: IResponseOp | undefined): KeyValue[] => (response?.response_range?.kvs ?? []).map(toKeyValue);

/** How long a re-made watch may take to replay what a broken one missed before the re-read is applied instead. */
const REPLAY_LIMIT_MS = 10_000;
/**
 * Replays that broke before catching up, in a row, retried before the re-read is applied over the
 * rest. A member killed again right after its restart broke the replay too, and the re-read was
 * applied: versions 34-99 had no event on that replica (a clean-clone CI under load).
 */
const REPLAY_RETRIES = 3;

export interface MirrorOptions {
  /** How often reachability is probed (and what the watch may have missed is checked). */
  readonly probeIntervalMs?: number;
  /** Told about a resync or watch failure it recovers from by itself (for the log). */
  readonly warn?: Say;
  /** Told when a broken watch is watching again (the end of what `warn` began). */
  readonly info?: Say;
  readonly now?: () => number;
}

/**
 * This process's copy of the deployment's live keys (config, strategies, tokens, runners), kept
 * current by one watch on the prefix. Level-triggered: after any doubt (a broken watch, etcd away
 * and back, a config revision the watch has not delivered) it re-reads everything at one revision
 * and watches again from the next one. Audit keys pass through as changes but are not kept.
 */
export class EtcdMirror {
  private readonly keys: EtcdKeys;
  private readonly entries = new Map<string, KeyValue>();
  /** Deleted keys and when: an older put delivered late (the watch behind a local write) must not revive them. */
  private readonly tombstones = new Map<string, number>();
  private readonly listeners = new Listeners<MirrorBatch>((err, batch) =>
    this.options.warn?.(`etcd store: a listener failed on revision ${batch.revision}: ${(err as Error).message}`, {
      revision: batch.revision,
      reason: (err as Error).message,
    }),
  );
  private watchedRevision = 0;
  /**
   * The highest revision this process has seen (watched, read, or written): every linearizable
   * read that begins later answers at it or above, unless etcd went back. Each time it does, `epoch`
   * moves on, so a read begun before is not taken for a second time it did.
   */
  private seenRevision = 0;
  private epoch = 0;
  private clusterId: string | null = null;
  private watcher: Watcher | null = null;
  private generation = 0;
  private needsResync = false;
  /** When the watch broke, until a re-read watches again (said once it does). */
  private watchBroke: { at: number } | null = null;
  private resyncing: Promise<void> | null = null;
  /**
   * A re-made watch replaying what the broken one missed: settled with null once it has delivered
   * `target` (the re-read's revision), or with why it could not (compacted, broke again, too slow).
   */
  private catchUp: { readonly target: number; readonly settle: (failed: string | null) => void } | null = null;
  /** Replays in a row that broke before catching up (etcd away again): retried from where each got, up to REPLAY_RETRIES. */
  private replaysBroken = 0;
  private checking: Promise<void> | null = null;
  private checkingRunners: Promise<void> | null = null;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  /** Revisions of `config` and `strategies` the probe saw that the watch had not delivered yet, by key. */
  private readonly aheadSeen = new Map<string, number>();
  /** The newest audit key seen per subject's prefix: the start of the next read of the trail's tail. */
  private readonly newestAudit = new Map<string, string>();
  private readonly auditPrefixes: readonly string[];
  private closed = false;

  constructor(
    private readonly gateway: EtcdGateway,
    keys: EtcdKeys,
    private readonly options: MirrorOptions = {},
  ) {
    this.keys = keys;
    this.auditPrefixes = [keys.auditPrefix('CONFIG'), keys.auditPrefix('PRESETS')];
  }

  /**
   * A read of the newest audit entry under `prefix`: from the newest key this process has seen
   * (that key, and any newer: unsorted, a key or two), or, knowing none, the sorted read. Its
   * newest is the last key it returns (`newestOf`). Empty from a known key means that key was
   * deleted (by hand: trimming never deletes the newest); the next resync reads sorted.
   */
  /** The version of the newest audit entry seen under `prefix` (undefined: none seen since the last resync). */
  newestAuditVersion(prefix: string): number | undefined {
    const known = this.newestAudit.get(prefix);
    return known === undefined ? undefined : Number(known.slice(prefix.length));
  }

  auditTailOp(prefix: string): IRequestOp {
    const known = this.newestAudit.get(prefix);
    return known === undefined ? lastUnderOp(prefix) : rangeOp(known, { range_end: Buffer.from(`${prefix}:`) });
  }

  /** The first full read (StoreUnavailableError when etcd does not answer), then the watch and the probe. */
  async open(): Promise<void> {
    await this.resync();
    const every = this.options.probeIntervalMs ?? 1000;
    this.probeTimer = setInterval(() => void this.probe(), every);
    this.probeTimer.unref();
  }

  get revision(): number {
    return this.watchedRevision;
  }

  get(key: string): KeyValue | undefined {
    return this.entries.get(key);
  }

  list(prefix: string): KeyValue[] {
    const found: KeyValue[] = [];
    for (const [key, kv] of this.entries) if (key.startsWith(prefix)) found.push(kv);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  onBatch(listener: (batch: MirrorBatch) => void): () => void {
    return this.listeners.add(listener);
  }

  /** This process's own committed write, applied at once (read-your-writes); the watch's copy of it is then skipped. */
  applyLocal(revision: number, changes: readonly MirrorChange[]): void {
    this.apply({ revision, origin: 'local', changes });
  }

  /** Where this process's view stands: given back with a read begun now (applyRead), it tells whether etcd went back meanwhile. */
  mark(): ReadMark {
    return { revision: this.seenRevision, epoch: this.epoch };
  }

  /**
   * What a read of this process saw before the watch brought it (older news is dropped as usual).
   * With the mark taken before the read began: a read that shows etcd went back (wentBack) is not
   * applied; everything is read again at once (resync) and the promise settles when that is done.
   */
  applyRead(revision: number, changes: readonly MirrorChange[], since?: ReadMark): Promise<void> {
    if (since && this.wentBack(since, revision, changes)) return this.resync();
    this.apply({ revision, origin: 'read', changes });
    return Promise.resolve();
  }

  /**
   * Whether a linearizable read begun at `since` shows a store that went back: it answered below a
   * revision this process had seen before it began, or with a key older than the one held (a key's
   * mod_revision never goes down in one store: etcdutl's `--bump-revision` raises the store's
   * revision, not the restored keys'), or from another cluster. Ignored when a reset happened since
   * (`epoch`): that read is merely late.
   */
  private wentBack(since: ReadMark, revision: number, changes: readonly MirrorChange[], header?: IResponseHeader): string | null {
    if (since.epoch !== this.epoch) return null;
    if (header?.cluster_id && this.clusterId !== null && header.cluster_id !== this.clusterId)
      return `another etcd cluster answers (id ${header.cluster_id}, was ${this.clusterId})`;
    if (revision < since.revision) return `its revision is ${revision}, below ${since.revision} already seen`;
    for (const change of changes) {
      if (change.type !== 'put') continue;
      const key = change.kv.key;
      if (!this.isKept(key)) continue;
      const held = this.entries.get(key)?.modRevision ?? this.tombstones.get(key);
      if (held !== undefined && held <= revision && change.kv.modRevision < held)
        return `${key} is at revision ${change.kv.modRevision}, below ${held} already seen`;
    }
    return null;
  }

  private isKept(key: string): boolean {
    const k = this.keys;
    return (
      key === k.config ||
      key === k.strategies ||
      key === k.strategiesKept ||
      key === k.moved ||
      key.startsWith(k.tokensPrefix) ||
      key.startsWith(k.runnersPrefix)
    );
  }

  /** Applies what is newer than what is held; tells listeners what took effect. */
  private apply(batch: MirrorBatch): void {
    if (batch.revision > this.seenRevision) this.seenRevision = batch.revision;
    const applied: MirrorChange[] = [];
    for (const change of batch.changes) {
      const key = change.type === 'put' ? change.kv.key : change.key;
      const revision = change.type === 'put' ? change.kv.modRevision : change.modRevision;
      const auditPrefix = auditPrefixOf(key, this.auditPrefixes);
      if (auditPrefix !== null) {
        const known = this.newestAudit.get(auditPrefix);
        if (change.type === 'put' && (known === undefined || key > known)) this.newestAudit.set(auditPrefix, key);
        if (change.type === 'delete' && key === known) this.newestAudit.delete(auditPrefix);
      }
      if (!this.isKept(key)) {
        applied.push(change);
        continue;
      }
      const held = this.entries.get(key)?.modRevision ?? this.tombstones.get(key) ?? 0;
      if (revision <= held) continue;
      if (change.type === 'put') {
        this.entries.set(key, change.kv);
        this.tombstones.delete(key);
        applied.push(change);
      } else if (this.entries.delete(key)) {
        this.tombstones.set(key, revision);
        applied.push(change);
      }
    }
    if ((batch.origin === 'watch' || batch.origin === 'resync') && batch.revision > this.watchedRevision) {
      this.watchedRevision = batch.revision;
      for (const [key, at] of this.tombstones) if (at <= this.watchedRevision) this.tombstones.delete(key);
    }
    if (applied.length === 0) return;
    const out: MirrorBatch = { ...batch, changes: applied };
    this.listeners.emit(out);
  }

  /**
   * What a caller that must act on what is stored now (the runner, every scan) asks for: one
   * linearizable read of `config`, `strategies` and the newest audit entries, applied like any read
   * (older news is dropped). The watch is kept: re-making it on every scan cost each runner a watch
   * that starts behind etcd's head, and etcd delivers such a watch's events only on its next
   * catch-up pass (every 100 ms), so a change arriving meanwhile waited up to 100 ms. A watch known
   * to be broken is re-made (a full resync). Concurrent calls share one read.
   */
  check(): Promise<void> {
    if (this.needsResync || !this.watcher) return this.resync();
    this.checking ??= this.checkOnce().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    const k = this.keys;
    const since = this.mark();
    const read = await this.gateway.call('read config', (options) =>
      this.gateway.client.kv.txn(
        {
          compare: [],
          success: [
            rangeOp(k.config),
            rangeOp(k.strategies),
            this.auditTailOp(k.auditPrefix('CONFIG')),
            this.auditTailOp(k.auditPrefix('PRESETS')),
          ],
        },
        options,
      ),
    );
    const revision = Number(read.header.revision);
    // Of each audit tail, only its newest entry (as the sorted read with limit 1 gave).
    const found = read.responses.flatMap((response, i) => (i < 2 ? kvsOf(response) : kvsOf(response).slice(-1)));
    const changes: MirrorChange[] = found.map((kv) => ({ type: 'put', kv }));
    for (const key of [k.config, k.strategies]) {
      if (this.entries.has(key) && !found.some((kv) => kv.key === key)) changes.push({ type: 'delete', key, modRevision: revision });
    }
    if (this.wentBack(since, revision, changes, read.header)) return this.resync();
    this.apply({ revision, origin: 'read', changes });
  }

  /**
   * Reads every runner's key now (one linearizable range read), applied like any read: older news
   * is dropped, a key no longer in etcd is deleted. What the fleet asks before it calls a runner
   * STALE on the state it holds: a watch late or stuck (this process busy, a stream that stopped
   * delivering before the probe noticed) left a live runner's newer heartbeats unread, and it was
   * called STALE, then RUNNING when they came. Concurrent calls share one read.
   */
  checkRunners(): Promise<void> {
    this.checkingRunners ??= this.checkRunnersOnce().finally(() => {
      this.checkingRunners = null;
    });
    return this.checkingRunners;
  }

  private async checkRunnersOnce(): Promise<void> {
    const prefix = this.keys.runnersPrefix;
    const since = this.mark();
    const read = await this.gateway.call('read runners', (options) =>
      this.gateway.client.kv.txn({ compare: [], success: [prefixRangeOp(prefix)] }, options),
    );
    const revision = Number(read.header.revision);
    const found = kvsOf(read.responses[0]);
    const stored = new Set(found.map((kv) => kv.key));
    const changes: MirrorChange[] = found.map((kv) => ({ type: 'put', kv }));
    for (const key of this.entries.keys()) {
      if (key.startsWith(prefix) && !stored.has(key)) changes.push({ type: 'delete', key, modRevision: revision });
    }
    if (this.wentBack(since, revision, changes, read.header)) return this.resync();
    this.apply({ revision, origin: 'read', changes });
  }

  /** Re-reads every live key at one revision, then watches from the next. Concurrent calls share one read. */
  resync(): Promise<void> {
    this.resyncing ??= this.resyncOnce().finally(() => {
      this.resyncing = null;
    });
    return this.resyncing;
  }

  private async resyncOnce(): Promise<void> {
    const k = this.keys;
    // Where the watch stood: what it missed since is replayed from etcd's history, not jumped over.
    const watched = this.watchedRevision;
    const auditBefore = this.auditPrefixes.map((prefix) => this.newestAuditVersion(prefix));
    // After any doubt, the newest audit keys are read sorted (the one known may be gone).
    this.newestAudit.clear();
    const since = this.mark();
    const read = await this.gateway.call('read state', (options) =>
      this.gateway.client.kv.txn(
        {
          compare: [],
          success: [
            rangeOp(k.config),
            rangeOp(k.strategies),
            rangeOp(k.strategiesKept),
            rangeOp(k.moved),
            prefixRangeOp(k.tokensPrefix),
            prefixRangeOp(k.runnersPrefix),
            lastUnderOp(k.auditPrefix('CONFIG')),
            lastUnderOp(k.auditPrefix('PRESETS')),
          ],
        },
        options,
      ),
    );
    const revision = Number(read.header.revision);
    const found = read.responses.flatMap(kvsOf);
    const present = new Set(found.map((kv) => kv.key));
    const changes: MirrorChange[] = found.map((kv) => ({ type: 'put', kv }));
    for (const key of this.entries.keys()) if (!present.has(key)) changes.push({ type: 'delete', key, modRevision: revision });
    const why = this.wentBack(since, revision, changes, read.header);
    this.clusterId = read.header.cluster_id || this.clusterId;
    // A watch that broke (or stopped delivering) after this process had watched: every revision it
    // missed is replayed in order by a watch from the one after it (etcd keeps them until compacted),
    // so each version is told on its own as if the watch had never broken. The re-read applied
    // instead would jump from the last version seen to the newest with no event for those between.
    let replayed = false;
    let failed: string | null = null;
    if (!why && watched > 0 && revision > watched && !this.closed) {
      failed = await this.replay(watched + 1, revision);
      replayed = failed === null;
      if (replayed) this.replaysBroken = 0;
      else if (!this.closed && this.replayAgain(failed as string)) {
        // The watch broke again while it replayed (etcd away again): what it delivered stands, and
        // the next probe replays the rest from there rather than jumping over it.
        this.needsResync = true;
        return;
      }
      if (failed !== null && !this.closed) this.sayJumped(watched, revision, failed, auditBefore, found);
    }
    if (replayed) {
      // The watch brought everything up to the re-read: what the re-read saw is older news. Its newest
      // audit keys are still where the next tail read starts (none replayed: the one known may be gone).
      for (const kv of found) {
        const auditPrefix = auditPrefixOf(kv.key, this.auditPrefixes);
        const known = auditPrefix === null ? undefined : this.newestAudit.get(auditPrefix);
        if (auditPrefix !== null && (known === undefined || kv.key > known)) this.newestAudit.set(auditPrefix, kv.key);
      }
    } else if (why) this.restart({ seen: since.revision, read: revision, why }, found);
    else this.apply({ revision, origin: 'resync', changes });
    this.aheadSeen.clear();
    if (failed !== null) {
      // Watched again from the next probe on: etcd's client is still closing the stream of the
      // cancelled watch, and a watch made on it now breaks with it ("Cancelled on client").
      this.needsResync = true;
      return;
    }
    this.needsResync = false;
    if (!replayed) await this.watchFrom(revision + 1);
    // The end of the spell the warning began: "the watch broke" had no line saying it was over.
    const broke = this.watchBroke;
    if (broke && !this.closed) {
      this.watchBroke = null;
      const brokenForMs = (this.options.now ?? Date.now)() - broke.at;
      this.options.info?.(`etcd store: the watch is back after ${Math.round(brokenForMs / 1000)} s: re-read at revision ${revision}`, {
        store: this.gateway.location,
        revision,
        brokenForMs,
      });
    }
  }

  /**
   * Whether a replay that failed with `failed` is tried again from where it got: not when etcd
   * compacted what it would replay (it never comes back) or it was too slow (REPLAY_LIMIT_MS), and
   * at most REPLAY_RETRIES times in a row (a watch that always breaks must not keep the replica
   * from the newest state for good).
   */
  private replayAgain(failed: string): boolean {
    const compacted = /^Watcher canceled: ?$/.test(failed);
    const slow = failed.startsWith('not caught up to revision');
    if (compacted || slow || this.replaysBroken >= REPLAY_RETRIES) {
      this.replaysBroken = 0;
      return false;
    }
    this.replaysBroken++;
    return true;
  }

  /**
   * Watches from `from` and waits until that watch has delivered `target`: null once it has, else
   * why not (etcd compacted `from` away, the watch broke again, or it did not catch up in time).
   */
  private replay(from: number, target: number): Promise<string | null> {
    return new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => {
        // Too slow: that watch stops here (the re-read takes over), not delivering old news after it.
        const slow = this.watcher;
        this.watcher = null;
        this.generation++;
        if (slow) void slow.cancel().catch(() => {});
        settle(`not caught up to revision ${target} within ${REPLAY_LIMIT_MS / 1000} s`);
      }, REPLAY_LIMIT_MS);
      timer.unref();
      const settle = (failed: string | null) => {
        if (this.catchUp !== pending) return;
        this.catchUp = null;
        clearTimeout(timer);
        resolve(failed);
      };
      const pending = { target, settle };
      this.catchUp = pending;
      void this.watchFrom(from).then(() => {
        if (this.closed) settle('closed');
        else if (!this.watcher) settle('the watch could not be made');
      });
    });
  }

  /**
   * The re-read is applied over what the watch missed (its history compacted away, say): the config
   * and presets versions in between were never told on this replica. Said, with which, rather than
   * jumping silently.
   */
  private sayJumped(
    watched: number,
    revision: number,
    failed: string,
    auditBefore: readonly (number | undefined)[],
    found: readonly KeyValue[],
  ): void {
    const skipped: Record<string, string> = {};
    this.auditPrefixes.forEach((prefix, i) => {
      const newest = found.find((kv) => auditPrefixOf(kv.key, [prefix]) !== null);
      const after = newest ? Number(newest.key.slice(prefix.length)) : undefined;
      const before = auditBefore[i];
      if (before === undefined || after === undefined || after - before < 2) return;
      skipped[i === 0 ? 'config' : 'presets'] = after - before === 2 ? `${before + 1}` : `${before + 1}-${after - 1}`;
    });
    // etcd cancels a watch from a compacted revision with no reason given (only compact_revision).
    const reason = /^Watcher canceled: ?$/.test(failed) ? 'etcd compacted its history past them' : failed;
    const which = Object.entries(skipped).map(([subject, versions]) => `${subject} versions ${versions}`);
    this.options.warn?.(
      `etcd store: the watch could not replay revisions ${watched + 1}-${revision} (${reason}); re-read at revision ${revision}: ${
        which.length > 0 ? `${which.join(' and ')} had no event on this replica` : 'no config or presets version was skipped'
      }`,
      { store: this.gateway.location, fromRevision: watched + 1, revision, reason, ...skipped },
    );
  }

  /**
   * etcd went back: what it holds now replaces everything held, as if this process started on it
   * (a wiped store has no keys; an older snapshot, older ones). Without this every put and delete at
   * or below a revision held was dropped as old news: a revoked token stayed accepted, a new one was
   * refused, the config never moved again and a republished runner stayed STALE.
   */
  private restart(wentBack: StoreWentBack, found: readonly KeyValue[]): void {
    this.options.warn?.(
      `etcd store: etcd went back (${wentBack.why}): its data was wiped or restored from an older snapshot without --bump-revision; everything is read again from revision ${wentBack.read}, what it holds now replaces what this process had`,
      { store: this.gateway.location, seenRevision: wentBack.seen, readRevision: wentBack.read, reason: wentBack.why },
    );
    const changes: MirrorChange[] = [];
    const present = new Set(found.map((kv) => kv.key));
    for (const key of this.entries.keys()) if (!present.has(key)) changes.push({ type: 'delete', key, modRevision: wentBack.read });
    for (const kv of found) {
      if (!this.isKept(kv.key)) changes.push({ type: 'put', kv });
      else {
        const held = this.entries.get(kv.key);
        if (held?.value !== kv.value || held.modRevision !== kv.modRevision) changes.push({ type: 'put', kv });
      }
    }
    this.entries.clear();
    for (const kv of found) if (this.isKept(kv.key)) this.entries.set(kv.key, kv);
    this.tombstones.clear();
    this.aheadSeen.clear();
    this.newestAudit.clear();
    for (const kv of found) {
      const auditPrefix = auditPrefixOf(kv.key, this.auditPrefixes);
      if (auditPrefix !== null) this.newestAudit.set(auditPrefix, kv.key);
    }
    this.watchedRevision = wentBack.read;
    this.seenRevision = wentBack.read;
    this.epoch++;
    // Told even with nothing to change: what listeners derived from the old keys goes.
    this.listeners.emit({ revision: wentBack.read, origin: 'resync', changes, wentBack });
  }

  private async watchFrom(revision: number): Promise<void> {
    const previous = this.watcher;
    this.watcher = null;
    const generation = ++this.generation;
    if (previous) void previous.cancel().catch(() => {});
    if (this.closed) return;
    const watcher = this.gateway.client.watch().prefix(this.keys.prefix).startRevision(String(revision)).watcher();
    this.watcher = watcher;
    watcher.on('data', (res) => {
      if (generation !== this.generation) return;
      this.gateway.contact();
      const byRevision = new Map<number, MirrorChange[]>();
      for (const event of res.events) {
        const kv = toKeyValue(event.kv);
        const changes = byRevision.get(kv.modRevision) ?? [];
        changes.push(event.type === 'Put' ? { type: 'put', kv } : { type: 'delete', key: kv.key, modRevision: kv.modRevision });
        byRevision.set(kv.modRevision, changes);
      }
      for (const [rev, changes] of [...byRevision].sort((a, b) => a[0] - b[0])) this.apply({ revision: rev, origin: 'watch', changes });
      const progress = Number(res.header.revision);
      if (res.events.length === 0 && progress > this.watchedRevision) this.apply({ revision: progress, origin: 'watch', changes: [] });
      if (this.catchUp && this.watchedRevision >= this.catchUp.target) this.catchUp.settle(null);
    });
    const broken = (why: string) => {
      if (generation !== this.generation || this.closed) return;
      if (this.catchUp) {
        // The replay failed (compacted, or etcd away again): the re-read that asked for it takes over.
        this.watcher = null;
        this.generation++;
        void watcher.cancel().catch(() => {});
        this.catchUp.settle(why);
        return;
      }
      this.options.warn?.(`etcd store: the watch broke (${why}); re-reading when etcd answers`, {
        store: this.gateway.location,
        reason: why,
        revision: this.watchedRevision,
      });
      this.needsResync = true;
      this.watchBroke ??= { at: (this.options.now ?? Date.now)() };
      this.watcher = null;
      this.generation++;
      void watcher.cancel().catch(() => {});
    };
    watcher.on('disconnected', (err) => broken(err.message));
    watcher.on('error', (err) => broken(err.message));
  }

  /** Reachability, and a level check on the config and the presets: one linearizable read per interval. */
  private async probe(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    try {
      const probed = [this.keys.config, this.keys.strategies];
      const since = this.mark();
      const res = await this.gateway.call('probe', (options) =>
        this.gateway.client.kv.txn({ compare: [], success: probed.map((key) => rangeOp(key, { keys_only: true })) }, options),
      );
      // Newer than held on two probes running: the watch is not delivering. On one: it may be in flight.
      let behind = Number(res.header.revision) < since.revision && since.epoch === this.epoch;
      probed.forEach((key, i) => {
        const modRevision = kvsOf(res.responses[i])[0]?.modRevision ?? 0;
        const held = this.entries.get(key)?.modRevision ?? this.tombstones.get(key) ?? 0;
        if (modRevision > held) {
          behind ||= (this.aheadSeen.get(key) ?? 0) > held;
          this.aheadSeen.set(key, modRevision);
        } else this.aheadSeen.delete(key);
      });
      if (this.needsResync || !this.watcher || behind) await this.resync();
    } catch {
      // Unreachable: the gateway now says so; re-read everything once it answers again.
      this.needsResync = true;
    } finally {
      this.probing = false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.probeTimer);
    this.catchUp?.settle('closed');
    this.generation++;
    const watcher = this.watcher;
    this.watcher = null;
    // All at once (their calls end within the stop's deadline: EtcdGateway.stopping); the watch's
    // cancel is not waited for when etcd is known unreachable (it would only run out its 500 ms).
    const cancelled = watcher?.cancel().catch(() => {});
    await Promise.all([
      this.resyncing?.catch(() => {}),
      this.checking?.catch(() => {}),
      this.checkingRunners?.catch(() => {}),
      this.gateway.connected && cancelled && Promise.race([cancelled, new Promise((r) => setTimeout(r, 500))]),
    ]);
    this.listeners.clear();
  }
}
