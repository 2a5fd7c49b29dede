import type { ICompare, IRequestOp } from 'etcd3';
import { type AuditEntry, type AuditSubject, mergeNewestFirst, parseAuditEntry } from '../config/audit-entry.js';
import { digestOf } from '../config/digest.js';
import { ConfigFileError, ConfigFileInvalidError, StoreOutcomeUnknownError } from '../config/errors.js';
import type { PresetsNotInForce } from '../config/file-read.js';
import type { PresetsContent } from '../config/presets-file.js';
import { NO_PRESETS_DIGEST, presetsInForce } from '../config/presets-judge.js';
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
  PresetsSnapshot,
  StoreEvent,
  StoreInfo,
  StoreState,
} from '../config/store.js';
import { STAND_IN_DIGEST, StoreAnswers } from '../config/store.js';
import { parsedOffThread, parseOffThread, renderNewConfigFile } from '../config/yaml-document.js';
import { Mutex } from '../fs/mutex.js';
import { DEFAULT_PARSE_DEADLINE_MS, MAX_RUNTIME_FILE_BYTES } from '../limit-defaults.js';
import { Listeners } from '../listeners.js';
import type { Say } from '../log.js';
import { type PresetDefinition, type StrategyRegistry, samePresets, strategySetOf } from '../registry/index.js';
import { runnerHealth, runnerStateSchema } from '../runner/state.js';
import { sharedYamlParser, type YamlParser } from '../yaml/off-thread.js';
import { baseState, type GroupContext, judgeGroup, type QueuedCommit } from './config-group.js';
import { CommitUncertainError, ConfigIo, commitLanded, entryId } from './config-io.js';
import {
  configGoneBackError,
  configLostWhileRunningError,
  defaultSnapshot,
  effectiveSnapshot,
  handEditEntry,
  missingConfigAtStartError,
  missingConfigError,
  parseStored,
  presetsGoneBackError,
  snapshotOfEntry,
  unnumberedHandEdit,
} from './config-judge.js';
import type { EtcdGateway } from './gateway.js';
import type { EtcdKeys } from './keys.js';
import {
  auditRangeOp,
  type EtcdMirror,
  type KeyValue,
  kvsOf,
  lastUnderOp,
  type MirrorBatch,
  type MirrorChange,
  prefixRangeOp,
  rangeOp,
} from './mirror.js';
import { PresetsJudge, presetsSnapshotOf, presetsUnaudited, type StoredPair } from './presets-judge.js';
import { movedOutError } from './url.js';

export const DEFAULT_AUDIT_KEEP = 10_000;
/** Changes written in one transaction at most (etcd allows 128 operations and 128 compares). */
const MAX_GROUP = 50;

export interface EtcdConfigStoreOptions {
  /** The static strategies; the presets under the `strategies` key are added to them. */
  readonly registry: StrategyRegistry;
  /** Audit entries kept per subject (`--audit-keep`); older ones go in the transaction that adds one. */
  readonly auditKeep?: number;
  readonly now?: () => Date;
  readonly warn?: Say;
  /** A stored `config` or `strategies` value larger than this is refused as invalid, unparsed (`--max-runtime-file-bytes`). */
  readonly maxTextBytes?: number;
  /** One parse of a stored value in the parse worker, at most (`--parse-deadline-ms`); past it the value is invalid. */
  readonly parseDeadlineMs?: number;
  /** The parse worker (tests give their own). */
  readonly yaml?: YamlParser;
  /** Tests: told each time a stored text is parsed and judged (not found among the judgements kept by digest). */
  readonly onParse?: (location: string) => void;
  /** This process's own runner id, if it runs one: its key (from a life before a restart) is not another runner. */
  readonly selfRunnerId?: string;
}

/**
 * Stored values up to this size are parsed in this thread when they come (about a millisecond for
 * a real config); a larger one is parsed in the parse worker first, within its deadline, so no
 * value under the size limit holds the event loop (a 470 KB one took 1.1 s in this thread).
 */
const INLINE_PARSE_BYTES = 16 * 1024;

/** The presets saved at `strategiesKept` while a put of `strategies` was kept out, parsed. */
interface KeptSet {
  readonly text: string;
  readonly digest: string;
  readonly content: PresetsContent;
}

/**
 * The ConfigStore on etcd. State comes from the mirror (one watch per process): the `strategies`
 * key (presets) judged first, the `config` key against the strategies they leave in force, as the
 * file store judges its two files. Commits of either subject queue and are written in groups: one
 * read, each change judged against the state the ones before it left, then one transaction that
 * compares the revisions of `config` and `strategies` as the read saw them and puts what changed
 * with every change's audit entry. A failed compare means another replica got there first: read
 * again and judge the group against what is in force now. So no writer on any replica loses an
 * update, and a version exists exactly when its audit entry does.
 */
