import { PerformanceObserver, performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Worker } from 'node:worker_threads';

/**
 * V8's heap sizing for a long-running control-plane process (issue 10: RSS after load <= 100 MB).
 *
 * Left alone, V8 sizes the heap for throughput on a machine with plenty of memory: the young
 * generation grows to two 16 MB semi-spaces (32 MB resident under any load), and after each full
 * GC the old generation may grow to up to ~4x what survived. Under the write load, requests live
 * across their fsync and are promoted, so the old generation filled with garbage to ~110 MB before
 * a full GC ran, and the server sat at ~250 MB resident after a burst (`npm run bench`, rss part).
 *
 * Node 20 reads `--max-semi-space-size` only when the isolate is created (from the command line or
 * NODE_OPTIONS: setting it from here changes nothing, measured), and the bench, `npm start` and
 * operators start `node dist/cli.js` directly. Two flags V8 does read at every GC can be set by the
 * program itself, so these are the ones used:
 * - `--heap-growing-percent`: the old generation may grow to (1 + p/100) x what survived the last
 *   full GC, instead of up to 4x;
 * - `--semi-space-growth-factor`: how the young generation grows after a scavenge. It starts at two
 *   1 MB semi-spaces and doubles while much survives; once it has reached the cap, the factor is set
 *   to 1 (no more growth), and back to 2 if V8 shrank it (after an idle period), so it settles at
 *   the cap under load.
 * Starting a worker thread puts the growth factor back to V8's default: V8 raises it to at least 2
 * when it creates an isolate, the worker's, on the worker's thread, some time between the Worker's
 * construction and its 'online' (measured on Node 20: set to 1, a worker started, and the main
 * thread's young generation grew from 2 to 8-16 MB semi-spaces before the worker was online). The
 * I/O thread and the YAML thread start on demand, so from a worker's construction until it is
 * online the flags are set again at every turn of the event loop (`heapFlagsAfterWorkerStart`),
 * then once a second: a scavenge in the turn the isolate was created may still grow the young
 * generation once (the one-second check holds it there; the collection after a burst shrinks it).
 * Set again only after the next GC (as before 2026-12-05), every worker start let one GC grow it.
 * The young generation is watched GC by GC (a `gc` performance entry) only while it grows: once at
 * the cap, the observer is let go and the one-second check looks for a shrink. Observed after
 * every GC, Node built an entry (with its deprecated fields) and a check ran for each of ~40
 * scavenges a second under a read load: ~2% of the server's CPU per cached read (`--cpu-prof`).
 * The flags are process-wide: the worker threads read them too.
 */
export const HEAP_TUNING = {
  /**
   * Each semi-space at most this large (V8's default on 64-bit: 16 MB). 8, not 4: with 4 MB, a
   * scavenge came every ~500 cached reads, and the flags' reset by a worker's start let it grow to 8
   * anyway in every run measured (the bench's RSS figures were made at 8).
   */
  semiSpaceMb: 8,
  heapGrowingPercent: 25,
} as const;

const MB = 1024 * 1024;

/**
 * This thread's tuning state, kept on its global object: `serve` runs dist/serve.cjs (src/code-cache.ts),
 * a second bundle with its own copy of this module, after dist/cli.js's copy has tuned the heap and
 * started the load ticker. Kept in module variables, the serve bundle's copy never heard of the
 * ticker: its `followLoad` listeners (the file store's I/O thread) were never told of a burst's
 * end, so the thread was never let go (measured: a production start kept it through every quiet
 * spell; the same build without its code cache let it go six seconds after a burst), and its
 * `loopBusyNow` always said quiet. Per thread, as the global object is (a worker tunes its own).
 */
