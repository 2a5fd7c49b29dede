import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { inRfc3339Years, RFC3339_YEARS_PROBLEM } from '../config/schema.js';
import type { Candle } from '../registry/signals/index.js';
import { type CandleFeed, FeedError } from './feed.js';

const REQUIRED = ['time', 'instrument', 'open', 'high', 'low', 'close'] as const;
const OPTIONAL = ['volume', 'spread'] as const;

/** Parses `time,instrument,open,high,low,close[,volume][,spread]` (header first, any column order). */
export function parseCandleCsv(text: string, source = 'csv'): Map<string, Candle[]> {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim().toLowerCase());
  const missing = REQUIRED.filter((c) => !header.includes(c));
  if (missing.length) throw new FeedError(`${source}: line 1: header lacks ${missing.join(', ')} (need ${REQUIRED.join(',')})`);
  const col = (name: string) => header.indexOf(name);
  const byInstrument = new Map<string, Candle[]>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const cells = line.split(',').map((c) => c.trim());
    const where = `${source}: line ${i + 1}`;
    const num = (name: string) => {
      const raw = cells[col(name)] ?? '';
      const value = Number(raw);
      if (raw === '' || !Number.isFinite(value)) throw new FeedError(`${where}: ${name} "${raw}" is not a number`);
      return value;
    };
    const time = cells[col('time')] ?? '';
    if (Number.isNaN(Date.parse(time))) throw new FeedError(`${where}: time "${time}" is not an ISO-8601 time`);
    // Date.parse takes `+010000-01-01T00:00:00Z` and `Jan 1 20000`: a candle time the runner would
    // publish as `+010000-...`, a state the API refuses (the runner shown gone) and no client reads.
    if (!inRfc3339Years(time)) throw new FeedError(`${where}: time "${time}" ${RFC3339_YEARS_PROBLEM}`);
    const instrument = (cells[col('instrument')] ?? '').toUpperCase();
    if (!/^[A-Z0-9]{3,6}_[A-Z0-9]{3,6}$/.test(instrument))
      throw new FeedError(`${where}: instrument "${instrument}" must look like EUR_USD`);
    const candle: Candle = {
      time: new Date(time).toISOString(),
      open: num('open'),
      high: num('high'),
      low: num('low'),
      close: num('close'),
    };
    const extra: { volume?: number; spread?: number } = {};
    for (const name of OPTIONAL) if (col(name) >= 0 && (cells[col(name)] ?? '') !== '') extra[name] = num(name);
    if (candle.high < candle.low) throw new FeedError(`${where}: high ${candle.high} is below low ${candle.low}`);
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

/** Replays candles from a CSV file, one bar per scan per instrument; at the end it keeps showing the last window. */
export async function openCsvFeed(file: string, options: CsvFeedOptions = {}): Promise<CandleFeed> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new FeedError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const series = parseCandleCsv(text, file);
  const warmup = options.warmupBars ?? 200;
  const cursors = new Map<string, number>();
  // By name only: the description and errors reach API clients, who are not told server paths.
  const name = path.basename(file);
  return {
    description: `csv:${name}`,
    async candles(instrument, count) {
      const list = series.get(instrument);
      if (!list?.length) throw new FeedError(`no candles for ${instrument} in ${name}`);
      const cursor = Math.min(list.length, cursors.has(instrument) ? cursors.get(instrument)! + 1 : Math.max(1, warmup));
      cursors.set(instrument, cursor);
      return list.slice(Math.max(0, cursor - count), cursor);
    },
  };
}
