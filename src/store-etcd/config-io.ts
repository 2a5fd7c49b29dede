import type { ICompare, IRequestOp } from 'etcd3';
import { AUDIT_SUBJECTS, type AuditEntry, type AuditSubject, parseAuditEntry } from '../config/audit-entry.js';
import { ConfigFileError, ConfigFileInvalidError, StoreUnavailableError } from '../config/errors.js';
import type { Say } from '../log.js';
import type { StrategyRegistry } from '../registry/index.js';
import type { StoredConfig } from './config-judge.js';
import type { EtcdGateway } from './gateway.js';
import type { EtcdKeys } from './keys.js';
import { auditRangeOp, type EtcdMirror, type KeyValue, kvsOf, lastUnderOp, type MirrorChange, rangeOp } from './mirror.js';
import type { StoredPair, StoredPresets } from './presets-judge.js';
import { movedOutError } from './url.js';

/** One subject's audit trail as a read saw it: its newest entry, and what retention needs. */
export interface AuditTail {
  readonly last: AuditEntry | null;
  readonly count: number;
  /** The oldest audit keys (ascending), for retention. */
  readonly oldest: readonly string[];
}

/** What a write is judged against: the keys as one read saw them. */
export interface WriteBase {
  readonly revision: number;
  readonly configKv: KeyValue | null;
  /** The config text, parsed against `strategies`. */
  readonly stored: StoredConfig | null;
  readonly strategiesKv: KeyValue | null;
  /** The `strategies` text, judged beside the stored config. */
  readonly presets: StoredPresets;
  /** The strategies in force beside the stored config (the stored presets' when valid, else the ones in force). */
  readonly strategies: StrategyRegistry;
  readonly strategiesModRevision: number;
  /** The newest CONFIG entry. */
  readonly last: AuditEntry | null;
  /** The newest PRESETS entry. */
  readonly lastPresets: AuditEntry | null;
  readonly tails: Readonly<Record<AuditSubject, AuditTail>>;
  /**
   * The newest key of a trail that is not the entry of its own version (not an audit entry, or one
   * of another version or subject: put there by hand): nothing is written until a person fixes it
   * (write refuses), as no version could be numbered after it honestly. Null when both are sound.
   */
  readonly brokenTrail: ConfigFileError | null;
}

/** The texts a write puts (null or absent: that key is left as it is). */
export interface WriteTexts {
  readonly config?: string | null;
  readonly presets?: string | null;
}

const put = (key: string, value: string): IRequestOp => ({ request_put: { key: Buffer.from(key), value: Buffer.from(value) } });
const modIs = (key: string, revision: number): ICompare => ({
  key: Buffer.from(key),
  target: 'Mod',
  result: 'Equal',
  mod_revision: revision,
});
const absent = (key: string): ICompare => ({ key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0 });

/** At most this many audit entries (beyond those a change adds) are deleted with one change. */
export const TRIM_SLICE = 1000;

/** Entries of commits whose answer was lost, kept to recognise them when the watch brings them (a few per outage). */
const OWN_UNANSWERED_KEPT = 256;

export const entryId = (e: AuditEntry) => `${e.subject}|${e.version}|${e.digest}|${e.time}|${e.actor}`;

/** A commit transaction was sent and its answer never came: whether it was applied is for the caller to find out. */
export class CommitUncertainError extends Error {
  override name = 'CommitUncertainError';
  constructor(readonly unavailable: StoreUnavailableError) {
    super(unavailable.message, { cause: unavailable });
  }
}

/**
 * Whether `entry` (a commit's last audit entry) is in the store: 'landed', 'absent', or 'unknown'
 * when the store does not answer. Absent now is not "never": a hung member may still apply it.
 */
export async function commitLanded(gateway: EtcdGateway, keys: EtcdKeys, entry: AuditEntry): Promise<'landed' | 'absent' | 'unknown'> {
  try {
    const res = await gateway.call('check a commit', (options) =>
      gateway.client.kv.txn({ compare: [], success: [rangeOp(keys.audit(entry.subject, entry.version))] }, options),
    );
    const kv = kvsOf(res.responses[0])[0];
    if (kv === undefined) return 'absent';
    const stored = parseAuditEntry(kv.value);
    return stored !== null && entryId(stored) === entryId(entry) ? 'landed' : 'absent';
  } catch {
    return 'unknown';
  }
}

