import path from 'node:path';
import * as z from 'zod';
import { inRfc3339Years, RFC3339_YEARS_PROBLEM } from '../config/schema.js';
import { RuntimeFileRefusedError, readRuntimeBytes } from '../fs/runtime-file.js';
import { shownName } from '../registry/shown-value.js';
import type { Candle } from '../registry/signals/index.js';
import { type CandleFeed, FeedError } from './feed.js';

const REQUIRED = ['time', 'instrument', 'open', 'high', 'low', 'close'] as const;
const OPTIONAL = ['volume', 'spread'] as const;

/** A candle time: RFC 3339 with a date, a time of day and a zone, as the API serves it (`servedTimeSchema`). */
const rfc3339 = z.iso.datetime({ offset: true });
/**
 * A decimal number as a CSV writes one. `Number` alone took `0x10` as 16, `0b1` as 1 and ` ` as 0:
 * a typo read as a price.
 */
const DECIMAL = /^[+-]?\d+(\.\d+)?(e[+-]?\d+)?$/i;

/**
 * The highest price taken (BTC in IDR or VND is ~1e9 to 1e12). Near the largest double, the averages' sums ran to Infinity: the runner
 * published its values as null, the API refused that state, and a live runner was listed STOPPED,
 * then not at all, while it scanned on.
 */
const MAX_PRICE = 1e12;
/** The lowest: a close near the smallest double after a real one made a return of Infinity. */
const MIN_PRICE = 1e-12;

/** The largest CSV feed read: ~400,000 bars; it costs about 12 times its size in memory while parsed. */
const MAX_CSV_BYTES = 32 * 1024 * 1024;

/** A line's cells, trimmed; one in double quotes (as `csv.QUOTE_ALL` writes every cell) is what is inside them. */
function cellsOf(line: string): string[] {
  return line.split(',').map((raw) => {
    const cell = raw.trim();
    return cell.length >= 2 && cell.startsWith('"') && cell.endsWith('"') ? cell.slice(1, -1).replaceAll('""', '"').trim() : cell;
  });
}

/**
 * Parses `time,instrument,open,high,low,close[,volume][,spread]` (header first, any column order).
 * Refuses, naming the file and line, what no market prints: a bar whose open or close is outside its
 * low..high, a price not above 0, a second bar for the same instrument and time, a time without a
 * zone (`2026-01-01 10:00` was read in the runner's local zone) or without a date (`1` was
 * 2001-01-01), a number that is not decimal. Each of these was taken without a word.
 */
