import { byRunnerId, type Signal, type State } from './model.js';

/** Signals kept per series in the page (the server keeps 1,000 per instrument; a chart shows the recent ones). */
export const SIGNALS_SHOWN = 300;

/**
 * The page's signals: per instrument, one series per runner that publishes it, each in arrival
 * order. A series is one runner's feed: two runners on one instrument drew one line zigzagging
 * between two feeds, and a restarted runner's (whose feed starts its candle times again) sorted
 * into the past by candle time, "Last:" staying on the old run's newest candle for hours.
 */
export type SignalSeries = Map<string, Map<string, Signal[]>>;

const signalKey = (s: Signal) => `${s.candleTime}|${s.strategyKey}|${s.direction}|${s.price}`;
const timeOf = (s: Signal) => (s.candleTime === null ? Number.NaN : Date.parse(s.candleTime));

/**
 * Signals the page has from a query's answer and not yet from the live stream: the answer can be
 * made after a scan the stream has still to deliver, and that scan is then heard twice.
 */
const unheard = new WeakSet<Signal>();

/**
 * An answer's newest signals of a series that may come again live when nothing was heard before it.
 * More would let a restarted runner's first signals (equal to its old run's: the same seed) pass
 * for the old run's heard again, and be dropped.
 */
const MAY_COME_AGAIN = 2;

/** The run and scan that made a signal, when its runner says them (a runner of an older version does not). */
const made = (s: Signal): { run: string; scan: number } | null =>
  s.runStartedAt != null && s.scan != null ? { run: s.runStartedAt, scan: s.scan } : null;

/**
 * One signal after a series, as it arrives. When the runner says which run and scan made each
 * signal, that decides: a signal of the last one's run and a scan not after it is one heard already
 * (in a query's answer, then on the live stream); another run is a restart, and the series starts
 * over from it (a runner whose candle times go back, or whose restarted feed repeats the old run's
 * first signals, is told apart exactly). A runner that says neither is judged by `guessed`.
 */
export function appendSignal(series: readonly Signal[], signal: Signal): Signal[] {
  const last = series.at(-1);
  const mine = made(signal);
  if (!last) return [signal];
  const lasts = made(last);
  if (!mine && !lasts) return guessed(series, signal);
  // One says its scans and the other does not: two versions of the runner, so two runs.
  if (!mine || !lasts || mine.run !== lasts.run) return [signal];
  if (mine.scan <= lasts.scan) return series as Signal[];
  // A later scan of the candle the last one was on, at the same price and saying the same (the feed
  // holding its last candle, a CSV at its end): the chart has that point already.
  if (signalKey(signal) === signalKey(last)) return series as Signal[];
  const next = [...series, signal];
  return next.length > SIGNALS_SHOWN ? next.slice(-SIGNALS_SHOWN) : next;
}

/**
 * One signal after a series from a runner that does not say its run and scan (an older version),
 * guessed from what the signals say: the same as one only the query's answer brought is that scan
 * heard again (kept once); else a candle time before the series' last (or the same candle at another
 * price) is the runner's feed starting again (a restart), and the series starts over from it. A
 * restarted runner's first signals may equal the old run's (the same feed seed): those are not
 * dropped as seen.
 */
function guessed(series: readonly Signal[], signal: Signal): Signal[] {
  const key = signalKey(signal);
  // The stream delivers in order: what only the answer brought up to this signal is heard now, and
  // a signal that is none of it means the stream is past them all (they were from before it opened).
  const twin = series.findIndex((s) => unheard.has(s) && signalKey(s) === key);
  for (const s of twin === -1 ? series : series.slice(0, twin + 1)) unheard.delete(s);
  if (twin !== -1) return series as Signal[];
  const last = series.at(-1);
  if (last) {
    const [time, lastTime] = [timeOf(signal), timeOf(last)];
    // The same candle at another price is another run of the feed too (a restart one scan in); at
    // the same price it is the feed holding its last candle (a CSV at its end), kept once per signal.
    if (time < lastTime || (time === lastTime && signal.price !== last.price)) return [signal];
    if (time === lastTime && key === signalKey(last)) return series as Signal[];
  }
  const next = [...series, signal];
  return next.length > SIGNALS_SHOWN ? next.slice(-SIGNALS_SHOWN) : next;
}

