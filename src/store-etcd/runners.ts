import type { ICompare, Lease } from 'etcd3';
import { pauseUnlessAborted, throwIfStartAborted } from '../abort.js';
import { StoreUnavailableError } from '../config/errors.js';
import { Listeners } from '../listeners.js';
import {
  bootOf,
  judgeOtherProcess,
  type MachineIdentity,
  machineIdentity,
  ownProcessIdentity,
  type ProcessIdentity,
  processStart,
  sameProcess,
} from '../lock.js';
import type { Say } from '../log.js';
import {
  heartbeatMs,
  parseRunnerStateText,
  type RunnerState,
  type RunnerStatePublisher,
  type RunnerStateSource,
  runnerStateSchema,
  STALE_AFTER_HEARTBEATS,
} from '../runner/state.js';
import type { EtcdGateway } from './gateway.js';
import type { EtcdKeys } from './keys.js';
import type { EtcdMirror, KeyValue } from './mirror.js';

/** Another running runner publishes under this id (etcd: ids are the fleet's, not a runtime dir's). */
export class RunnerIdInUseError extends Error {
  override name = 'RunnerIdInUseError';
  constructor(
    readonly id: string,
    readonly pid: number,
    readonly host: string,
    /** How this process knows it runs. */
    why = 'it published a heartbeat just now',
  ) {
    super(`runner id ${id} is in use by process ${pid} on ${host}, which is running (${why})`);
  }
}

/** The process a runner's state names, as `sameProcess` and `judgeOtherProcess` take it; last seen at its last heartbeat. */
const publisherOf = (state: RunnerState): Pick<ProcessIdentity, 'pid' | 'host'> & Partial<ProcessIdentity> & { lastSeenAt?: number } => ({
  pid: state.pid,
  host: state.host,
  started: state.processStart,
  pidns: state.pidns,
  bootId: state.bootId,
  machineId: state.machineId,
  lastSeenAt: Date.parse(state.heartbeatAt),
});

/** A runner's state from its key's value (null: not one). */
function parseRunnerState(value: Buffer): RunnerState | null {
  try {
    return runnerStateSchema.parse(JSON.parse(value.toString('utf8')));
  } catch {
    return null;
  }
}

/**
 * How long a runner that died without stopping cleanly (SIGKILL, a lost host) stays listed, STALE,
 * before its key expires: long enough for a person to see it and for any scrape interval to catch
 * it in `control_plane_runners{state="STALE"}`. A runner restarted under the same `--runner-id`
 * takes its key over sooner (`claim`).
 */
export const DEAD_RUNNER_RETENTION_SECONDS = 600;

/**
 * The lease of a stopped runner's key: long enough for a reader to see STOPPED (3 + 2 heartbeats),
 * at least etcd's 2 s minimum; then it drops out (a rolling restart does not leave the fleet's
 * summary STOPPED for long).
 */
export function runnerLeaseSeconds(heartbeatIntervalMs: number): number {
  return Math.max(2, Math.ceil(((STALE_AFTER_HEARTBEATS + 2) * heartbeatIntervalMs) / 1000));
}

/** The lease of a live runner's key: what a crash leaves behind, STALE, for `retentionSeconds`. */
export function liveRunnerLeaseSeconds(heartbeatIntervalMs: number, retentionSeconds = DEAD_RUNNER_RETENTION_SECONDS): number {
  return Math.max(runnerLeaseSeconds(heartbeatIntervalMs), Math.ceil(retentionSeconds));
}

/** Whose state a runner found under its id, when it is another process's (it stops). */
export interface RunnerIdHolder {
  readonly pid: number;
  readonly host: string;
  /**
   * How the id became the other's:
   * - `resumed`: the holder this runner's start judged gone and took the id from, publishing again
   *   before this runner's first write was known to land (it was frozen, and resumed);
   * - `together`: another runner started under the id at the same time as this one (both found it
   *   free), and its first write landed before this one's first;
   * - `taken-over`: another process took the id over while this runner was not heard from.
   */
  readonly how: 'resumed' | 'together' | 'taken-over';
}

/**
 * Publishes a runner's state to `runners/<id>` under a lease that etcd3 keeps alive while the
 * process lives: a runner that dies (SIGKILL, lost host) shows STALE until the lease expires
 * (`DEAD_RUNNER_RETENTION_SECONDS`), then drops out. The final (stopped) state is put under a short
 * lease of its own. Publishes are coalesced (the latest wins) and never reject: a heartbeat that
 * cannot be written shows as a heartbeat going stale, which is the truth.
 */