interface TuningState {
  /** Sets this thread's flags as they should be now (null: tuneHeap has not run). */
  setFlagsNow: (() => void) | null;
  /** The flags tuneHeap set at the start (see restoreStartHeapFlags). */
  startFlags: readonly string[];
  /** Told when this thread's load begins and ends (followLoad). */
  readonly loadListeners: Set<LoadListener>;
  /** This thread's event loop over its last one-second tick, and where that tick left it (null: no tick runs here). */
  recent: { second: Utilization; tickedAt: Utilization } | null;
}
const TUNING_STATE = Symbol.for('strategy-control-plane.heap-tuning');
const holder = globalThis as { [TUNING_STATE]?: TuningState };
holder[TUNING_STATE] ??= { setFlagsNow: null, startFlags: [], loadListeners: new Set(), recent: null };
const state: TuningState = holder[TUNING_STATE];

/**
 * Puts the flags back as tuneHeap set them at the start. V8 accepts a code cache only if the flags
 * in force when it was made are those in force when it is used (a hash of them is in the cache);
 * the cache of the serve bundle is used right after the start (src/code-cache.ts) and made at the
 * exit of a build's run, after GCs may have changed them.
 */
export function restoreStartHeapFlags(): void {
  for (const flag of state.startFlags) setFlagsFromString(flag);
}

/**
 * Sets the heap flags again at every turn of the event loop from now until `worker` is online (or
 * gone): V8 puts the growth factor back to its default as it creates the worker's isolate (see
 * HEAP_TUNING). Nothing where tuneHeap has not run (a test, another command).
 */
export function heapFlagsAfterWorkerStart(worker: Pick<Worker, 'once'>): void {
  const set = state.setFlagsNow;
  if (!set) return;
  let starting = true;
  const done = () => {
    starting = false;
    set();
  };
  worker.once('online', done);
  worker.once('exit', done);
  const everyTurn = () => {
    set();
    if (starting) setImmediate(everyTurn).unref();
  };
  everyTurn();
}

/** A semi-space's capacity now (bytes): used + available, or half the committed size once both halves are. */
function semiSpaceBytes(): number | undefined {
  const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return young ? Math.max(young.space_used_size + young.space_available_size, young.space_size / 2) : undefined;
}

/**
 * Whether the young generation is held at the cap (growth factor 1), given a semi-space's size now
 * and whether it was: held once near the cap; let grow again only once V8 has clearly shrunk it (to
 * half the cap or less), so a reading taken mid-scavenge cannot flip it back and forth.
 */
export function heldAtCap(semiBytes: number, capBytes: number, held: boolean): boolean {
  return held ? semiBytes > capBytes / 2 : semiBytes >= 0.9 * capBytes;
}

/** Sets the flags above for this process (once; later calls do nothing). */
export function tuneHeap(tuning: { semiSpaceMb: number; heapGrowingPercent: number } = HEAP_TUNING): void {
  if (state.setFlagsNow) return;
  const cap = tuning.semiSpaceMb * MB;
  let held = false;
  const flags = () => [`--semi-space-growth-factor=${held ? 1 : 2}`, `--heap-growing-percent=${tuning.heapGrowingPercent}`];
  const set = () => {
    for (const flag of flags()) setFlagsFromString(flag);
  };
  state.setFlagsNow = set;
  const observer = new PerformanceObserver(() => check());
  let observing = false;
  const check = () => {
    const semi = semiSpaceBytes();
    if (semi !== undefined) held = heldAtCap(semi, cap, held);
    set();
    // GC by GC while it may grow (the next scavenge could pass the cap); held, a second's look suffices.
    if (held && observing) observer.disconnect();
    else if (!held && !observing) observer.observe({ entryTypes: ['gc'] });
    observing = !held;
  };
  check();
  state.startFlags = flags();
  setInterval(check, 1000).unref();
  collectWhenIdle();
}

/** A second in which the event loop was at work at least this share of the time is a busy one. */
export const BUSY_SHARE = 0.05;
/**
 * A second in which the event loop was at work less than this share of the time is a quiet one.
 * An idle server's own work (the fleet's ticks, the store's look at its files, the runner's
 * heartbeat and scans, the lock's refresh) is 1-2.3% of the main thread's loop on this host when
 * it runs slowly (CPU per cached read 26-28 µs against its usual 17-18), 0.5-1.2% when it does not:
 * at 1% the server was seldom quiet six seconds in a row there, and kept what the load had grown
 * (`npm run bench`: RSS 116 MB after 15 s idle against 78 in the runs before).
 */