/** Signals in arrival order grouped into series (instrument, then runner), each built by `appendSignal`. */
function grouped(signals: readonly Signal[], into: SignalSeries = new Map()): SignalSeries {
  for (const s of signals) {
    let runners = into.get(s.instrument);
    if (!runners) {
      runners = new Map();
      into.set(s.instrument, runners);
    }
    runners.set(s.runnerId, appendSignal(runners.get(s.runnerId) ?? [], s));
  }
  return into;
}

/** Live signals (one scan's, `signalsEmitted`) added to what the page holds. */
export function addLive(held: SignalSeries, signals: readonly Signal[]): SignalSeries {
  return grouped(signals, held);
}

/**
 * One series as the server answered it (oldest first, built by `appendSignal`) merged with what the
 * page already held of it from the live stream, so the result is what the live stream alone would
 * have built: the stream opens before the query is sent, so the two overlap, or the held signals
 * came after the answer.
 */
export function mergeSeries(held: readonly Signal[], fetched: readonly Signal[]): Signal[] {
  // The runner says its scans: what the page held that the answer has too is dropped as heard, the
  // rest comes after it; nothing need be guessed about what may still come. (A series is all of one
  // kind: a signal that says its scan after one that does not, or the other way round, starts one.)
  const exact = (series: readonly Signal[]) => series.length > 0 && made(series.at(-1)!) !== null;
  if (exact(fetched) || exact(held)) return held.reduce(appendSignal, [...fetched]);
  if (held.length === 0) {
    // Nothing heard live yet: the answer's newest may still come (the query is sent once the stream
    // is accepted, so at most a scan or two); the older ones were made before the stream opened.
    for (const s of fetched.slice(-MAY_COME_AGAIN)) unheard.add(s);
    return [...fetched];
  }
  if (fetched.length === 0) return [...held];
  const keys = fetched.map(signalKey);
  const newestFetched = keys.at(-1);
  if (held.some((s) => signalKey(s) === newestFetched)) {
    // The page holds the answer's newest: what it held is newer, the answer's older part goes first.
    const start = keys.indexOf(signalKey(held[0]!));
    return [...(start > 0 ? fetched.slice(0, start) : []), ...held].slice(-SIGNALS_SHOWN);
  }
  // The answer runs past what the page held (the page held part of it): the rest is still to come live.
  if (keys.includes(signalKey(held[0]!))) {
    const heard = keys.lastIndexOf(signalKey(held.at(-1)!));
    for (const s of fetched.slice(heard + 1)) unheard.add(s);
    return [...fetched].slice(-SIGNALS_SHOWN);
  }
  // No overlap: what the page held arrived after the answer was made.
  return held.reduce(appendSignal, [...fetched]);
}

/** One instrument's `signals` answer (newest first) merged into what the page holds. */
export function addFetched(held: SignalSeries, instrument: string, newestFirst: readonly Signal[]): SignalSeries {
  const fetched = grouped([...newestFirst].reverse()).get(instrument) ?? new Map<string, Signal[]>();
  const runners = new Map(held.get(instrument) ?? []);
  for (const [runnerId, series] of fetched) runners.set(runnerId, mergeSeries(runners.get(runnerId) ?? [], series));
  held.set(instrument, runners);
  return held;
}

export interface Shown {
  readonly instrument: string;
  readonly runnerId: string | null;
  readonly signals: readonly Signal[];
}

/**
 * What to chart for one instrument: the active strategy's signals of each runner publishing it, in
 * arrival order. One runner (or none yet): one chart, as the instrument's. Several: one chart per
 * runner in the fleet tiles' id order, leaving out runners status.runners no longer lists when some
 * are (a runner named <host>:<pid> is a new one at each restart).
 */
export function seriesShown(state: State, instrument: string): Shown[] {
  const active = state.status?.activeStrategyKey;
  let shown = [...(state.signals.get(instrument) ?? new Map<string, Signal[]>())]
    .map(([runnerId, list]) => ({ instrument, runnerId, signals: list.filter((s) => s.strategyKey === active) }))
    .filter((s) => s.signals.length > 0);
  const listed = new Set((state.status?.runners ?? []).map((r) => r.id));
  if (shown.length > 1 && shown.some((s) => listed.has(s.runnerId))) shown = shown.filter((s) => listed.has(s.runnerId));
  if (shown.length <= 1) return [{ instrument, runnerId: null, signals: shown[0]?.signals ?? [] }];
  return shown.sort((a, b) => byRunnerId(a.runnerId, b.runnerId));
}