export class EtcdConfigStore implements ConfigStore {
  private readonly mutex = new Mutex();
  private readonly listeners = new Listeners<StoreEvent>();
  private readonly io: ConfigIo;
  private readonly location: string;
  /** The prefix's `moved` mark, as the refusal it makes (see takeMovedMark); null while there is none. */
  private movedOut: ConfigFileError | null = null;
  private readonly now: () => Date;
  private snapshot: ConfigSnapshot;
  private last: AuditEntry | null = null;
  private invalid: { digest: string; error: ConfigFileError } | null = null;
  /** The preset set in force ("unjudged" until the mirror's first read is judged, even when the key is absent). */
  private presets: PresetsSnapshot = { version: 0, digest: 'unjudged', presets: [] };
  /** The strategies in force: the static ones, then the presets; replaced only when the set changes. */
  private strategies: StrategyRegistry;
  private lastPresets: AuditEntry | null = null;
  /** The stored presets that are not in force: invalid, or kept out (content that would break the config). */
  private presetsInvalid: PresetsNotInForce | null = null;
  /** The text of the presets in force (null: none stored), what `strategiesKept` holds while a put is kept out. */
  private presetsText: string | null = null;
  /**
   * Etcd went back (wiped) and took the `strategies` key with it while a set was in force: why that
   * absence is not taken for "no presets" (presetsGoneBackError), until the key is put again.
   */
  private presetsGoneBack: ConfigFileError | null = null;
  /** Sets recently in force, by digest: what a hand edit's audit entry compares against. */
  private readonly presetsByDigest = new Map<string, readonly PresetDefinition[]>();
  /**
   * Sets put in force by hand since the trail's newest entry, each with the version this process
   * announced it as, oldest first (the last is the set in force). A second put that comes before the
   * first is audited is numbered above it, and the audit writes an entry for each: otherwise both
   * were announced as last + 1 and the trail recorded only the second under that number.
   */
  private unauditedPresets: PresetsSnapshot[] = [];
  /**
   * The digest of the set this process found at its first read. Only that set can be a baseline at
   * start(): one put after it was a put this process saw come (and that a running replica audits
   * as a hand edit, racing this start), not the presets as found when the trail began.
   */
  private presetsFound: string | null = null;
  private readonly presetsJudge: PresetsJudge;
  private started = false;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly queue: QueuedCommit[] = [];
  private draining = false;
  private handEditQueued = false;
  private closed = false;
  /** Batches waiting for a value of theirs to be parsed in the parse worker, in order (null: none waiting). */
  private waiting: MirrorBatch[] | null = null;
  private drained: Promise<void> = Promise.resolve();
  private readonly yaml: YamlParser;

  constructor(
    private readonly gateway: EtcdGateway,
    private readonly mirror: EtcdMirror,
    private readonly keys: EtcdKeys,
    private readonly options: EtcdConfigStoreOptions,
  ) {
    this.location = keys.config;
    this.now = options.now ?? (() => new Date());
    this.strategies = options.registry;
    this.yaml = options.yaml ?? sharedYamlParser();
    this.presetsJudge = new PresetsJudge(options.registry, keys.strategies, keys.config, {
      maxBytes: options.maxTextBytes ?? MAX_RUNTIME_FILE_BYTES,
      onParse: options.onParse,
    });
    const judge = (configText: string | null, presetsText: string | null, lastPresets: AuditEntry | null) =>
      this.storedPair(configText, presetsText, this.state(), lastPresets);
    this.io = new ConfigIo(
      gateway,
      mirror,
      keys,
      judge,
      Math.max(1, options.auditKeep ?? DEFAULT_AUDIT_KEEP),
      { prepare: (texts) => this.prepare(texts), settled: () => this.settled() },
      options.warn,
    );
    this.snapshot = defaultSnapshot(this.now());
    this.unsubscribe.push(mirror.onBatch((batch) => this.takeBatch(batch)));
    this.unsubscribe.push(
      gateway.onConnection((connected, failure) =>
        this.emit({
          type: 'connection',
          connected,
          ...(failure && {
            failure: {
              detail: failure.detail,
              accessRefused: failure.accessRefused,
              ...(gateway.certificateExpired() && {
                certificateExpired: gateway.certificateExpired() as string,
                certificateExpiredPublic: gateway.certificateExpiredPublic() as string,
              }),
            },
          }),
        }),
      ),
    );
  }

  /**
   * After the mirror's first read: the presets judged even when their key is absent (a set deleted
   * while no replica ran is still a change); with no config key, the last audited config (or the
   * defaults) is in force.
   */
  settle(): void {
    // The kept set is one this process knows (`presetsSeen`): a put kept out before the restart that
    // goes in now is audited with what it changed from it, not "what changed is not known".
    const kept = this.keptRecorded();
    if (kept) this.presetsByDigest.set(kept.digest, kept.content.presets);
    if (this.presets.digest === 'unjudged') this.judgePresets('resync');
    // Stored presets that are not valid when this process starts: none of theirs is in force (nothing stored is).
    if (this.presets.digest === 'unjudged')
      this.presets = { version: this.lastPresets?.version ?? 0, digest: STAND_IN_DIGEST, presets: [] };
    if (!this.mirror.get(this.keys.config) && this.last) {
      this.snapshot = snapshotOfEntry(this.last);
      this.invalid = { digest: 'missing', error: missingConfigAtStartError(this.location) };
    }
    if (kept) this.takeKeptPresets(kept);
    // Invalid when this process starts (a runner: an API refuses to start on it): the last audited
    // config is the last good one, not the defaults, which nobody activated.
    if (this.invalid && this.last && this.snapshot.digest === STAND_IN_DIGEST) this.snapshot = snapshotOfEntry(this.last);
  }