export const QUIET_SHARE = 0.04;

/**
 * When a collection is due: after a busy stretch (a second in which the event loop was busy at
 * least `busy` of the time), once `quietTicks` seconds in a row were quiet (busy less than
 * `quiet`). Once per burst: a server that stays quiet is not collected again, and one that stays
 * busy never is. Six quiet seconds, not one: V8 shrinks the young generation at a full GC only
 * when its allocation rate over the last ~5 s is low, so a collection sooner keeps it at its cap.
 */
export class IdleCollection {
  private busy = false;
  private quietTicks = 0;
  constructor(
    private readonly thresholds: { busy: number; quiet: number; quietTicks: number } = {
      busy: BUSY_SHARE,
      quiet: QUIET_SHARE,
      quietTicks: 6,
    },
  ) {}

  /** In a burst: a busy second was seen, and the collection that ends the burst has not run yet. */
  get inBurst(): boolean {
    return this.busy;
  }

  /** The next tick collects if its second is quiet too (one quiet second short of the count). */
  get collectsNext(): boolean {
    return this.busy && this.quietTicks === this.thresholds.quietTicks - 1;
  }

  /** The event loop's utilization over the last second (0..1): true when a collection should run now. */
  tick(utilization: number): boolean {
    if (utilization >= this.thresholds.busy) {
      this.busy = true;
      this.quietTicks = 0;
      return false;
    }
    this.quietTicks = utilization < this.thresholds.quiet ? this.quietTicks + 1 : 0;
    if (this.busy && this.quietTicks >= this.thresholds.quietTicks) {
      this.busy = false;
      return true;
    }
    return false;
  }
}

/** Told when this thread's load begins (its first busy second) and when the burst is over (just before its collection). */
export interface LoadListener {
  readonly begun?: () => void;
  readonly over?: () => void;
}

/**
 * Follows this thread's load as `collectWhenIdle` judges it (IdleCollection's busy and quiet
 * seconds); nothing is told in a thread where it does not run (a test, a short command). Returns
 * the unsubscribe.
 */
export function followLoad(listener: LoadListener): () => void {
  state.loadListeners.add(listener);
  return () => state.loadListeners.delete(listener);
}

/**
 * One full, compacting collection once a burst of load is over. V8 gives back the young
 * generation and the old-generation slack it grew under load only through its memory reducer,
 * which Node triggers late and unpredictably (measured: a server held ~110-120 MB resident for
 * 20 s to over 40 s after a burst of reads, writes and a read storm, then fell to ~90 MB). Here it
 * falls about 7 s after the last request (`npm run bench`: 81-94 MB after its whole load; 75-76 MB
 * after a scratch load of reads, writes and a storm). The collection compacts every page (as the
 * memory reducer's does), which pauses the event loop for about 70 ms on this heap (~25 MB live; ~35
 * with V8's helper threads, which `npm start` turns off: README, "Memory"):
 * once per burst, only after six seconds with the loop all but idle, and no longer than the pause
 * of the memory reducer's own collection, which it replaces. The collector is V8's `gc`, taken the
 * way Jest's leak detection takes it (the flag, then a fresh context): `globalThis.gc` stays unset.
 * Per thread: the file store's I/O thread runs its own (its isolate grows under a write burst too,
 * and nothing else collects it: ~3 MB of its pages stayed resident after the bench's load).
 */