/** The etcd side of config and presets writes: one consistent read, one compare-and-put transaction. */
export class ConfigIo {
  /**
   * Entries of this process's commits in flight, with the id of the request each came from (if any):
   * the watch may bring one before the transaction's answer does.
   */
  private readonly ownInFlight = new Map<string, string | undefined>();
  /**
   * Entries of this process's commits whose answer never came (CommitUncertainError): a hung member
   * may apply one after the deadline, and the watch then brings it, long after the commit gave up.
   * Kept until seen (`isOwn`), the oldest forgotten past OWN_UNANSWERED_KEPT.
   */
  private readonly ownUnanswered = new Map<string, string | undefined>();

  /**
   * Whether the audit entry `id` (entryId) is one this process wrote: in flight now, or sent with
   * its answer lost. A change the watch brings is "through another replica" only if not.
   */
  isOwn(id: string): boolean {
    if (this.ownInFlight.has(id)) return true;
    // Each entry comes through the watch once: what was seen need not be kept.
    return this.ownUnanswered.delete(id);
  }

  /** The request the entry `id` (entryId) of one of this process's commits came from (ask before `isOwn`, which forgets). */
  requestIdOf(id: string): string | undefined {
    return this.ownInFlight.get(id) ?? this.ownUnanswered.get(id);
  }

  constructor(
    private readonly gateway: EtcdGateway,
    private readonly mirror: EtcdMirror,
    private readonly keys: EtcdKeys,
    /** Judges both stored texts against what is in force (the store's state after this read). */
    private readonly judge: (configText: string | null, presetsText: string | null, lastPresets: AuditEntry | null) => StoredPair,
    private readonly keep: number,
    /**
     * The store's judging of large values: `prepare` parses them in the parse worker (before they
     * reach the mirror), `settled` waits until every batch the mirror took is judged.
     */
    private readonly texts: { prepare(texts: readonly (string | null)[]): Promise<void>; settled(): Promise<void> },
    private readonly warn?: Say,
  ) {}

  /** Subjects whose trail was found over `keep` by more than a change adds: said once per process. */
  private readonly overKeepSaid = new Set<AuditSubject>();
  /** Broken newest audit keys already said in the log (by key and value: a second bad put is said again). */
  private readonly brokenSaid = new Set<string>();

  /** Why the newest key of a trail cannot be built on (brokenTrail), or null when it is its version's entry. */
  private brokenTail(subject: AuditSubject, kv: KeyValue, entry: AuditEntry | null): ConfigFileError | null {
    const prefix = this.keys.auditPrefix(subject);
    const version = Number(kv.key.slice(prefix.length));
    if (entry && entry.subject === subject && kv.key === this.keys.audit(subject, entry.version)) return null;
    const name = kv.key.slice(this.keys.prefix.length);
    const what = !entry
      ? 'is not an audit entry'
      : `holds the ${entry.subject} entry of version ${entry.version}, not of version ${version}`;
    const error = new ConfigFileError(kv.key, [
      {
        message: `the newest audit key ${name} ${what} (put there by hand?): changes are refused, so that no version is written beside it or numbered past it. Put the entry of version ${version} back, or delete the key (the next change then follows the entry before it)`,
      },
    ]);
    const said = `${kv.key}\n${kv.modRevision}`;
    if (!this.brokenSaid.has(said)) {
      this.brokenSaid.add(said);
      this.warn?.(`etcd store: ${error.problems[0]?.message}`, { key: kv.key, subject });
    }
    return error;
  }