  /**
   * After settle(), once: an empty prefix (no config key, no trail) that API replicas or runners run
   * on is not a new deployment but one whose config etcd lost (wiped): this process waits for the
   * config (a runner) or refuses to start (an API: startProblem), and start() writes no defaults.
   * Every process writes the config in its start before it registers, so on a new prefix there is
   * nobody yet.
   */
  async settleEmpty(): Promise<void> {
    if (this.mirror.get(this.keys.config) || this.last) return;
    // One read of all of it: the mirror's first read came earlier, and a process starting beside this
    // one on a new prefix may have written the config and registered since (both would be seen here).
    const k = this.keys;
    const read = await this.gateway.call('read replicas', (options) =>
      this.gateway.client.kv.txn(
        {
          compare: [],
          success: [
            rangeOp(k.config, { keys_only: true }),
            lastUnderOp(k.auditPrefix('CONFIG')),
            prefixRangeOp(k.replicasPrefix, { keys_only: true }),
            prefixRangeOp(k.runnersPrefix),
          ],
        },
        options,
      ),
    );
    const [config, trail, replicas, runners] = read.responses.map(kvsOf);
    if ((config?.length ?? 0) > 0 || (trail?.length ?? 0) > 0) return;
    // Runners judged as the fleet judges them: one STOPPED, or STALE (killed: its key lives out its
    // lease), keeps nothing in force; nor does this process's own key from before a restart. Counted,
    // they refused a start the refusal's own advice ("stop it first") had made safe, or left a
    // restarted runner waiting for itself for ever.
    const now = this.now().getTime();
    const live = (runners ?? []).flatMap((kv) => {
      const id = kv.key.slice(k.runnersPrefix.length);
      if (id === this.options.selfRunnerId) return [];
      let parsed: ReturnType<typeof runnerStateSchema.safeParse> | undefined;
      try {
        parsed = runnerStateSchema.safeParse(JSON.parse(kv.value));
      } catch {
        parsed = undefined;
      }
      return parsed?.success && !parsed.data.stopped && runnerHealth(parsed.data, now) !== 'STALE' ? [id] : [];
    });
    const running = {
      replicas: (replicas ?? []).map((kv) => kv.key.slice(k.replicasPrefix.length)),
      runners: live,
    };
    if (running.replicas.length + running.runners.length === 0) return;
    this.invalid = { digest: 'missing', error: configLostWhileRunningError(this.location, running) };
  }

  /** `strategiesKept` (saveKeptPresets), parsed, when it holds the set the trail recorded last; null otherwise. */
  private keptRecorded(): KeptSet | null {
    const kept = this.mirror.get(this.keys.strategiesKept);
    if (!kept || !this.lastPresets) return null;
    const digest = digestOf(kept.value);
    if (this.lastPresets.digest !== digest) return null;
    const content = this.presetsJudge.presetsContent(kept.value, digest, this.keys.strategiesKept);
    return content instanceof Error ? null : { text: kept.value, digest, content };
  }

  /**
   * At start, with the stored config invalid (or gone) beside the stored presets: the kept set, the
   * one the trail recorded last, goes in force and the stored set stays kept out, as it was before
   * the restart: without it every replica refused to start and a runner never scanned.
   */
  private takeKeptPresets({ text, digest, content }: KeptSet): void {
    if (!this.invalid || !this.lastPresets || digest === this.presets.digest) return;
    const config = this.mirror.get(this.keys.config);
    const strategies = strategySetOf(this.options.registry, content.presets);
    // With the config invalid for another reason too, or gone, the kept set is still the one the
    // replicas running hold in force: taken only when the config was valid with it, a runner started
    // then ran the stored set, which they keep out (every strategy of the config missing from it).
    this.presets = presetsInForce(content, digest, this.lastPresets, this.lastPresets.version);
    // The stored set the first judgement announced never went in force: nothing of it is owed. Left,
    // it was owed again when the put went in (two puts of one audit key in one transaction: every
    // change refused, 500, until a restart).
    this.unauditedPresets = [];
    this.strategies = strategies;
    this.presetsText = text;
    // The config first (valid with the kept set, or still invalid), then the stored presets judged beside it: kept out.
    if (config) this.judge(config, 'resync', []);
    this.judgePresets('resync');
    this.options.warn?.(
      `${this.keys.strategies} is kept out (it would leave the config invalid); the presets kept in ${this.keys.strategiesKept} stay in force until the config stops using what it removes`,
      { subject: 'presets', key: this.keys.strategies, keptKey: this.keys.strategiesKept, keptVersion: this.presets.version },
    );
  }