export class EtcdRunnerPublisher implements RunnerStatePublisher {
  private lease: Lease | null = null;
  /**
   * The mod_revision this runner's next write of its key is made over: its own last write's, or,
   * before its first, the key's as `claim` (or the first write's read) last saw it; 0 when the key is
   * known to be gone; null before any was seen. Never null again once seen: a write whose answer is
   * lost (a timeout, a freeze) leaves the revision before it, so the next write's compare fails and
   * the key is read, never written over blind. The first write was unconditional, and when its
   * answer was lost (the runner frozen just after sending it, under load) the next one was
   * unconditional too: a runner taken over meanwhile wrote over its successor's state and ran beside it.
   */
  private ownRevision: number | null = null;
  /** The id was taken over by another process: nothing more is written. */
  private lost = false;
  /** A write of this runner's state was answered: a holder found after it took the id over (RunnerIdHolder.how). */
  private wrote = false;
  /** A write of this runner's state was sent (answered or not): a holder found by a later one took the id over. */
  private sent = false;
  /** The other process's state under the key when `claim` last read it: the holder it took the id from. */
  private claimedFrom: RunnerState | null = null;
  private draining = false;
  private pending: { state: RunnerState; waiters: (() => void)[] } | null = null;
  private closed = false;
  /** The last heartbeat failed: its warning was said, and is not said again until one succeeds. */
  private failing = false;
  /** This process's start, pid namespace, boot and machine, published with its state. */
  private readonly identity = ownProcessIdentity();
  /** This machine and boot (the same for any process here), with when the boot began. */
  private readonly machine: MachineIdentity = machineIdentity();

  constructor(
    private readonly gateway: EtcdGateway,
    private readonly keys: EtcdKeys,
    private readonly id: string,
    private readonly warn?: Say,
    private readonly retentionSeconds = DEAD_RUNNER_RETENTION_SECONDS,
    private readonly onTakenOver?: (holder: RunnerIdHolder) => void,
    /** The end of a spell `warn` began (its heartbeats published again): INFO, not a warning. */
    private readonly info?: Say,
  ) {
    if (id === '' || id.includes('\0')) throw new Error('a runner id must be a non-empty string');
  }

  /** A state of this process with its start, pid namespace, boot and machine (`claim` by a successor on this host reads them). */
  private stamped(state: RunnerState): RunnerState {
    const { pid, started, pidns, bootId, machineId } = this.identity;
    if (state.pid !== pid) return state;
    return {
      ...state,
      ...(started !== undefined && { processStart: started }),
      ...(pidns !== undefined && { pidns }),
      ...(bootId !== undefined && { bootId }),
      ...(machineId !== undefined && { machineId }),
    };
  }

  /** The process `state` (this runner's) is published for: this one's identity when it names this pid. */
  private publisherIdentity(state: RunnerState): ProcessIdentity {
    return state.pid === this.identity.pid ? { ...this.identity, host: state.host } : { pid: state.pid, host: state.host };
  }

