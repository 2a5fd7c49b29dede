import { hostname } from 'node:os';
import { StoreUnavailableError } from '../config/errors.js';
import { effectiveTunables } from '../config/schema.js';
import { type ConfigStore, STAND_IN_DIGEST, type StoreState } from '../config/store.js';
import { Listeners } from '../listeners.js';
import type { Logger } from '../log.js';
import type { CandleFeed } from './feed.js';
import type { AppliedConfig, RunnerSignalRecord, RunnerState, RunnerStatePublisher, RunnerStateSource } from './state.js';

export interface RunnerOptions {
  /** Unique in a fleet; default `<host>:<pid>`. */
  id?: string;
  /** Scan only these instruments of the active strategy (a fleet splitting markets); default all. */
  instruments?: readonly string[];
  /** The desired state. The runner re-reads it every scan (level-triggered) besides hearing its events. */
  store: ConfigStore;
  feed: CandleFeed;
  publisher: RunnerStatePublisher;
  /** How often the heartbeat is published (default 2000 ms). */
  heartbeatMs?: number;
  /** Candles asked of the feed per instrument per scan. */
  lookbackCandles?: number;
  logger?: Logger;
  now?: () => Date;
  /** The monotonic clock and timer that space the scans for config changes (CHANGE_SCAN_SPACING_MS; tests step them by hand). */
  changeScanClock?: ChangeScanClock;
}

export interface ChangeScanClock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Runs `run` after `ms`; returns its cancel. */
  later(run: () => void, ms: number): () => void;
}

export const DEFAULT_HEARTBEAT_MS = 2000;

/**
 * A change is scanned at once, unless another change started a scan less than this long ago: then
 * the changes meanwhile are scanned together, this long after that scan began. A burst of changes
 * (a script looping over activations: hundreds a second) would otherwise run a scan for every
 * strategy it passes through, each superseded a few milliseconds later, and advance the feed one bar
 * per scan; a scan was 15% of the server's main-thread CPU per activation under such a burst
 * (bench/profile.md). A lone change, and the first of a burst, are scanned at once as before.
 */
export const CHANGE_SCAN_SPACING_MS = 100;