  /**
   * While the stored `strategies` are kept out, the set in force is saved to `strategiesKept` (an
   * API replica: the process that audits), so a restart keeps it in force (takeKeptPresets). Each
   * write compares the `strategies` key's revision with the one judged: a replica behind never
   * writes over what a newer judgement decided. A failure is a warning; the running state stands.
   */
  private saveKeptPresets(): void {
    if (!this.started || this.closed || this.presetsText === null || this.presets.digest === STAND_IN_DIGEST) return;
    if (this.mirror.get(this.keys.strategiesKept)?.value === this.presetsText) return;
    this.writeKept([{ request_put: { key: Buffer.from(this.keys.strategiesKept), value: Buffer.from(this.presetsText) } }], 'save');
  }

  /** The stored `strategies` are in force again: the kept copy goes. */
  private dropKeptPresets(): void {
    if (!this.started || this.closed || !this.mirror.get(this.keys.strategiesKept)) return;
    this.writeKept([{ request_delete_range: { key: Buffer.from(this.keys.strategiesKept) } }], 'remove');
  }

  private writeKept(success: IRequestOp[], what: 'save' | 'remove'): void {
    const judged = this.mirror.get(this.keys.strategies)?.modRevision ?? 0;
    const compare: ICompare[] = [{ key: Buffer.from(this.keys.strategies), target: 'Mod', result: 'Equal', mod_revision: judged }];
    void this.gateway
      .call(`${what} the kept presets`, (options) => this.gateway.client.kv.txn({ compare, success }, options))
      .catch((err: unknown) =>
        this.options.warn?.(
          `etcd store: could not ${what} the presets in force at ${this.keys.strategiesKept} (a restart ${what === 'save' ? 'would not keep them' : 'keeps them until it is removed'}): ${(err as Error).message}`,
        ),
      );
  }

  private readonly answers = new StoreAnswers();

  info(): StoreInfo {
    return this.answers.info('ETCD', this.gateway.location, this.gateway.connected, this.gateway.lastContactAt);
  }

  state(): StoreState {
    return this.answers.state(this.snapshot, this.strategies, this.presets);
  }

  strategiesProblem(): ConfigFileError | null {
    return this.presetsInvalid?.error ?? null;
  }

  problem(): ConfigFileError | null {
    return this.movedOut ?? this.invalid?.error ?? null;
  }

  /**
   * What an API replica refuses to start on: an invalid config, or stored presets that are invalid.
   * Not a put kept out beside the kept set in force (takeKeptPresets): the replica runs that set and
   * reports the put, as the file store opens with strategies.yaml kept out (README, Presets).
   */
  startProblem(): ConfigFileError | null {
    if (this.invalid) return this.invalid.error;
    return this.presetsInvalid && !this.presetsInvalid.content ? this.presetsInvalid.error : null;
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    return this.listeners.add(listener);
  }

  private emit(event: StoreEvent): void {
    this.listeners.emit(event);
  }

  /**
   * A batch from the mirror: judged now, or, when it brings a large value not parsed yet (or batches
   * before it wait), once the parse worker has parsed it. Batches are judged in the order they came.
   */
  private takeBatch(batch: MirrorBatch): void {
    if (this.waiting) {
      this.waiting.push(batch);
      return;
    }
    const unparsed = this.unparsed(batch);
    if (unparsed.length === 0) {
      this.onBatch(batch);
      return;
    }
    this.waiting = [batch];
    this.drained = this.judgeWaiting(unparsed);
  }

  private async judgeWaiting(first: string[]): Promise<void> {
    let unparsed = first;
    while (this.waiting && this.waiting.length > 0 && !this.closed) {
      if (unparsed.length > 0) await this.parseInWorker(unparsed);
      const batch = this.waiting.shift() as MirrorBatch;
      try {
        this.onBatch(batch);
      } catch (err) {
        this.options.warn?.(`etcd store: judging revision ${batch.revision} failed: ${(err as Error).message}`, {
          revision: batch.revision,
          reason: (err as Error).message,
        });
      }
      unparsed = this.waiting[0] ? this.unparsed(this.waiting[0]) : [];
    }
    this.waiting = null;
  }

  /** The large values a batch brings of the keys judged (config, strategies, the kept copy) that the parse worker has not parsed. */
  private unparsed(batch: MirrorBatch): string[] {
    const judged = [this.keys.config, this.keys.strategies, this.keys.strategiesKept];
    return batch.changes.flatMap((c) => (c.type === 'put' && judged.includes(c.kv.key) ? this.needsWorker(c.kv.value) : []));
  }

  private needsWorker(text: string | null | undefined): string[] {
    if (!text || text.length <= INLINE_PARSE_BYTES || text.length > (this.options.maxTextBytes ?? MAX_RUNTIME_FILE_BYTES)) return [];
    return parsedOffThread(text) ? [] : [text];
  }

  /** Parses texts in the worker, within the deadline; its result (or the deadline passed) is what the judgement then takes. */
  private async parseInWorker(texts: readonly string[]): Promise<void> {
    const deadlineMs = this.options.parseDeadlineMs ?? DEFAULT_PARSE_DEADLINE_MS;
    // A worker that failed (not a deadline): the text is parsed in this thread, as before.
    await Promise.all(texts.map((text) => parseOffThread(text, this.yaml, deadlineMs).catch(() => {})));
  }