  publish(state: RunnerState): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.pending) {
        this.pending.state = state;
        this.pending.waiters.push(resolve);
      } else this.pending = { state, waiters: [resolve] };
      if (!this.draining) {
        this.draining = true;
        void this.drain();
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.pending) {
      const { state, waiters } = this.pending;
      this.pending = null;
      await this.writeOnce(state);
      for (const w of waiters) w();
    }
    this.draining = false;
  }

  private currentLease(ttlSeconds: number): Lease {
    if (!this.lease || this.lease.revoked()) {
      const lease = this.gateway.client.lease(ttlSeconds);
      lease.on('lost', () => {
        // Expired while etcd was away: the next heartbeat takes a new one.
        if (this.lease === lease) this.lease = null;
      });
      this.lease = lease;
    }
    return this.lease;
  }

  private async writeOnce(state: RunnerState): Promise<void> {
    if (this.lost || (this.closed && !state.stopped)) return;
    try {
      if (state.stopped) {
        // A short lease of its own, not kept alive: STOPPED is shown for a few heartbeats, then the
        // key goes. The live lease (which would keep a stopped runner listed for the whole
        // retention) is revoked once the key no longer belongs to it.
        const short = this.gateway.client.lease(runnerLeaseSeconds(state.heartbeatIntervalMs), { autoKeepAlive: false });
        if (!(await this.putOwn('runner stopped', this.stamped(state), short))) return;
        const live = this.lease;
        this.lease = null;
        if (live) {
          // A revoke that fails leaves the old lease to expire with no key under it.
          await this.gateway.call('revoke runner lease', (options) => live.revoke(options)).catch(() => live.release());
        }
        return;
      }
      const written = await this.putOwn(
        'runner heartbeat',
        this.stamped(state),
        this.currentLease(liveRunnerLeaseSeconds(state.heartbeatIntervalMs, this.retentionSeconds)),
      );
      // Taken over: nothing was published (the owner is told, and stops).
      if (!written) return;
      if (this.failing) this.info?.(`etcd store: runner ${this.id} publishes its state again`, { runnerId: this.id });
      this.failing = false;
    } catch (err) {
      // A lease etcd no longer knows (it expired during an outage) is replaced on the next heartbeat.
      if (this.lease) {
        this.lease.release();
        this.lease = null;
      }
      const why = `${(err as Error).message}${err instanceof StoreUnavailableError && err.detail ? ` (${err.detail})` : ''}`;
      // The last one, at a stop (etcd away, or not answering within the stop's deadline): not "scans on".
      if (state.stopped) {
        this.warn?.(
          `etcd store: runner ${this.id} could not publish its STOPPED state: ${why}; its last state stays, and the API shows it STALE as it does a runner that died, until its key expires`,
          { runnerId: this.id, reason: (err as Error).message },
        );
        return;
      }
      // Said once until it works again (one line per heartbeat was ~1,800 an hour through an outage).
      if (!this.failing) {
        this.warn?.(
          `etcd store: runner ${this.id} could not publish its state: ${why}; the API shows it STALE until it can (said again once it does); the runner scans on`,
          { runnerId: this.id, reason: (err as Error).message },
        );
      }
      this.failing = true;
    }
  }

  /**
   * Puts this runner's state, only over its own last write: a compare-and-put on the key's
   * mod_revision. The first put is made over the key as `claim` left it (a publisher not claimed
   * reads it first, and takes it as it is). When the key has moved on:
   * - it is gone (its lease ran out while this process was frozen or cut off): put again;
   * - it is this process's own state (same pid and host: a write whose answer was lost), or not a
   *   runner's state at all: adopt it, put again;
   * - it is another process's: the id was taken over while this runner was not heard from (a
   *   SIGSTOP, a VM pause, a partition): write nothing more, and tell the owner (`onTakenOver`),
   *   which stops the runner. Two runners never publish, and trade, as one.
   * False when nothing was written because the id is another's.
   */
  private async putOwn(step: string, state: RunnerState, lease: Lease): Promise<boolean> {
    const key = Buffer.from(this.keys.runner(this.id));
    const value = Buffer.from(JSON.stringify(state));
    this.ownRevision ??= (await this.published()).modRevision;
    // This runner's first write: until it is sent, nobody can have gone without hearing from it.
    const first = !this.sent;
    this.sent = true;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const over = this.ownRevision;
      const res = await this.gateway.call(step, async (options) => {
        const request_put = { key, value, lease: await lease.grant() };
        const compare: ICompare[] =
          over === 0
            ? [{ key, target: 'Create', result: 'Equal', create_revision: 0 }]
            : [{ key, target: 'Mod', result: 'Equal', mod_revision: over }];
        return this.gateway.client.kv.txn({ compare, success: [{ request_put }], failure: [{ request_range: { key } }] }, options);
      });
      if (res.succeeded) {
        this.ownRevision = Number(res.header.revision);
        this.wrote = true;
        return true;
      }
      const current = res.responses[0]?.response_range?.kvs[0];
      if (!current) {
        this.ownRevision = 0;
        continue;
      }
      const holder = parseRunnerState(current.value);
      // Our own is the same process, not merely the same host and pid: a container beside this one
      // with the same host name is pid 1 too (its pid namespace and start differ), and adopting its
      // state as ours had both publish, and trade, under one id.
      if (!holder || sameProcess(publisherOf(holder), this.publisherIdentity(state))) {
        // Not a runner's state (put there by hand: as `claim` does, not a holder), or our own.
        this.ownRevision = Number(current.mod_revision);
        continue;
      }
      this.lost = true;
      this.lease?.release();
      this.lease = null;
      const resumed = !this.wrote && this.claimedFrom !== null && sameProcess(publisherOf(this.claimedFrom), publisherOf(holder));
      // Found by its first write, it was never heard from at all: another runner started under the
      // id as this one did (both found it free), and its first write landed first. "Taken over while
      // not heard from" sent the operator looking for a stall of a runner 40 ms old.
      this.onTakenOver?.({ pid: holder.pid, host: holder.host, how: resumed ? 'resumed' : first ? 'together' : 'taken-over' });
      return false;
    }
    throw new Error(`runner ${this.id}: its key changed under every attempt to write it`);
  }

  /** The state under this runner's key now (null: none, or not a runner's state), and the key's mod_revision (0: none). */
  private async published(): Promise<{ state: RunnerState | null; modRevision: number }> {
    const key = Buffer.from(this.keys.runner(this.id));
    const res = await this.gateway.call('read runner', (options) => this.gateway.client.kv.range({ key }, options));
    const kv = res.kvs[0];
    return { state: kv ? parseRunnerState(kv.value) : null, modRevision: kv ? Number(kv.mod_revision) : 0 };
  }

  /**
   * The key as this runner's start last read it: its first write is made over that revision, so a
   * process that publishes under the id in between (the holder judged gone, resuming) is not written
   * over: this runner is told it was taken over, and stops.
   */
  private async readForClaim(): Promise<RunnerState | null> {
    const { state, modRevision } = await this.published();
    this.ownRevision = modRevision;
    this.claimedFrom = state;
    return state;
  }

  /**
   * Before the first publish: refuses an id another live runner holds. The file store has a lock
   * per runtime dir; on etcd a second `stratctl runner --runner-id acct-fx` (a pod left over after a
   * redeploy) was accepted silently: both scanned the same markets under one key, its pid flipping
   * between them. Another process's state under the key, not stopped, is watched for up to
   * STALE_AFTER_HEARTBEATS of its heartbeats: a new heartbeat means it runs (RunnerIdInUseError);
   * none, or the key gone, means it died (a crash whose lease has not run out yet) and the id is free.
   * A state published from this host and pid namespace whose process is provably gone (its pid dead,
   * a zombie, or reused: `judgeOtherProcess`) frees the id at once; one whose process provably runs
   * (its pid, its recorded start) and has beaten within STALE_AFTER_HEARTBEATS is refused at once. `signal` (a stop during start-up)
   * ends the watch at once with StartAbortedError.
   */
  async claim(self: { host: string; pid: number }, signal?: AbortSignal, pollMs = 250): Promise<void> {
    const { bootId, machineId, bootedAt } = this.machine;
    const me: ProcessIdentity & Pick<MachineIdentity, 'bootedAt'> =
      self.pid === this.identity.pid ? { ...this.identity, host: self.host, bootedAt } : { ...self, bootId, machineId, bootedAt };
    // Another process's state: the same host and pid are not enough to call it ours (two containers
    // sharing a host name, each pid 1: the second took the first's live state for its own, and both
    // ran under one id); their pid namespaces or starts tell them apart (`sameProcess`).
    const other = (state: RunnerState | null) => (state && !state.stopped && !sameProcess(publisherOf(state), me) ? state : null);
    const first = other(await this.readForClaim());
    if (!first) return;
    // On this host (and pid namespace, and boot) the holder's pid tells at once: a runner killed -9
    // and started again under its id took the key over only after 3 heartbeats of silence. Another
    // machine with this host name (another boot id) is not this host: its pid is not checked here,
    // it is watched below (its pid, gone here, had its live runner taken over at once).
    const holder = publisherOf(first);
    const verdict = judgeOtherProcess(holder, me);
    if (verdict === 'dead') {
      const why =
        bootOf(holder, me, holder.lastSeenAt) === 'earlier-boot'
          ? 'it published before this machine last booted'
          : "its pid is gone or another process's now";
      this.warn?.(
        `etcd store: runner id ${this.id} is published by process ${first.pid} on ${first.host}, which is not running (${why}); taking the id over`,
        { runnerId: this.id, holderPid: first.pid, holderHost: first.host },
      );
      return;
    }
    // Running, likewise: that pid runs the very process that published (its recorded start), and its
    // last heartbeat (this host's clock: the same one) is within STALE_AFTER_HEARTBEATS. Refused at
    // once, as the file store's runner lock refuses a live pid; a second runner started by mistake
    // waited 3 heartbeats (30 s at --heartbeat-ms 10000) to be told. A holder whose heartbeats have
    // stopped though its pid runs (frozen: SIGSTOP, a debugger) is watched as before, and taken over.
    const silentMs = Date.now() - Date.parse(first.heartbeatAt);
    if (
      verdict === 'alive' &&
      first.processStart !== undefined &&
      processStart(first.pid) === first.processStart &&
      silentMs <= STALE_AFTER_HEARTBEATS * first.heartbeatIntervalMs
    ) {
      throw new RunnerIdInUseError(
        this.id,
        first.pid,
        first.host,
        `its pid runs on this host, and it published a heartbeat ${(Math.max(0, silentMs) / 1000).toFixed(1)} s ago`,
      );
    }
    this.warn?.(
      `etcd store: runner id ${this.id} is published by process ${first.pid} on ${first.host}; waiting up to ${STALE_AFTER_HEARTBEATS} heartbeats to see whether it still runs`,
      { runnerId: this.id, holderPid: first.pid, holderHost: first.host },
    );
    const until = Date.now() + STALE_AFTER_HEARTBEATS * first.heartbeatIntervalMs;
    while (Date.now() < until) {
      // A stop signal ends the wait at once (StartAbortedError), as it ends a wait for a lock or for etcd.
      await pauseUnlessAborted(pollMs, signal);
      throwIfStartAborted(signal);
      const now = other(await this.readForClaim());
      if (!now) return;
      if (now.heartbeatAt !== first.heartbeatAt || now.pid !== first.pid) throw new RunnerIdInUseError(this.id, now.pid, now.host);
    }
  }

  /** Stops the keepalive: the final (stopped) state stays visible until its short lease runs out. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.draining) await new Promise((r) => setTimeout(r, 5));
    this.lease?.release();
    this.lease = null;
  }
}

/**
 * How far behind this process's clock a runner host's may run without its live runner, found at this
 * process's start, being shown STALE until its next heartbeat arrives (see `EtcdRunnerSource.arrived`).
 * Hosts kept by NTP agree within milliseconds; a dead runner's state found at start is judged by its
 * own time once it is older than this beyond the point it would be STALE.
 */
