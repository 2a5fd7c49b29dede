import { Listeners } from '../listeners.js';
import { type RunnerHealth, type RunnerState, type RunnerStateSource, runnerHealth } from './state.js';

/** A runner as the API reports it: its last published state and what that means now. */
export interface RunnerView {
  readonly health: RunnerHealth;
  readonly state: RunnerState | null;
  /** When this process last heard from the runner (ms; its own clock where the source knows it), as its health counts. */
  readonly heardAtMs?: number;
}

export interface RunnerWaitResult {
  readonly applied: boolean;
  readonly waitedMs: number;
  /**
   * The summary (or the one runner waited for) when the wait ended. A runner asked for by id that
   * has never reported reads STOPPED with no state: not the summary of the others, which may have
   * applied the change long before.
   */
  readonly view: RunnerView;
  /** The wait was cut short because the server is stopping (`endWaits`), not by its timeout. */
  readonly stopping?: true;
  /** The runners waited for (every live one, or the one asked for), by id. */
  readonly waitedFor: readonly string[];
  /**
   * Listed runners not waited for, not being live (STALE, STOPPED): a dead runner's markets may be
   * uncovered. With the version each last applied (null: none), and whether that was the target
   * itself (its content): a no-op waited on with only such runners named them as not having applied
   * the very version they had.
   */
  readonly notWaitedFor: readonly {
    readonly id: string;
    readonly health: RunnerHealth;
    readonly appliedVersion: number | null;
    readonly appliedTarget: boolean;
  }[];
  /**
   * The runners waited for that are in ERROR when the wait ended, with their error: one that took the
   * change may still not do what it asks (a failing feed, or `--instruments` covering none of the
   * strategy's), and an answer that said only "applied" hid it.
   */
  readonly inError: readonly { readonly id: string; readonly error: string }[];
}

const NEVER_REPORTED: RunnerView = Object.freeze({ health: 'STOPPED', state: null });

/** Worst first: a summary shows the worst state of the fleet. */
const SEVERITY: Record<RunnerHealth, number> = { ERROR: 3, STALE: 2, STOPPED: 1, RUNNING: 0 };

/** The fields whose change is news for a dashboard (heartbeat-only updates are not). */
const signature = (views: readonly RunnerView[]) =>
  JSON.stringify(
    views.map(({ health, state: s }) => [health, s?.id, s?.pid, s?.stopped, s?.applied, s?.lastScanAt, s?.scanCount, s?.error]),
  );

/** Runners that are expected to act on a change: alive (RUNNING, or ERROR but heartbeating). */
const isLive = (view: RunnerView) => view.health === 'RUNNING' || view.health === 'ERROR';

/**
 * The fleet of runners as the API sees it: classifies each published state (RUNNING / STALE /
 * STOPPED / ERROR) as time passes, summarises them, tells listeners when something a reader cares
 * about changed, and lets a caller wait until a given config is applied.
 */
export class RunnerFleet {
  private readonly listeners = new Listeners();
  /** Each waiter re-checks on every state it hears; `end` settles it now (on close). */
  private readonly waiters = new Map<() => void, () => void>();
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private lastSignature: string;
  private closed = false;
  /** States this fleet has called STALE: each was still the newest its source had after a fresh read (`refresh`). */
  private readonly staleConfirmed = new WeakSet<RunnerState>();
  /** When (this fleet's clock) a fresh read was asked for before calling a state STALE. */
  private readonly staleAsked = new WeakMap<RunnerState, number>();
  /** States with a `receivedAt` this fleet has judged not STALE: the health one keeps while a fresh read is made before calling it STALE. */
  private readonly seenLive = new WeakSet<RunnerState>();

  constructor(
    private readonly source: RunnerStateSource,
    private readonly options: { tickMs?: number; now?: () => number } = {},
  ) {
    this.lastSignature = signature(this.views());
    this.unsubscribe = source.subscribe(() => this.check());
    // A runner that dies publishes nothing more: only the clock notices it going STALE.
    this.timer = setInterval(() => this.check(), options.tickMs ?? 250);
    this.timer.unref();
  }