const monotonicClock: ChangeScanClock = {
  now: () => performance.now(),
  later(run, ms) {
    const timer = setTimeout(run, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/**
 * The scan loop: converges applied state on the store's desired state, and every
 * `scan_interval_seconds` runs the active strategy's signal function over its instruments.
 * A config change is applied as soon as the store reports it, then scanned at once (changes that
 * come faster than CHANGE_SCAN_SPACING_MS apart: together, see there).
 */
export class Runner implements RunnerStateSource {
  private readonly listeners = new Listeners<RunnerState>();
  private readonly heartbeatMs: number;
  private readonly now: () => Date;
  private state: RunnerState;
  private applied: { state: StoreState; record: AppliedConfig } | null = null;
  private unsubscribe: (() => void) | null = null;
  /** A reconcile is queued for the store's events of this moment (reconcileSoon). */
  private reconcileQueued = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | null = null;
  private rescan = false;
  /** When the last scan for a change was asked for (the change clock's ms). */
  private lastChangeScanAt = Number.NEGATIVE_INFINITY;
  /** A scan for the changes of a burst, due at the end of the spacing: its cancel. */
  private changeScanDue: (() => void) | null = null;
  private readonly changeClock: ChangeScanClock;
  /** Whether the next scan re-reads the store first (a periodic scan does; one for a change just heard need not). */
  private rereadNext = true;
  private stopped = false;
  /** Instruments whose feed has ended, already said in the log (once each, not every scan). */
  private readonly endedWarned = new Set<string>();
  /**
   * Instruments with no data while others are scanned, by what was said of them (once per error, not
   * every scan). The runner stays RUNNING then (a partial failure is no error: one flaky instrument
   * would turn the fleet ERROR), and nothing else said it: a CSV without one of the strategy's
   * instruments ran for ever with that instrument FLAT, the log silent.
   */
  private readonly failingWarned = new Map<string, string>();
  /** What keeps the runner from converging, by source; published joined as `error`. */
  private readonly problems: { config: string | null; read: string | null; scan: string | null } = { config: null, read: null, scan: null };
  /** Set while this runner's share (`--instruments`) holds none of the active strategy's: logged, not an error (see checkCover). */
  private uncovered: string | null = null;

  constructor(private readonly options: RunnerOptions) {
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.now = options.now ?? (() => new Date());
    this.changeClock = options.changeScanClock ?? monotonicClock;
    const at = this.now().toISOString();
    const host = hostname();
    this.state = {
      id: options.id ?? `${host}:${process.pid}`,
      host,
      pid: process.pid,
      instruments: options.instruments ? [...options.instruments] : null,
      feed: options.feed.description,
      startedAt: at,
      heartbeatAt: at,
      heartbeatIntervalMs: this.heartbeatMs,
      stopped: false,
      applied: null,
      lastScanAt: null,
      lastSignals: [],
      error: null,
    };
  }

  start(): void {
    this.unsubscribe = this.options.store.subscribe((event) => {
      // The store is reachable again (etcd back): re-read now rather than at the next scan, which may
      // be a whole scan interval away: a change made while it was away is applied at once.
      if (event.type === 'connection' && event.connected) void this.recheckRead();
      else this.reconcileSoon();
    });
    this.heartbeat = setInterval(() => this.update({}), this.heartbeatMs);
    this.heartbeat.unref();
    this.reconcile();
    this.requestScan();
  }

  latest(): RunnerState {
    return this.state;
  }

  list(): readonly RunnerState[] {
    return [this.state];
  }

  subscribe(listener: (state: RunnerState) => void): () => void {
    return this.listeners.add(listener);
  }

  private errorText(): string | null {
    const { read, config, scan } = this.problems;
    const list = [read, config, scan].filter((p): p is string => p !== null);
    return list.length ? list.join('\n') : null;
  }

  /**
   * Reconciles once the store's events of this moment are all told. One etcd batch (or one commit)
   * can bring several, and the state between them is not one the store holds: reconciled on each, a
   * runner reported ERROR ("strategy X is not in force") for the moment between a kept-out preset
   * removal going in (presets first) and the config change that let it in, on every runner.
   */
  private reconcileSoon(): void {
    if (this.reconcileQueued) return;
    this.reconcileQueued = true;
    queueMicrotask(() => {
      this.reconcileQueued = false;
      this.reconcile();
    });
  }

  /** Brings applied state level with the store's desired state; publishes only when something changed. */
  private reconcile(): void {
    if (this.stopped) return;
    const { store } = this.options;
    const state = store.state();
    const desired = state.config;
    const fileError = store.problem();
    const problems: string[] = [];
    // No good config was ever in force here (the store's stand-in defaults): wait for one, scan nothing.
    const waiting = fileError !== null && desired.digest === STAND_IN_DIGEST;
    if (waiting) problems.push(`config file invalid: ${fileError.publicMessage}; waiting for a valid one before the first scan`);
    else if (fileError) problems.push(`config file invalid, keeping version ${desired.config.version}: ${fileError.publicMessage}`);
    let applied: AppliedConfig | undefined;
    if (!waiting && (this.applied?.state.config.digest !== desired.digest || this.applied.state.strategies !== state.strategies)) {
      const key = desired.config.activeStrategyKey;
      if (!state.strategies.has(key)) {
        problems.push(`strategy ${key} is not in force; keeping ${this.applied?.record.strategyKey ?? 'nothing'}`);
      } else {
        applied = {
          configVersion: desired.config.version,
          configDigest: desired.digest,
          strategyKey: key,
          scanIntervalSeconds: desired.config.scanIntervalSeconds,
          tradingEnabled: desired.config.tradingEnabled,
          appliedAt: this.now().toISOString(),
          presetsVersion: state.presets.version,
          presetsDigest: state.presets.digest,
        };
        this.applied = { state, record: applied };
        this.checkCover(key, state.strategies.get(key)!.instruments);
      }
    }
    this.problems.config = problems.length ? problems.join('\n') : null;
    const error = this.errorText();
    if (applied) {
      this.update({ applied, error });
      this.options.logger?.info(
        {
          runner: this.state.id,
          configVersion: applied.configVersion,
          configDigest: applied.configDigest,
          presetsVersion: applied.presetsVersion,
          strategy: applied.strategyKey,
        },
        `runner applied config version ${applied.configVersion} (${applied.configDigest.slice(0, 19)}), presets version ${applied.presetsVersion}: ${applied.strategyKey}`,
      );
      // With the new config now, not a whole interval later; the store has just handed it over, so
      // this scan does not read it again (with etcd that read went to the store in the very moment
      // every runner publishes that it applied the change).
      this.scanForChange();
    } else if (error !== this.state.error) {
      this.update({ error });
    }
  }

  /** Re-reads the desired state (level-triggered) and says whether that worked, without a scan. */
  private async readDesired(): Promise<void> {
    this.problems.read = await this.options.store.refresh().then(
      () => null,
      (err: Error) =>
        // The store away (etcd without quorum) is the store's state, not this runner's: it runs the
        // last good config, its heartbeats cannot be published meanwhile (the API shows it STALE, and
        // status.store says why), and it re-reads when the store is back. Reported as ERROR, it
        // flashed ERROR on every runner for the moment between etcd's return and that re-read.
        err instanceof StoreUnavailableError
          ? null
          : // The errno, not the message: API clients are not told where the server keeps its files.
            `cannot read the config (${(err as { code?: string }).code ?? err.name}), keeping what was applied`,
    );
  }

  private async recheckRead(): Promise<void> {
    await this.readDesired();
    this.reconcile();
  }

  /** A scan for a change just applied: now, or with the rest of a burst (CHANGE_SCAN_SPACING_MS). */
  private scanForChange(): void {
    if (this.changeScanDue) return; // a scan is already due, and it scans what is applied then
    const wait = this.lastChangeScanAt + CHANGE_SCAN_SPACING_MS - this.changeClock.now();
    const scanNow = () => {
      this.changeScanDue = null;
      this.lastChangeScanAt = this.changeClock.now();
      this.requestScan(false);
    };
    if (wait <= 0) scanNow();
    else this.changeScanDue = this.changeClock.later(scanNow, wait);
  }

  /** Scans now, or right after the scan in progress; `reread`: re-read the store first (level-triggered). */
  private requestScan(reread = true): void {
    if (this.stopped) return;
    clearTimeout(this.scanTimer);
    this.rereadNext ||= reread;
    if (this.scanning) this.rescan = true;
    else this.scanning = this.scan();
  }

  private async scan(): Promise<void> {
    // Let I/O run first: the state just published (a change applied) is still in the client's
    // buffers, and a scan never yields to I/O by itself (the feeds answer from memory), so the
    // "applied" put would otherwise leave only after the whole scan had run.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const started = performance.now();
    // Scans run one at a time, so the count is not moved meanwhile: this scan's number in the run.
    const scan = (this.state.scanCount ?? 0) + 1;
    const finished = () => ({
      lastScanAt: this.now().toISOString(),
      scanCount: scan,
      lastScanMs: Math.round((performance.now() - started) * 1000) / 1000,
    });
    try {
      // Level-triggered: re-read the desired state whatever events were (or were not) seen.
      const reread = this.rereadNext;
      this.rereadNext = false;
      if (reread) await this.readDesired();
      this.reconcile();
      this.rescan = false;
      const applied = this.applied;
      if (!applied) return;
      const signals = await this.runStrategy(applied.state, scan);
      // Cumulative, as scanCount: the API counts the difference, so a scan whose state it never saw still counts.
      const counts = { ...this.state.signalCounts };
      for (const s of signals) {
        if (s.error) continue;
        const mine = { ...counts[s.strategyKey] };
        mine[s.direction] = (mine[s.direction] ?? 0) + 1;
        counts[s.strategyKey] = mine;
      }
      const failed = signals.filter((s) => s.error);
      // Every instrument's replay over (an error with candles: a feed past its end): ERROR with why,
      // not "scan failed" (the scan ran, on the last bars again). Some ended and some failed: the
      // failure is named (an ended replay is not why the scan failed).
      const broken = failed.find((s) => s.candleTime === null);
      this.problems.scan =
        signals.length > 0 && failed.length === signals.length ? (broken ? `scan failed: ${broken.error}` : failed[0]!.error) : null;
      this.update({ ...finished(), lastSignals: signals, signalCounts: counts, error: this.errorText() });
    } catch (err) {
      this.options.logger?.error({ err }, 'runner scan failed');
      this.problems.scan = `scan failed: ${(err as Error).message}`;
      this.update({ ...finished(), error: this.errorText() });
    } finally {
      this.scanning = null;
      if (!this.stopped) {
        // rereadNext already says whether one of the requests meanwhile wanted a re-read.
        if (this.rescan) this.requestScan(false);
        else {
          const seconds = this.applied?.record.scanIntervalSeconds ?? 1;
          this.scanTimer = setTimeout(() => this.requestScan(), seconds * 1000);
          this.scanTimer.unref();
        }
      }
    }
  }

  /**
   * Whether this runner's share (`--instruments`) holds any of the strategy's instruments. One that
   * holds none scans nothing, and said nothing of it. That is how runners split by account work
   * (README, "Runners, one per account": the metals account's runner idles while an FX strategy is
   * active), so it is not an error (an error would make the fleet read ERROR, and alerts fire, in
   * that normal setup): logged at WARN once per change, INFO when it covers a strategy again. A
   * typo (`EUR_UDS`) is refused at start instead: an instrument no strategy trades (src/cli/runner.ts).
   */
  private checkCover(strategyKey: string, strategyInstruments: readonly string[]): void {
    const mine = this.options.instruments;
    const before = this.uncovered;
    this.uncovered =
      mine && this.instrumentsOf(strategyInstruments).length === 0
        ? `covers none of ${strategyKey}'s instruments (${strategyInstruments.join(', ')}): this runner scans only --instruments ${mine.join(',')}, so it scans nothing until a strategy trading them is active`
        : null;
    if (this.uncovered === before) return;
    if (this.uncovered) this.options.logger?.warn({ runner: this.state.id, strategy: strategyKey }, `runner ${this.uncovered}`);
    else if (before)
      this.options.logger?.info({ runner: this.state.id, strategy: strategyKey }, `runner covers ${strategyKey}'s instruments again`);
  }

  /** The instruments this runner scans for a strategy: all of them, or its share (`--instruments`). */
  private instrumentsOf(strategyInstruments: readonly string[]): readonly string[] {
    const mine = this.options.instruments;
    return mine ? strategyInstruments.filter((i) => mine.includes(i)) : strategyInstruments;
  }

  private async runStrategy(state: StoreState, scan: number): Promise<RunnerSignalRecord[]> {
    const { feed } = this.options;
    const { config } = state.config;
    const strategyKey = config.activeStrategyKey;
    const info = state.strategies.get(strategyKey)!;
    const tunables = effectiveTunables(state.strategies, config, strategyKey);
    const records: RunnerSignalRecord[] = [];
    for (const instrument of this.instrumentsOf(info.instruments)) {
      // Which failed: the feed (no data), or the strategy's signal function on the data it had.
      let candlesRead = false;
      try {
        const candles = await feed.candles(instrument, this.options.lookbackCandles ?? 1200);
        candlesRead = true;
        const signal = info.signal({ instrument, candles, tunables });
        // A value that is not a finite number (prices at the edge of a double) is published as null,
        // which no reader of the state takes: the whole state was refused, a live runner listed gone.
        const notFinite = Object.entries(signal.values).filter(([, v]) => !Number.isFinite(v));
        if (notFinite.length > 0)
          throw new Error(`its values are not finite numbers (${notFinite.map(([name, v]) => `${name} ${v}`).join(', ')})`);
        if (this.failingWarned.delete(instrument))
          this.options.logger?.info(
            { runner: this.state.id, instrument, feed: feed.description },
            `data for ${instrument} again (${feed.description})`,
          );
        // A replay past its end: the signal stands (it is what the last bars say), marked as not new.
        const ended = feed.ended?.(instrument) ?? null;
        if (ended !== null && !this.endedWarned.has(instrument)) {
          this.endedWarned.add(instrument);
          this.options.logger?.warn({ runner: this.state.id, instrument, feed: feed.description }, ended);
        }
        records.push({
          instrument,
          strategyKey,
          ...signal,
          values: { ...signal.values },
          price: candles.at(-1)?.close ?? null,
          candleTime: candles.at(-1)?.time ?? null,
          error: ended,
          scan,
        });
      } catch (err) {
        const message = (err as Error).message;
        if (this.failingWarned.get(instrument) !== message) {
          this.failingWarned.set(instrument, message);
          this.options.logger?.warn(
            { runner: this.state.id, instrument, feed: feed.description, reason: message },
            candlesRead
              ? `the signal of ${strategyKey} failed for ${instrument}: ${message}; its signal is FLAT until it computes`
              : `no data for ${instrument}: ${message}; its signal is FLAT until it has data`,
          );
        }
        records.push({
          instrument,
          strategyKey,
          direction: 'FLAT',
          reason: candlesRead ? `signal failed: ${message}` : `no data: ${message}`,
          values: {},
          price: null,
          candleTime: null,
          error: message,
          scan,
        });
      }
    }
    return records;
  }

  private update(patch: Partial<RunnerState>): void {
    this.state = { ...this.state, ...patch, heartbeatAt: this.now().toISOString() };
    // Every publish is a heartbeat: the next one is due a whole interval from now, not sooner. While
    // changes come fast the timer's own publishes stay out of their way (fewer writes to the store).
    this.heartbeat?.refresh();
    this.listeners.emit(this.state);
    void this.options.publisher.publish(this.state);
  }

  /** Stops scanning, waits for a scan in progress, and publishes a final STOPPED state. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Never started (a start that failed before it): nothing ran, so nothing is published.
    if (!this.unsubscribe) return;
    this.unsubscribe?.();
    clearInterval(this.heartbeat);
    clearTimeout(this.scanTimer);
    this.changeScanDue?.();
    this.changeScanDue = null;
    await this.scanning;
    this.state = { ...this.state, stopped: true, heartbeatAt: this.now().toISOString() };
    this.listeners.emit(this.state);
    await this.options.publisher.publish(this.state);
    await this.options.publisher.close();
  }

  close(): void {
    void this.stop();
  }
}