  /**
   * One consistent read of what a write depends on: both keys with their values, and each subject's
   * audit tail. What it saw is passed to the mirror first, so the state in force is at least as new
   * as this read when the texts are judged against it.
   */
  async readBase(deadline: number): Promise<WriteBase> {
    const k = this.keys;
    const tailOps = (subject: AuditSubject) => {
      const prefix = k.auditPrefix(subject);
      return [
        this.mirror.auditTailOp(prefix),
        auditRangeOp(prefix, { count_only: true }),
        auditRangeOp(prefix, { keys_only: true, sort_order: 'Ascend', sort_target: 'Key', limit: 4 }),
      ];
    };
    const since = this.mirror.mark();
    const res = await this.gateway.call(
      'read config',
      (options) =>
        this.gateway.client.kv.txn(
          { compare: [], success: [rangeOp(k.config), rangeOp(k.strategies), ...AUDIT_SUBJECTS.flatMap(tailOps)] },
          options,
        ),
      deadline,
    );
    const [config, strategies, ...tailResponses] = res.responses;
    const configKv = kvsOf(config)[0] ?? null;
    const strategiesKv = kvsOf(strategies)[0] ?? null;
    const seen: MirrorChange[] = [];
    const tails = {} as Record<AuditSubject, AuditTail>;
    const missed: AuditSubject[] = [];
    const newest = {} as Record<AuditSubject, KeyValue | undefined>;
    AUDIT_SUBJECTS.forEach((subject, i) => {
      const [last, count, oldest] = tailResponses.slice(i * 3, i * 3 + 3);
      const lastKv = kvsOf(last).at(-1);
      if (lastKv) seen.push({ type: 'put', kv: lastKv });
      newest[subject] = lastKv;
      tails[subject] = {
        last: lastKv ? parseAuditEntry(lastKv.value) : null,
        count: Number(count?.response_range?.count ?? 0),
        oldest: kvsOf(oldest).map((kv) => kv.key),
      };
      // Entries there, none from the newest key known: that key was deleted (by hand). Read it sorted.
      if (!lastKv && tails[subject].count > 0) missed.push(subject);
    });
    for (const subject of missed) {
      const sorted = await this.gateway.call(
        'read audit',
        (options) => this.gateway.client.kv.txn({ compare: [], success: [lastUnderOp(k.auditPrefix(subject))] }, options),
        deadline,
      );
      const lastKv = kvsOf(sorted.responses[0]).at(-1);
      if (lastKv) seen.push({ type: 'put', kv: lastKv });
      newest[subject] = lastKv;
      tails[subject] = { ...tails[subject], last: lastKv ? parseAuditEntry(lastKv.value) : null };
    }
    // A bad value at the newest key read as "no entry" (or another version's): every write then
    // compared absent() on a key that exists, failed, and was retried for the whole 2 s, unsaid.
    let brokenTrail: ConfigFileError | null = null;
    for (const subject of AUDIT_SUBJECTS) {
      const kv = newest[subject];
      if (kv) brokenTrail ??= this.brokenTail(subject, kv, tails[subject].last);
    }
    if (strategiesKv) seen.push({ type: 'put', kv: strategiesKv });
    if (configKv) seen.push({ type: 'put', kv: configKv });
    const revision = Number(res.header.revision);
    // A large value is parsed in the worker first, never on the event loop (once per digest: judged
    // from the store's cache after that).
    await this.texts.prepare([configKv?.value ?? null, strategiesKv?.value ?? null]);
    // Etcd gone back (wiped, restored): the mirror reads everything again first, so what is in force is its state now.
    await this.mirror.applyRead(revision, seen, since);
    await this.texts.settled();
    const pair = this.judge(configKv?.value ?? null, strategiesKv?.value ?? null, tails.PRESETS.last);
    return {
      revision,
      configKv,
      stored: pair.config,
      strategiesKv,
      presets: pair.presets,
      strategies: pair.strategies,
      strategiesModRevision: strategiesKv?.modRevision ?? 0,
      last: tails.CONFIG.last,
      lastPresets: tails.PRESETS.last,
      tails,
      brokenTrail,
    };
  }