export function parseCandleCsv(text: string, source = 'csv'): Map<string, Candle[]> {
  // CR alone too: a file from an old Mac read as one line ("header lacks close").
  const lines = text.split(/\r\n|\r|\n/);
  // Empty and `#` lines are skipped before the header too (a tool's comment line first was refused
  // as "line 1: header lacks time, ...", the header right below it).
  const skipped = (line: string) => line === '' || line.startsWith('#');
  const first = lines.findIndex((line) => !skipped(line.trim()));
  if (first < 0) throw new FeedError(`${source}: no header line (need ${REQUIRED.join(',')})`);
  const headerAt = `${source}: line ${first + 1}`;
  const header = cellsOf(lines[first]!).map((h) => h.toLowerCase());
  const missing = REQUIRED.filter((c) => !header.includes(c));
  if (missing.length) throw new FeedError(`${headerAt}: header lacks ${missing.join(', ')} (need ${REQUIRED.join(',')})`);
  // Only the first of two `close` columns was read: which one the file meant, nothing tells.
  const twice = header.find((h, i) => h !== '' && header.indexOf(h) !== i);
  if (twice !== undefined) throw new FeedError(`${headerAt}: header names ${shownName(twice)} twice`);
  const col = (name: string) => header.indexOf(name);
  const byInstrument = new Map<string, Candle[]>();
  /** The line of each instrument's bar at each time (ISO, UTC): a second bar for it is refused. */
  const seen = new Map<string, Map<string, number>>();
  for (let i = first + 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (skipped(line)) continue;
    const cells = cellsOf(line);
    const where = `${source}: line ${i + 1}`;
    // Cells are shown cut (shownName): a 20 MB cell went whole into the fatal log line.
    const num = (name: string) => {
      const raw = cells[col(name)] ?? '';
      const value = Number(raw);
      if (!DECIMAL.test(raw) || !Number.isFinite(value)) throw new FeedError(`${where}: ${name} "${shownName(raw)}" is not a number`);
      return value;
    };
    const price = (name: 'open' | 'high' | 'low' | 'close') => {
      const value = num(name);
      if (value <= 0) throw new FeedError(`${where}: ${name} ${value} is not above 0`);
      if (value > MAX_PRICE || value < MIN_PRICE)
        throw new FeedError(
          `${where}: ${name} ${value} is ${value > MAX_PRICE ? `above ${MAX_PRICE}` : `below ${MIN_PRICE}`}, not a price a market prints`,
        );
      return value;
    };
    const cell = cells[col('time')] ?? '';
    // RFC 3339 lets a space stand for the T and takes t and z in lower case (section 5.6): pandas'
    // to_csv writes `2026-01-05 01:35:00+00:00`. The zone is still required: nothing is guessed.
    const time = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:/.test(cell) ? `${cell.slice(0, 10)}T${cell.slice(11)}`.replace(/z$/, 'Z') : cell;
    if (!rfc3339.safeParse(time).success || Number.isNaN(Date.parse(time)))
      throw new FeedError(`${where}: time "${shownName(cell)}" is not an RFC 3339 time with a zone, e.g. 2026-01-05T01:35:00Z`);
    // Date.parse takes `+010000-01-01T00:00:00Z` and `Jan 1 20000`: a candle time the runner would
    // publish as `+010000-...`, a state the API refuses (the runner shown gone) and no client reads.
    if (!inRfc3339Years(time)) throw new FeedError(`${where}: time "${shownName(cell)}" ${RFC3339_YEARS_PROBLEM}`);
    const instrument = (cells[col('instrument')] ?? '').toUpperCase();
    if (!/^[A-Z0-9]{3,6}_[A-Z0-9]{3,6}$/.test(instrument))
      throw new FeedError(`${where}: instrument "${shownName(instrument)}" must look like EUR_USD`);
    const candle: Candle = {
      time: new Date(time).toISOString(),
      open: price('open'),
      high: price('high'),
      low: price('low'),
      close: price('close'),
    };
    const extra: { volume?: number; spread?: number } = {};
    for (const name of OPTIONAL) {
      if (col(name) < 0 || (cells[col(name)] ?? '') === '') continue;
      const value = num(name);
      if (value < 0) throw new FeedError(`${where}: ${name} ${value} is below 0`);
      extra[name] = value;
    }
    if (candle.high < candle.low) throw new FeedError(`${where}: high ${candle.high} is below low ${candle.low}`);
    for (const name of ['open', 'close'] as const)
      if (candle[name] < candle.low || candle[name] > candle.high)
        throw new FeedError(`${where}: ${name} ${candle[name]} is outside low ${candle.low} to high ${candle.high}`);
    const times = seen.get(instrument) ?? new Map<string, number>();
    seen.set(instrument, times);
    const earlier = times.get(candle.time);
    // Both were kept: a bar replayed twice, and the signal computed over a duplicated bar.
    if (earlier !== undefined) throw new FeedError(`${where}: ${instrument} at ${candle.time} is also on line ${earlier}`);
    times.set(candle.time, i + 1);
    const list = byInstrument.get(instrument) ?? [];
    byInstrument.set(instrument, list);
    list.push({ ...candle, ...extra });
  }
  for (const list of byInstrument.values()) list.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  return byInstrument;
}

export interface CsvFeedOptions {
  /** Candles the first scan sees (or the whole series when it is shorter); each later scan sees one more. */
  warmupBars?: number;
}

/**
 * Replays candles from a CSV file, one bar per scan per instrument; at the end it keeps showing the
 * last window, and says so (`ended`): the runner stayed RUNNING with a frozen candle time, repeating
 * its last signal every scan without a word.
 */
export async function openCsvFeed(file: string, options: CsvFeedOptions = {}): Promise<CandleFeed> {
  let text: string;
  try {
    // Opened without blocking and checked on its descriptor before a byte is read, as the runtime
    // files are: a named pipe with no writer held the start (and a thread of Node's pool) for ever,
    // no stop signal ending it; a file of hundreds of MB took about 12 times its size in memory.
    text = (await readRuntimeBytes(file, { maxBytes: MAX_CSV_BYTES, followLink: true })).bytes.toString('utf8');
  } catch (err) {
    if (err instanceof RuntimeFileRefusedError && err.problem === 'not-a-file')
      throw new FeedError(`cannot read ${file}: it ${err.detail}, not a regular file`);
    if (err instanceof RuntimeFileRefusedError && err.problem === 'too-large')
      throw new FeedError(`cannot read ${file}: it ${err.detail} for a CSV feed`);
    throw new FeedError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const series = parseCandleCsv(text, file);
  const warmup = options.warmupBars ?? 200;
  const cursors = new Map<string, number>();
  /** Per instrument, once a call has brought no new bar: why (the feed never starts over). */
  const ended = new Map<string, string>();
  // By name only: the description and errors reach API clients, who are not told server paths.
  const name = path.basename(file);
  return {
    description: `csv:${name}`,
    async candles(instrument, count) {
      const list = series.get(instrument);
      if (!list?.length) throw new FeedError(`no candles for ${instrument} in ${name}`);
      const before = cursors.get(instrument);
      const cursor = Math.min(list.length, before !== undefined ? before + 1 : Math.max(1, warmup));
      cursors.set(instrument, cursor);
      if (before === cursor)
        ended.set(instrument, `csv feed ended at ${list.at(-1)!.time} for ${instrument}: the last window is scanned again`);
      return list.slice(Math.max(0, cursor - count), cursor);
    },
    ended: (instrument) => ended.get(instrument) ?? null,
  };
}