  /**
   * Both stored texts judged against `inForce` (PresetsJudge.judgePair); no `strategies` key after
   * etcd went back is not in force: the set in force stays, reported, and is written again by the next change.
   */
  private storedPair(
    configText: string | null,
    presetsText: string | null,
    inForce: StoreState,
    lastPresets: AuditEntry | null,
  ): StoredPair {
    if (presetsText !== null || !this.presetsGoneBack) return this.presetsJudge.judgePair(configText, presetsText, inForce, lastPresets);
    return {
      presets: { ok: false, text: null, digest: NO_PRESETS_DIGEST, error: this.presetsGoneBack, goneBack: true },
      strategies: inForce.strategies,
      config: configText === null ? null : this.presetsJudge.storedConfig(inForce.strategies, configText),
    };
  }

  /** Before a read's texts are judged: the large ones parsed in the worker. */
  private prepare(texts: readonly (string | null)[]): Promise<void> {
    const unparsed = texts.flatMap((text) => this.needsWorker(text));
    return unparsed.length > 0 ? this.parseInWorker(unparsed) : Promise.resolve();
  }

  /** Once every batch taken so far is judged (one may be waiting for the parse worker). */
  async settled(): Promise<void> {
    while (this.waiting) await this.drained;
  }

  /** Every change the mirror takes in, in revision order: audit entries first, then the config they record. */
  private onBatch(batch: MirrorBatch): void {
    const auditPrefix = this.keys.auditPrefix('CONFIG');
    const presetsAuditPrefix = this.keys.auditPrefix('PRESETS');
    const fresh: AuditEntry[] = [];
    let config: MirrorChange | undefined;
    let presetsTouched = false;
    let keptTouched = false;
    let moved: MirrorChange | undefined;
    if (batch.wentBack) {
      // etcd went back: the trail it holds now is the only one (an entry above its newest is gone), and
      // the config and presets it holds are judged again against it, changed or not.
      this.last = null;
      this.lastPresets = null;
      this.unauditedPresets = [];
      presetsTouched = true;
      // A set in force whose key is gone with etcd's data (wiped: the config key gone too) stays in
      // force, as the last good config does. An older snapshot that holds a config of its own, from
      // before any preset, is that snapshot's state: no presets, as README says it goes in force.
      this.presetsGoneBack =
        this.presetsText !== null && !this.mirror.get(this.keys.strategies) && !this.mirror.get(this.keys.config)
          ? presetsGoneBackError(this.keys.strategies, batch.wentBack)
          : null;
      const kv = this.mirror.get(this.keys.config);
      if (kv) config = { type: 'put', kv };
    }
    for (const change of batch.changes) {
      const key = change.type === 'put' ? change.kv.key : change.key;
      if (change.type === 'put' && key.startsWith(auditPrefix)) {
        const entry = parseAuditEntry(change.kv.value);
        if (entry && (!this.last || entry.version > this.last.version)) fresh.push(entry);
      } else if (change.type === 'put' && key.startsWith(presetsAuditPrefix)) {
        const entry = parseAuditEntry(change.kv.value);
        if (entry && (!this.lastPresets || entry.version > this.lastPresets.version)) this.lastPresets = entry;
      } else if (key === this.keys.config) config = change;
      else if (key === this.keys.strategies) {
        presetsTouched = true;
        if (change.type === 'put') this.presetsGoneBack = null;
      } else if (key === this.keys.strategiesKept) keptTouched = true;
      else if (key === this.keys.moved) moved = change;
    }
    const lastPresetsBefore = this.lastPresets;
    fresh.sort((a, b) => a.version - b.version);
    if (fresh.length > 0) this.last = fresh.at(-1) ?? this.last;
    // Presets first: the config is judged against the strategies they leave in force. A kept-out set
    // is judged again when the config moves (it may no longer use what the set removes).
    const strategiesBefore = this.strategies;
    if (presetsTouched || (config && this.presetsInvalid?.content)) this.judgePresets(batch.origin);
    if (this.lastPresets !== lastPresetsBefore) this.takePresetsEntry(batch.origin);
    if (config?.type === 'put') this.judge(config.kv, batch.origin, fresh);
    else if (config?.type === 'delete')
      this.markInvalid('missing', batch.wentBack ? configGoneBackError(this.location, batch.wentBack) : missingConfigError(this.location));
    else if (this.strategies !== strategiesBefore && this.invalid && this.invalid.digest !== 'missing') {
      // A config that named a preset not yet in force may be valid with the new set.
      const kv = this.mirror.get(this.keys.config);
      if (kv) this.judge(kv, batch.origin, []);
    }
    // The kept copy removed or changed by another replica (one behind, or by hand) while a put is still kept out: saved again.
    if (keptTouched && this.presetsInvalid?.content) this.saveKeptPresets();
    if (moved) this.takeMovedMark(moved);
  }

  /**
   * The prefix's `moved` mark: `stratctl store migrate` moved the deployment out of it while this
   * process ran (paused past its lease, it was not counted). What is stored here is no longer the
   * deployment's: said as the config's problem (`/ready` 503, `status.configError`, a runner on it
   * ERROR), in the start refusal's words, until the mark goes (a move back in). Changes are refused
   * by the commit's compare (config-io.ts). Before, such a replica answered `/ready` 200 and served
   * the old config as current until restarted.
   */
  private takeMovedMark(change: MirrorChange): void {
    if (change.type === 'put') {
      this.movedOut = movedOutError(this.gateway.location, this.keys.moved, change.kv.value);
      this.emit({ type: 'invalid', error: this.movedOut });
    } else if (this.movedOut) {
      this.movedOut = null;
      this.emit(this.invalid ? { type: 'invalid', error: this.invalid.error } : { type: 'valid' });
    }
  }