export const FOUND_STATE_CLOCK_ALLOWANCE_MS = 5_000;

/** When a runner's state was heard, and the runner's clock against this process's as that state showed it. */
interface Arrival {
  readonly modRevision: number;
  readonly at: number;
  /** `offsetMs`: this process's clock at the arrival minus the state's `heartbeatAt`; per process (host, pid, start). */
  readonly clock: { readonly process: string; readonly offsetMs: number } | undefined;
}

/** One runner process, as its states name it (a restart under the same id is another). */
const processOf = (state: RunnerState): string => JSON.stringify([state.host, state.pid, state.startedAt]);

/**
 * Every runner's last published state, from the watch (`runners/` keys), with when this process
 * received it: runners run on other hosts, whose clocks may differ from this one's.
 */
export class EtcdRunnerSource implements RunnerStateSource {
  /** By key: the text parsed and its state (a text, not a revision: an etcd that went back reuses revisions). */
  private readonly parsed = new Map<string, { value: string; state: RunnerState | null }>();
  /**
   * Per key: the revision of the state held, when it was heard (this process's clock: see
   * `arrived`), and the runner's clock against this one's as that state showed it.
   */
  private readonly received = new Map<string, Arrival>();
  private readonly listeners = new Listeners();
  private readonly off: () => void;