export function collectWhenIdle(): void {
  // Taken when first due, not at start: a short command (`stratctl status`) never pays for the context.
  let gc: V8Collector | undefined;
  const tick = loadTicker(
    performance.eventLoopUtilization,
    (): void => {
      gc ??= v8Collector();
      if (!gc) return;
      setFlagsFromString('--compact-on-every-full-gc');
      gc();
      setFlagsFromString('--no-compact-on-every-full-gc');
    },
    // A scavenge a second before it. V8 gives the young generation back at a full collection only
    // when the allocation since the previous collection, per ms, is low (under 1 KB/ms over its
    // last ~5 s of samples, and not zero). Since the previous one came the burst's tail, up to a
    // semi-space of it (8 MB): over six quiet seconds that read as more than 1 KB/ms as often as
    // not, and the server kept 16 MB of young generation it had no use for (RSS 92 against 75 MB
    // after the same load, `nodejs_heap_space_size_total_bytes{space="new"}` 16 MB against 1). After
    // the scavenge the collection's sample is one quiet second: low, and given back each time.
    (): void => {
      gc ??= v8Collector();
      gc?.({ type: 'minor' });
    },
  );
  let tickedAt = performance.eventLoopUtilization();
  state.recent = { second: performance.eventLoopUtilization(tickedAt, tickedAt), tickedAt };
  setInterval(() => {
    // The second before this tick, without the tick's own collection (its pause is not load).
    const second = performance.eventLoopUtilization(performance.eventLoopUtilization(), tickedAt);
    tick();
    tickedAt = performance.eventLoopUtilization();
    state.recent = { second, tickedAt };
  }, 1000).unref();
}

/**
 * Whether this thread's event loop is busy now, by the measure the ticks use (a share of the time
 * at work at least `BUSY_SHARE`), over the last tick's second and the time since: a quiet server's
 * work, an operator's activation on code gone cold included, is 1-4% of it; 100 ms into a read
 * storm it is 10% and rising. False where no tick runs (a test, a short command). What a write
 * weighs when the file store's I/O thread is not there to take it (file-io.ts).
 */
export function loopBusyNow(): boolean {
  const { recent } = state;
  if (!recent) return false;
  return busyOver(recent.second, performance.eventLoopUtilization(performance.eventLoopUtilization(), recent.tickedAt));
}

/** Busy over a stretch made of `spans` (event-loop utilization deltas): at work at least `BUSY_SHARE` of it. */
export function busyOver(...spans: readonly Pick<Utilization, 'active' | 'idle'>[]): boolean {
  let active = 0;
  let total = 0;
  for (const span of spans) {
    active += span.active;
    total += span.active + span.idle;
  }
  return total > 0 && active / total >= BUSY_SHARE;
}

type Utilization = ReturnType<typeof performance.eventLoopUtilization>;

/**
 * One second's judgement of this thread's load (`sample`: performance.eventLoopUtilization): tells
 * the load listeners when a burst begins and when it is over, and collects then (`collect`).
 */
export function loadTicker(
  sample: (now?: Utilization, before?: Utilization) => Utilization,
  collect: () => void,
  /** Run a second before `collect` (the tick before it, quiet too); if the next second is not quiet, again before the collection that comes. */
  prepare: () => void = () => {},
): () => void {
  const due = new IdleCollection();
  let last = sample();
  return () => {
    const now = sample();
    const { utilization } = sample(now, last);
    last = now;
    const wasInBurst = due.inBurst;
    const collectNow = due.tick(utilization);
    if (!wasInBurst && due.inBurst) for (const listener of state.loadListeners) listener.begun?.();
    if (!collectNow) {
      if (due.collectsNext) prepare();
      return;
    }
    // Before the collection: what the listeners let go of (the file store's I/O thread) is gone by then.
    for (const listener of state.loadListeners) listener.over?.();
    collect();
    // The collection's own pause (tens of ms) is not load: counted, it made the next second busy,
    // and that "began" a burst again, which started the I/O thread the collection had let go.
    last = sample();
  };
}

/** V8's `gc` function, without exposing it as `globalThis.gc`; undefined if this V8 will not give it. */
export function v8Collector(): V8Collector | undefined {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
  setFlagsFromString('--no-expose-gc');
  return typeof gc === 'function' ? (gc as V8Collector) : undefined;
}

/** V8's `gc`: a full collection, or a scavenge (`{ type: 'minor' }`). */
export type V8Collector = (options?: { type?: 'major' | 'minor' }) => void;
