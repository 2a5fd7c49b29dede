import { type RunnerHealth, type RunnerState, type RunnerStateChannel, runnerHealth } from './state.js';

/** The runner as the API reports it: its last published state and what that means now. */
export interface RunnerView {
  readonly health: RunnerHealth;
  readonly state: RunnerState | null;
}

export interface RunnerWaitResult {
  readonly applied: boolean;
  readonly waitedMs: number;
  readonly view: RunnerView;
}

/** The fields whose change is news for a dashboard (heartbeat-only updates are not). */
const signature = (state: RunnerState | null) =>
  state ? JSON.stringify([state.pid, state.stopped, state.applied, state.lastScanAt, state.error]) : 'none';

/**
 * Watches a runner's published state for the API: classifies it (RUNNING/STALE/STOPPED/ERROR) as
 * time passes, tells listeners when something a reader cares about changed, and lets a caller wait
 * until a given config is applied.
 */
export class RunnerMonitor {
  private readonly listeners = new Set<(view: RunnerView) => void>();
  /** Each waiter re-checks on every state it hears; `end` settles it now (on close). */
  private readonly waiters = new Map<() => void, () => void>();
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private lastHealth: RunnerHealth;
  private lastSignature: string;

  constructor(
    private readonly channel: RunnerStateChannel,
    private readonly options: { tickMs?: number; now?: () => number } = {},
  ) {
    this.lastHealth = this.view().health;
    this.lastSignature = signature(channel.latest());
    this.unsubscribe = channel.subscribe(() => this.check());
    // A runner that dies publishes nothing more: only the clock notices it going STALE.
    this.timer = setInterval(() => this.check(), options.tickMs ?? 250);
    this.timer.unref();
  }

  private nowMs(): number {
    return this.options.now?.() ?? Date.now();
  }

  view(): RunnerView {
    const state = this.channel.latest();
    return { state, health: runnerHealth(state, this.nowMs()) };
  }

  subscribe(listener: (view: RunnerView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private check(): void {
    const view = this.view();
    const sig = signature(view.state);
    for (const waiter of [...this.waiters.keys()]) waiter();
    if (view.health === this.lastHealth && sig === this.lastSignature) return;
    this.lastHealth = view.health;
    this.lastSignature = sig;
    for (const listener of this.listeners) {
      try {
        listener(view);
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  /**
   * Resolves once the runner reports `target` applied (the same content, or a later version), or
   * after `timeoutMs` with `applied: false`.
   */
  waitForApplied(target: { version: number; digest: string }, timeoutMs: number): Promise<RunnerWaitResult> {
    const started = performance.now();
    const isApplied = () => {
      const applied = this.channel.latest()?.applied;
      return !!applied && (applied.configDigest === target.digest || applied.configVersion > target.version);
    };
    const result = (applied: boolean): RunnerWaitResult => ({
      applied,
      waitedMs: Math.round(performance.now() - started),
      view: this.view(),
    });
    if (isApplied()) return Promise.resolve(result(true));
    return new Promise((resolve) => {
      const done = (applied: boolean) => {
        clearTimeout(timeout);
        this.waiters.delete(waiter);
        resolve(result(applied));
      };
      const waiter = () => {
        if (isApplied()) done(true);
      };
      const timeout = setTimeout(() => done(false), timeoutMs);
      this.waiters.set(waiter, () => done(isApplied()));
    });
  }

  close(): void {
    clearInterval(this.timer);
    this.unsubscribe();
    for (const end of [...this.waiters.values()]) end();
    this.listeners.clear();
  }
}