  private nowMs(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Every runner, in id order. */
  views(): RunnerView[] {
    const now = this.nowMs();
    return (
      [...this.source.list()]
        // Code-unit order, not localeCompare: as stable, and no collation data (~3 MB of ICU) loaded for it.
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map((state) => {
          const receivedAt = this.source.receivedAt?.(state.id);
          return { state, health: this.health(state, now, receivedAt), heardAtMs: receivedAt ?? Date.parse(state.heartbeatAt) };
        })
    );
  }

  /**
   * Each runner's published state and its health now, in the source's order, with nothing made
   * per call: what a cached read's revision compares on every request (`views()` sorts and builds
   * a view per runner).
   */
  forEach(visit: (state: RunnerState, health: RunnerHealth) => void): void {
    const now = this.nowMs();
    for (const state of this.source.list()) visit(state, this.health(state, now, this.source.receivedAt?.(state.id)));
  }

  /**
   * A runner's health now. Its heartbeat grown old is STALE only once the source has read its
   * published state afresh and still holds this one: a source that follows a file (`stratctl runner`
   * beside the API) or etcd's watch can be a heartbeat or more behind while this process is busy or
   * the watch is late, and a runner called STALE on the older state came back RUNNING when the newer
   * one was read, dead or alive (the operator page showed a killed runner STALE, then green "in
   * sync", then STALE). Until that read
   * ends the runner keeps the health it had, for at most one heartbeat interval: a read that never
   * ends (a stalled disk) does not keep a dead runner RUNNING. A state its source says it heard
   * already STALE (`receivedAt`; the fleet looks at each state as it arrives) had no other health:
   * it is STALE at once. That is etcd's heartbeat committed seconds late, when a quorum came back,
   * which was shown RUNNING with the config the runner ran before until the read ended.
   */
  private health(state: RunnerState, now: number, receivedAt: number | undefined): RunnerHealth {
    const health = runnerHealth(state, now, receivedAt);
    const { refresh } = this.source;
    if (!refresh) return health;
    if (health !== 'STALE') {
      if (receivedAt !== undefined) this.seenLive.add(state);
      return health;
    }
    if (this.staleConfirmed.has(state)) return health;
    const asked = this.staleAsked.get(state);
    if (asked === undefined) {
      this.staleAsked.set(state, now);
      const settled = () => {
        if (this.source.list().includes(state)) this.staleConfirmed.add(state);
        if (!this.closed) this.check();
      };
      refresh.call(this.source).then(settled, settled);
    } else if (now - asked >= state.heartbeatIntervalMs) {
      this.staleConfirmed.add(state);
      return health;
    }
    if (receivedAt !== undefined && !this.seenLive.has(state)) return health;
    return state.error ? 'ERROR' : 'RUNNING';
  }

  /**
   * The fleet in one view: the worst state (ERROR > STALE > STOPPED > RUNNING); its other fields
   * come from the runner with the lowest applied version. No runner at all: STOPPED.
   */
  summary(views: readonly RunnerView[] = this.views()): RunnerView {
    if (views.length === 0) return { health: 'STOPPED', state: null };
    const worst = views.reduce((a, b) => (SEVERITY[b.health] > SEVERITY[a.health] ? b : a));
    const behind = views.reduce((a, b) => ((b.state?.applied?.configVersion ?? 0) < (a.state?.applied?.configVersion ?? 0) ? b : a));
    return { health: worst.health, state: behind.state };
  }

  subscribe(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  private check(): void {
    for (const waiter of [...this.waiters.keys()]) waiter();
    const sig = signature(this.views());
    if (sig === this.lastSignature) return;
    this.lastSignature = sig;
    this.listeners.emit();
  }

  /**
   * Resolves once every live runner (or the one named) reports `target` applied (the same content,
   * or a later version), or after `timeoutMs` with `applied: false`. With no live runner the change
   * is not applied by anyone: the wait runs out (a runner may start meanwhile).
   */
  waitForApplied(
    target: { version: number; digest: string; storeVersion: () => number },
    timeoutMs: number,
    runnerId?: string,
  ): Promise<RunnerWaitResult> {
    const started = performance.now();
    // A later version counts only if the store has reached it: a runner left running when the count
    // started again at the version bound (README: the way out) reports 2147483647, "later" than
    // every new version, and had applied none of them.
    const hasApplied = (view: RunnerView) => {
      const applied = view.state?.applied;
      if (!applied) return false;
      if (applied.configDigest === target.digest) return true;
      return applied.configVersion > target.version && applied.configVersion <= target.storeVersion();
    };
    const waitedFor = (): RunnerView[] => {
      const views = this.views();
      return runnerId === undefined ? views.filter(isLive) : views.filter((v) => v.state?.id === runnerId);
    };
    const isApplied = () => {
      const views = waitedFor();
      return views.length > 0 && views.every(hasApplied);
    };
    const result = (applied: boolean, stopping = false): RunnerWaitResult => {
      const views = waitedFor();
      return {
        applied,
        waitedMs: Math.round(performance.now() - started),
        view: runnerId === undefined ? this.summary() : (views[0] ?? NEVER_REPORTED),
        ...(stopping && !applied && { stopping: true as const }),
        waitedFor: views.flatMap((v) => v.state?.id ?? []),
        inError: views.flatMap((v) => (v.health === 'ERROR' && v.state?.error ? [{ id: v.state.id, error: v.state.error }] : [])),
        notWaitedFor:
          runnerId === undefined
            ? this.views().flatMap(({ state, health }) =>
                !isLive({ health, state }) && state
                  ? [
                      {
                        id: state.id,
                        health,
                        appliedVersion: state.applied?.configVersion ?? null,
                        appliedTarget: state.applied?.configDigest === target.digest,
                      },
                    ]
                  : [],
              )
            : [],
      };
    };
    if (isApplied()) return Promise.resolve(result(true));
    return new Promise((resolve) => {
      const done = (applied: boolean, stopping = false) => {
        clearTimeout(timeout);
        this.waiters.delete(waiter);
        resolve(result(applied, stopping));
      };
      const waiter = () => {
        if (isApplied()) done(true);
      };
      const timeout = setTimeout(() => done(false), timeoutMs);
      this.waiters.set(waiter, () => done(isApplied(), true));
    });
  }

  /**
   * Settles every wait now, with what is applied so far: the server is stopping. Its answers can
   * then go out while the HTTP adapter drains; a wait for up to 300 s outlived the drain (10 s), its
   * connection was closed, and the client never heard that its change had been saved.
   */
  endWaits(): void {
    for (const end of [...this.waiters.values()]) end();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.unsubscribe();
    this.endWaits();
    this.listeners.clear();
  }
}