  /**
   * Brings the preset set in force level with the stored `strategies` text (no key: no presets),
   * judged beside the stored config: valid sets go in force as they stand; an invalid or kept-out
   * one leaves the set in force and is reported. A set nobody audited (a direct put) is audited once.
   */
  private judgePresets(origin: MirrorBatch['origin']): void {
    // Before any config is in force here (a process starting: the stand-in defaults), a stored config
    // it cannot take (invalid, or gone) leaves the presets judged against the last audited config, as
    // the replicas running judge them against their last good one. Judged against the defaults, a put
    // they keep out went in at a runner's start, was audited there, and that runner scanned nothing.
    const state = this.state();
    const inForce = this.snapshot.digest === STAND_IN_DIGEST && this.last ? { ...state, config: snapshotOfEntry(this.last) } : state;
    const judged = this.storedPair(
      this.mirror.get(this.keys.config)?.value ?? null,
      this.mirror.get(this.keys.strategies)?.value ?? null,
      inForce,
      this.lastPresets,
    ).presets;
    if (!judged.ok) {
      const same = this.presetsInvalid?.digest === judged.digest && this.presetsInvalid.error.message === judged.error.message;
      this.presetsInvalid = { digest: judged.digest, error: judged.error, ...(judged.content && { content: judged.content }) };
      if (!same) this.emit({ type: 'presetsInvalid', error: judged.error });
      // Kept out (valid, but it would break the config): the set in force is saved, so a restart keeps it too.
      if (judged.content) this.saveKeptPresets();
      return;
    }
    const wasInvalid = this.presetsInvalid !== null;
    this.presetsInvalid = null;
    this.presetsText = judged.text;
    this.dropKeptPresets();
    if (wasInvalid) this.emit({ type: 'presetsValid' });
    if (judged.digest === this.presets.digest) return;
    const previous = this.presets;
    let current = presetsSnapshotOf(judged, this.lastPresets);
    if (previous.digest === 'unjudged') this.presetsFound = current.digest;
    const recorded = this.lastPresets?.digest === current.digest;
    // The set in force is itself a hand put not audited yet: a version it was announced as is not given again.
    if (!recorded && this.unauditedPresets.at(-1)?.digest === previous.digest && current.version <= previous.version)
      current = { ...current, version: previous.version + 1 };
    this.unauditedPresets = presetsUnaudited(current, this.lastPresets) ? [...this.unauditedPresets, current] : [];
    this.presets = current;
    // The same presets (a comment edited, say) keep the very strategies object: runners compare it by identity.
    if (!samePresets(previous.presets, current.presets)) this.strategies = judged.strategies;
    this.presetsByDigest.delete(current.digest);
    this.presetsByDigest.set(current.digest, current.presets);
    for (const digest of this.presetsByDigest.keys()) {
      if (this.presetsByDigest.size <= 8) break;
      this.presetsByDigest.delete(digest);
    }
    const entry = this.lastPresets?.digest === current.digest ? this.lastPresets : null;
    const origins = this.originOf(entry, origin);
    // The first judgement of a process is not a change anyone made: there is no previous set to compare.
    if (previous.digest !== 'unjudged') this.emit({ type: 'presetsChanged', previous, current, audit: entry, ...origins });
    if (!entry) this.queueHandEditAudit();
  }

  /**
   * A PRESETS entry came: the hand puts it audits are no longer owed, and the set in force takes the
   * version the trail gives it (another replica, which never saw a put before it, may have numbered
   * it otherwise and written its entry first).
   */
  private takePresetsEntry(origin: MirrorBatch['origin']): void {
    const entry = this.lastPresets;
    if (!entry) return;
    this.unauditedPresets = this.unauditedPresets.filter((s) => s.version > entry.version);
    if (entry.digest !== this.presets.digest || entry.version === this.presets.version) return;
    const previous = this.presets;
    this.presets = { ...previous, version: entry.version };
    this.unauditedPresets = [];
    this.emit({ type: 'presetsChanged', previous, current: this.presets, audit: entry, ...this.originOf(entry, origin) });
  }

  /**
   * Where a change with `entry` came from: a commit of this process (with the id of the request that
   * asked for it, for the process log), another replica's, or a hand edit (no entry, or its own).
   */
  private originOf(
    entry: AuditEntry | null,
    origin: MirrorBatch['origin'],
  ): { source: 'commit' | 'handEdit' | 'replica'; requestId?: string } {
    if (entry === null) return { source: 'handEdit' };
    const id = entryId(entry);
    // Asked first: isOwn forgets an entry whose answer was lost once it is seen.
    const requestId = this.io.requestIdOf(id);
    const own = origin === 'local' || this.io.isOwn(id);
    if (entry.operation === 'handEdit') return { source: 'handEdit' };
    if (!own) return { source: 'replica' };
    return requestId === undefined ? { source: 'commit' } : { source: 'commit', requestId };
  }