  /**
   * Puts `entries` (each under its subject) and the texts given if neither `config` nor `strategies`
   * changed since `base` was read and no entry's key exists yet, trimming each subject's trail to
   * `keep` in the same transaction. Every write compares both keys: a config names at least its
   * active strategy, and a preset change is judged against the config. The revision it committed
   * at, or null.
   */
  async write(
    base: WriteBase,
    entries: readonly AuditEntry[],
    texts: WriteTexts,
    deadline: number,
    requestIds?: ReadonlyMap<AuditEntry, string>,
  ): Promise<number | null> {
    if (base.brokenTrail) throw new ConfigFileInvalidError(base.brokenTrail);
    const k = this.keys;
    const configText = texts.config ?? null;
    const presetsText = texts.presets ?? null;
    // Not into a prefix `stratctl store migrate` moved the deployment out of: a replica running
    // through the move (its lease had run out, so migrate did not count it) wrote changes the new
    // deployment never saw, each answered as done.
    const compare = [modIs(k.config, base.configKv?.modRevision ?? 0), modIs(k.strategies, base.strategiesModRevision), absent(k.moved)];
    const success: IRequestOp[] = [];
    if (configText !== null) success.push(put(k.config, configText));
    if (presetsText !== null) success.push(put(k.strategies, presetsText));
    for (const entry of entries) {
      compare.push(absent(k.audit(entry.subject, entry.version)));
      success.push(put(k.audit(entry.subject, entry.version), JSON.stringify(entry)));
    }
    for (const subject of AUDIT_SUBJECTS) {
      const added = entries.filter((e) => e.subject === subject).length;
      if (added > 0) success.push(...(await this.retention(subject, base.tails[subject], added, deadline)));
    }
    const own = configText === null && presetsText === null ? [] : entries;
    for (const entry of own) this.ownInFlight.set(entryId(entry), requestIds?.get(entry));
    try {
      let res: Awaited<ReturnType<EtcdGateway['client']['kv']['txn']>>;
      try {
        res = await this.gateway.call(
          'commit',
          (options) => this.gateway.client.kv.txn({ compare, success, failure: [rangeOp(k.moved)] }, options),
          deadline,
        );
      } catch (err) {
        // Sent, then no answer: it may have been applied (a hung member applies it when it wakes).
        if (err instanceof StoreUnavailableError && err.answerLost) {
          // If it lands, the watch brings it as this process's own (not "through another replica").
          for (const entry of own) this.ownUnanswered.set(entryId(entry), requestIds?.get(entry));
          for (const id of this.ownUnanswered.keys()) {
            if (this.ownUnanswered.size <= OWN_UNANSWERED_KEPT) break;
            this.ownUnanswered.delete(id);
          }
          throw new CommitUncertainError(err);
        }
        throw err;
      }
      if (!res.succeeded) {
        const moved = kvsOf(res.responses[0])[0];
        if (moved) throw new ConfigFileInvalidError(movedOutError(this.gateway.location, k.moved, moved.value));
        return null;
      }
      const revision = Number(res.header.revision);
      const changes: MirrorChange[] = entries.map((entry) => ({
        type: 'put',
        kv: { key: k.audit(entry.subject, entry.version), value: JSON.stringify(entry), modRevision: revision },
      }));
      if (presetsText !== null) changes.push({ type: 'put', kv: { key: k.strategies, value: presetsText, modRevision: revision } });
      if (configText !== null) changes.push({ type: 'put', kv: { key: k.config, value: configText, modRevision: revision } });
      this.mirror.applyLocal(revision, changes);
      return revision;
    } finally {
      for (const entry of own) this.ownInFlight.delete(entryId(entry));
    }
  }

  /**
   * The delete that keeps `keep` entries of `subject` once `added` more are put (none when under the
   * limit), at most TRIM_SLICE more than it adds. A trail far over `keep` (a replica started with a
   * smaller --audit-keep than the others, a prefix migrated with a larger one) is trimmed over
   * several changes, and said: deleting 40,000 keys in one transaction ran past the call's 2 s
   * (concurrent writes answered 503) and broke the watch of every replica on the cluster, and one
   * replica with --audit-keep 5 cut everyone's history to 5 at its first write, without a word.
   */
  private async retention(subject: AuditSubject, tail: AuditTail, added: number, deadline: number): Promise<IRequestOp[]> {
    const auditPrefix = this.keys.auditPrefix(subject);
    const over = tail.count + added - this.keep;
    const excess = Math.min(tail.count, over, added + TRIM_SLICE);
    if (excess <= 0) return [];
    if (over > added && !this.overKeepSaid.has(subject)) {
      this.overKeepSaid.add(subject);
      this.warn?.(
        `etcd store: the ${subject} audit trail on ${this.gateway.location} holds ${tail.count} entries, and this process keeps ${this.keep} (--audit-keep): the oldest are deleted, at most ${TRIM_SLICE} with each change, and what is deleted is gone. Give every replica the same --audit-keep (a larger one keeps what is left)`,
        { subject, entries: tail.count, keep: this.keep },
      );
    }
    let oldest = tail.oldest;
    if (oldest.length < excess) {
      const more = await this.gateway.call(
        'read audit',
        (options) =>
          this.gateway.client.kv.range(
            {
              key: Buffer.from(`${auditPrefix}0`),
              range_end: Buffer.from(`${auditPrefix}:`),
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
    if (lastDeleted === undefined) return [];
    return [{ request_delete_range: { key: Buffer.from(`${auditPrefix}0`), range_end: Buffer.from(`${lastDeleted}\0`) } }];
  }
}
