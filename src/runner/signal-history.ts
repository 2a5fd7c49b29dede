import type { RunnerSignalRecord, RunnerStateSource } from './state.js';

/** Signals kept per instrument (DESIGN: the last 1,000 per instrument, in memory). */
export const SIGNALS_KEPT_PER_INSTRUMENT = 1000;

/** One scan's signals as a runner published them. */
export interface ScanSignals {
  readonly runnerId: string;
  /** The runner's run (its state's `startedAt`): a restarted runner, even under the same id, is another run. */
  readonly runStartedAt: string;
  readonly scannedAt: string;
  readonly signals: readonly RunnerSignalRecord[];
}

/**
 * A signal with the runner that published it: two runners may scan one instrument (each its own
 * feed), and a runner's restart starts its candle times again; without the id the two series read as
 * one. With the run (and the record's `scan`, when the runner is new enough to publish it) a reader
 * tells a signal heard twice and a restart apart exactly, without guessing from candle times.
 */
export type PublishedSignal = RunnerSignalRecord & { readonly runnerId: string; readonly runStartedAt: string };

/** Gives each of a runner's signals its id and run. */
export const publishedBy = (
  runner: { readonly id: string; readonly startedAt: string },
  signals: readonly RunnerSignalRecord[],
): PublishedSignal[] => signals.map((signal) => ({ ...signal, runnerId: runner.id, runStartedAt: runner.startedAt }));

/**
 * What makes a scan the same one again: its run and number when the runner says them (a scan that
 * failed outright republishes the previous scan's signals with a new scan time: not a scan of them
 * again), else its scan time.
 */
const scanIdentity = (scan: ScanSignals): string => {
  const number = scan.signals[0]?.scan;
  return number === undefined ? scan.scannedAt : `${scan.runStartedAt}#${number}`;
};

interface Kept {
  /** Arrival order across instruments: newest first is highest first. */
  readonly seq: number;
  readonly signal: PublishedSignal;
}

/** Runners whose last scan is remembered (far more than a fleet has at once). */
export const RUNNERS_REMEMBERED = 1024;

/**
 * The recent signals for the charts. Runners publish only their last scan's signals; this keeps,
 * per instrument, the last `perInstrument` of them as they arrive in this process (empty after a
 * restart), and tells `onScan` about each new scan (signalsEmitted).
 */
export class SignalHistory {
  private readonly byInstrument = new Map<string, Kept[]>();
  /**
   * The last scan recorded per runner, so a heartbeat that republishes the same scan adds nothing;
   * the RUNNERS_REMEMBERED that scanned last (a runner named <host>:<pid> is a new one at each
   * restart: they were all kept, for ever).
   */
  private readonly lastScanByRunner = new Map<string, string>();
  private seq = 0;

  constructor(
    private readonly onScan: (scan: ScanSignals) => void = () => {},
    private readonly perInstrument = SIGNALS_KEPT_PER_INSTRUMENT,
  ) {}

  /** Records a scan once; false when it was already recorded (same runner, same scan: see scanIdentity). */
  record(scan: ScanSignals): boolean {
    const identity = scanIdentity(scan);
    if (this.lastScanByRunner.get(scan.runnerId) === identity) return false;
    // Moved to the end (the Map's order is the order runners last scanned in), the oldest let go.
    this.lastScanByRunner.delete(scan.runnerId);
    this.lastScanByRunner.set(scan.runnerId, identity);
    if (this.lastScanByRunner.size > RUNNERS_REMEMBERED) this.lastScanByRunner.delete(this.lastScanByRunner.keys().next().value as string);
    for (const signal of publishedBy({ id: scan.runnerId, startedAt: scan.runStartedAt }, scan.signals)) {
      let kept = this.byInstrument.get(signal.instrument);
      if (!kept) {
        kept = [];
        this.byInstrument.set(signal.instrument, kept);
      }
      kept.push({ seq: ++this.seq, signal });
      // Amortised trimming: drop a block at a time rather than shift on every push.
      if (kept.length >= this.perInstrument + Math.max(1, this.perInstrument >> 4)) kept.splice(0, kept.length - this.perInstrument);
    }
    this.onScan(scan);
    return true;
  }

  /**
   * Newest first: one instrument's (normalised like the registry's, `EUR_USD`), or all of them
   * interleaved; only `runnerId`'s when given.
   */
  list(options: { instrument?: string | null; runnerId?: string | null; last: number }): PublishedSignal[] {
    const last = Math.max(0, Math.min(options.last, this.perInstrument));
    if (last === 0) return [];
    const { runnerId } = options;
    const newest = (kept: readonly Kept[]): Kept[] => {
      if (runnerId == null) return kept.slice(-last);
      const mine: Kept[] = [];
      for (let i = kept.length - 1; i >= 0 && mine.length < last; i--) if (kept[i]!.signal.runnerId === runnerId) mine.push(kept[i]!);
      return mine.reverse();
    };
    if (options.instrument != null) {
      return newest(this.byInstrument.get(options.instrument) ?? [])
        .reverse()
        .map((k) => k.signal);
    }
    const all: Kept[] = [];
    for (const kept of this.byInstrument.values()) all.push(...newest(kept));
    return all
      .sort((a, b) => b.seq - a.seq)
      .slice(0, last)
      .map((k) => k.signal);
  }
}

/**
 * Feeds `history` from what the runners publish (the embedded runner, a runner's state file, or
 * etcd's runner keys): every new `lastScanAt` of a runner is a scan. Returns the unsubscribe function.
 */
export function recordPublishedScans(source: RunnerStateSource, history: SignalHistory): () => void {
  const take = () => {
    for (const state of source.list()) {
      if (!state.lastScanAt || state.lastSignals.length === 0) continue;
      history.record({ runnerId: state.id, runStartedAt: state.startedAt, scannedAt: state.lastScanAt, signals: state.lastSignals });
    }
  };
  take();
  return source.subscribe(take);
}