  constructor(
    private readonly mirror: EtcdMirror,
    private readonly keys: EtcdKeys,
    private readonly now: () => number = Date.now,
    /** Told once per value that is not a runner's state (it is not listed), and why. */
    private readonly warn?: Say,
  ) {
    this.off = mirror.onBatch((batch) => {
      let touched = false;
      for (const change of batch.changes) {
        if (change.type !== 'put' || !change.kv.key.startsWith(keys.runnersPrefix)) {
          touched ||= change.type === 'delete' && change.key.startsWith(keys.runnersPrefix);
          continue;
        }
        touched = true;
        this.arrived(change.kv);
      }
      if (!touched) return;
      this.listeners.emit();
    });
  }

  private stateOf(kv: KeyValue): RunnerState | null {
    let cached = this.parsed.get(kv.key);
    if (cached?.value !== kv.value) {
      const parsed = parseRunnerStateText(kv.value);
      const state = 'state' in parsed ? parsed.state : null;
      // Not listed, as before; said once per value (it is parsed once per value): a hand-written
      // state the API cannot serve (a time no RFC 3339 parser reads) was dropped without a word.
      if (!('state' in parsed))
        this.warn?.(
          `etcd store: ${kv.key.slice(this.keys.prefix.length)} is not a runner's state (${parsed.problem}); that runner is not listed until it publishes one`,
          { key: kv.key, reason: parsed.problem },
        );
      cached = { value: kv.value, state };
      this.parsed.set(kv.key, cached);
    }
    return cached.state;
  }