  /** Brings the state level with a stored config text, and says what happened: one event per version. */
  private judge(kv: KeyValue, origin: MirrorBatch['origin'], fresh: readonly AuditEntry[]): void {
    const stored = this.presetsJudge.storedConfig(this.strategies, kv.value);
    if (!stored.ok) {
      this.markInvalid(stored.digest, stored.error);
      return;
    }
    const unnumbered = unnumberedHandEdit(stored, this.last, this.location);
    if (unnumbered) {
      this.markInvalid(stored.digest, unnumbered);
      return;
    }
    const wasInvalid = this.invalid !== null;
    this.invalid = null;
    const { snapshot, audited } = effectiveSnapshot(stored, this.last);
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
      this.emit({ type: 'changed', previous, current: step.current, audit: entry, ...this.originOf(entry, origin) });
    }
    // Told once the valid config is in force (not before: a listener that acts on "valid" would see
    // the state it had while invalid, the stand-in defaults at worst, which a runner then applied).
    if (wasInvalid && !this.movedOut) this.emit({ type: 'valid' });
    if (!audited) this.queueHandEditAudit();
  }

  private markInvalid(digest: string, error: ConfigFileError): void {
    if (this.invalid?.digest === digest) return;
    this.invalid = { digest, error };
    this.emit({ type: 'invalid', error });
  }

  /**
   * A valid hand edit (of `config` or `strategies`) is audited once: every replica tries, the
   * transaction lets exactly one through. Not before start(), which audits what it finds.
   */
  private queueHandEditAudit(): void {
    if (this.handEditQueued || this.closed || !this.started) return;
    this.handEditQueued = true;
    void this.mutex
      .run(async () => {
        this.handEditQueued = false;
        const deadline = this.gateway.deadline();
        const base = await this.io.readBase(deadline);
        const { pending } = baseState(base, this.groupContext());
        if (pending.length > 0) await this.io.write(base, pending, {}, deadline);
      })
      .catch((err) => {
        this.handEditQueued = false;
        this.options.warn?.(`etcd store: could not audit a hand edit of ${this.location} yet: ${(err as Error).message}`, {
          store: this.location,
          reason: (err as Error).message,
        });
      });
  }

  commit(change: ConfigChange, options?: CommitOptions): Promise<CommitResult>;
  commit(change: PresetsChange, options?: CommitOptions): Promise<PresetsCommitResult>;
  commit(change: Change, options?: CommitOptions): Promise<CommitResult | PresetsCommitResult>;
  commit(change: Change, options: CommitOptions = {}): Promise<CommitResult | PresetsCommitResult> {
    if (this.closed) return Promise.reject(new Error('config store is closed'));
    const deadline = this.gateway.deadline();
    return new Promise<CommitResult | PresetsCommitResult>((resolve, reject) => {
      this.queue.push({ change, options, deadline, resolve, reject });
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
    /** What the last failed transaction compared: failing again on the very same keys, nothing raced it. */
    let failedOn: string | null = null;
    for (;;) {
      const expired = group.filter((q) => Date.now() >= q.deadline);
      for (const q of expired) {
        q.reject(this.gateway.unavailable('commit', new Error('no commit within the deadline')));
      }
      group = group.filter((q) => !expired.includes(q));
      if (group.length === 0) return;
      const deadline = Math.min(...group.map((q) => q.deadline));
      try {
        const base = await this.io.readBase(deadline);
        const lastWritten = attempt?.entries.at(-1);
        // A retried transaction that had in fact landed is ours, not a conflict.
        const lastStored = lastWritten && base.tails[lastWritten.subject].last;
        if (attempt && lastWritten && lastStored && entryId(lastStored) === entryId(lastWritten)) return attempt.settle();
        attempt = judgeGroup(base, group, this.groupContext());
        if (attempt.configText === null && attempt.presetsText === null) return attempt.settle();
        const texts = { config: attempt.configText, presets: attempt.presetsText };
        if ((await this.io.write(base, attempt.entries, texts, deadline, attempt.requestIds)) !== null) return attempt.settle();
        // Another replica got there first: the next read sees its change. The same revisions and the
        // same entry keys twice is no race: an entry key exists that the trail's newest does not
        // account for. Said at once (409), not retried against etcd until the deadline (503).
        const compared = `${base.configKv?.modRevision ?? 0}|${base.strategiesModRevision}|${attempt.entries.map((e) => this.keys.audit(e.subject, e.version)).join(',')}`;
        if (compared === failedOn) throw this.entryKeyTaken(attempt.entries);
        failedOn = compared;
      } catch (err) {
        if (err instanceof CommitUncertainError && attempt) {
          // Its answer never came: never "refused, nothing was changed" unless it is known. A hung
          // member answered nothing for the 2 s, then applied the change when it woke (stop 33).
          const outcome = await commitLanded(this.gateway, this.keys, attempt.entries.at(-1)!);
          if (outcome === 'landed') return attempt.settle();
          const failure = new StoreOutcomeUnknownError(err.unavailable);
          for (const q of group) q.reject(failure);
          return;
        }
        for (const q of group) q.reject(err);
        return;
      }
    }
  }

  /** A commit whose audit keys are taken though nothing else changed (see commitGroup). */
  private entryKeyTaken(entries: readonly AuditEntry[]): ConfigFileInvalidError {
    const names = entries.map((e) => this.keys.audit(e.subject, e.version).slice(this.keys.prefix.length));
    const error = new ConfigFileError(this.keys.audit(entries[0]?.subject ?? 'CONFIG', entries[0]?.version ?? 0), [
      {
        message: `the audit key ${names.join(' or ')} is already there, though the trail's newest entry is older: changes are refused, so that no entry is written over. Move that key's value where it belongs, or delete it`,
      },
    ]);
    this.options.warn?.(`etcd store: ${error.problems[0]?.message}`, { keys: names });
    return new ConfigFileInvalidError(error);
  }

  async audit(query: AuditQuery): Promise<readonly AuditEntry[]> {
    if (query.last <= 0) return [];
    const subjects: AuditSubject[] = query.subject ? [query.subject] : ['CONFIG', 'PRESETS'];
    const sorted = (s: AuditSubject) =>
      auditRangeOp(this.keys.auditPrefix(s), { sort_order: 'Descend', sort_target: 'Key', limit: query.last });
    // From the `last`-th version below the newest this process has seen, unsorted: a sorted range
    // reads every entry of the trail (up to --audit-keep) to return `last` of them.
    const from = (s: AuditSubject) => {
      const newest = this.mirror.newestAuditVersion(this.keys.auditPrefix(s));
      return newest === undefined || newest - query.last < 1 ? null : newest - query.last + 1;
    };
    const read = (ops: IRequestOp[]) =>
      this.gateway.call('read audit', (options) => this.gateway.client.kv.txn({ compare: [], success: ops }, options));
    const starts = subjects.map(from);
    const res = await read(
      subjects.map((s, i) => {
        const start = starts[i];
        return start == null ? sorted(s) : rangeOp(this.keys.audit(s, start), { range_end: Buffer.from(`${this.keys.auditPrefix(s)}:`) });
      }),
    );
    const kvs = res.responses.map(kvsOf);
    // Fewer than `last` from a start (versions skipped: a hand edit that set its own): the sorted read after all.
    const short = subjects.filter((_, i) => starts[i] != null && (kvs[i]?.length ?? 0) < query.last);
    if (short.length > 0) {
      const again = await read(short.map(sorted));
      short.forEach((s, j) => {
        kvs[subjects.indexOf(s)] = kvsOf(again.responses[j]);
      });
    }
    // Each subject newest version first; both: merged by time, each subject's order kept (mergeNewestFirst).
    const [first = [], second = []] = kvs.map((list) =>
      list
        .flatMap((kv) => parseAuditEntry(kv.value) ?? [])
        .sort((a, b) => b.version - a.version)
        .slice(0, query.last),
    );
    return (subjects.length > 1 ? mergeNewestFirst(first, second) : first).slice(0, query.last);
  }

  /** Level-triggered: brings the state in force level with what is stored now (one read; the watch stays). */
  async refresh(): Promise<void> {
    await this.mirror.check();
    await this.settled();
  }

  /** What a group is judged with: the static strategies, the keys, and what this process has in force. */
  private groupContext(): GroupContext {
    return {
      registry: this.options.registry,
      location: this.location,
      presetsLocation: this.keys.strategies,
      now: this.now(),
      inForce: this.state(),
      presetsSeen: (digest) => this.presetsByDigest.get(digest) ?? null,
      unauditedPresets: this.unauditedPresets,
      presetsText: this.presetsText,
    };
  }

  /**
   * Writes what is missing: the default config (with its baseline entry), or the entries of an
   * unaudited config or preset set (a direct put, or keys a migration brought). Nothing for
   * presets that never existed (no key, no entry).
   */
  start(): Promise<void> {
    return this.mutex.run(async () => {
      // From now on hand edits are audited as they come (queued behind this read and write).
      this.started = true;
      // A kept copy left from before, with the stored presets in force now: it goes.
      if (this.presetsInvalid === null) this.dropKeptPresets();
      const deadline = this.gateway.deadline();
      const base = await this.io.readBase(deadline);
      const { pending } = baseState(base, { ...this.groupContext(), starting: this.presets.digest === this.presetsFound });
      let configText: string | null = null;
      // An empty prefix others run on (settleEmpty) waits for their config: no defaults over it.
      if (base.stored === null && base.last === null && this.invalid?.digest !== 'missing') {
        configText = renderNewConfigFile(this.snapshot.config);
        const stored = parseStored(base.strategies, this.location, configText);
        if (!stored.ok) throw stored.error;
        pending.push(handEditEntry(stored, null, this.now()));
      }
      // A broken trail (said by the read) is a person's to fix: the start goes on, and writes wait for it.
      if (pending.length > 0 && !base.brokenTrail) await this.io.write(base, pending, { config: configText }, deadline);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.mutex.idle();
    for (const off of this.unsubscribe) off();
    this.listeners.clear();
  }
}