  list(): readonly RunnerState[] {
    const kvs = this.mirror.list(this.keys.runnersPrefix);
    const live = new Set(kvs.map((kv) => kv.key));
    for (const key of this.parsed.keys()) if (!live.has(key)) this.parsed.delete(key);
    for (const key of this.received.keys()) if (!live.has(key)) this.received.delete(key);
    return kvs.flatMap((kv) => this.stateOf(kv) ?? []).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * When the runner's current state reached this process. A state already there when it started
   * (found, not seen arriving): when first looked at, unless its own heartbeat time is older than
   * `FOUND_STATE_CLOCK_ALLOWANCE_MS` beyond the point it would be STALE (see `arrived`).
   */
  receivedAt(id: string): number | undefined {
    const kv = this.mirror.get(this.keys.runner(id));
    if (!kv) return undefined;
    const held = this.received.get(kv.key);
    return (held?.modRevision === kv.modRevision ? held : this.arrived(kv, held === undefined)).at;
  }

  /**
   * Records a state's arrival. It is heard when it arrives, unless it is a later state of the
   * process its last one came from and arrived later, by more than a heartbeat, than that one's
   * arrival and the two heartbeat times say it was sent: then it is heard when it was sent (its
   * `heartbeatAt` on this clock, by the offset the last one showed). That is a state etcd committed
   * long after it was written: a heartbeat sent to a leader that lost its quorum is committed when
   * a quorum is back, seconds later, and taken as heard then it showed the runner RUNNING with the
   * config it ran before the outage (its fresh state lands a moment later). Only states of one
   * process are compared, each with the one before it, so a runner host's clock hours off this one
   * judges nothing (the offset absorbs it); its clock stepped back by more than 3 heartbeats shows it
   * STALE until its next heartbeat.
   *
   * A state `found` at this process's start (its arrival unseen) is heard when it was sent, by its
   * `heartbeatAt`, when that is older than the point it would be STALE by more than
   * `FOUND_STATE_CLOCK_ALLOWANCE_MS`: a runner that died minutes before this replica started (its key
   * outlives it, `DEAD_RUNNER_RETENTION_SECONDS`) was shown RUNNING for 3 heartbeats, and
   * `activate --wait` through this replica waited for it. Else it is heard when first looked at.
   */
  private arrived(kv: KeyValue, found = false): Arrival {
    const now = this.now();
    const state = this.stateOf(kv);
    const sentAt = state ? heartbeatMs(state) : Number.NaN;
    const clock = state && Number.isFinite(sentAt) ? { process: processOf(state), offsetMs: now - sentAt } : undefined;
    const before = this.received.get(kv.key)?.clock;
    let at = now;
    if (state && clock && before?.process === clock.process) {
      const due = sentAt + before.offsetMs;
      if (now - due > state.heartbeatIntervalMs) at = due;
    } else if (found && state && now - sentAt > STALE_AFTER_HEARTBEATS * state.heartbeatIntervalMs + FOUND_STATE_CLOCK_ALLOWANCE_MS) {
      at = sentAt;
    }
    const arrival = { modRevision: kv.modRevision, at, clock };
    this.received.set(kv.key, arrival);
    return arrival;
  }

  /** Reads every runner's key afresh (the fleet asks before it calls one STALE): settled when that read is applied. */
  refresh(): Promise<void> {
    return this.mirror.checkRunners();
  }

  subscribe(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  close(): void {
    this.off();
    this.listeners.clear();
  }
}
