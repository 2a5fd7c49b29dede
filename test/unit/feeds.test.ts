import { execFileSync } from 'node:child_process';
import { truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCsvFeed, parseCandleCsv } from '../../src/runner/csv-feed.js';
import { FeedError } from '../../src/runner/feed.js';
import { createSimulatedFeed } from '../../src/runner/sim-feed.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

describe('simulated feed', () => {
  it('is a seeded random walk: the same seed and calls give the same candles, another seed others', async () => {
    const a = createSimulatedFeed({ seed: 7 });
    const b = createSimulatedFeed({ seed: 7 });
    const c = createSimulatedFeed({ seed: 8 });
    const first = await a.candles('EUR_USD', 300);
    expect(first).toHaveLength(300);
    expect(await b.candles('EUR_USD', 300)).toEqual(first);
    expect((await c.candles('EUR_USD', 300)).at(-1)!.close).not.toBe(first.at(-1)!.close);
    expect(a.description).toBe('sim:7');
  });

  it('advances one bar per call, keeps bars consistent, and walks each instrument on its own', async () => {
    const feed = createSimulatedFeed({ seed: 1, barSeconds: 60 });
    const before = await feed.candles('XAU_USD', 100);
    const after = await feed.candles('XAU_USD', 100);
    expect(after.slice(0, 99)).toEqual(before.slice(1));
    expect(Date.parse(after.at(-1)!.time) - Date.parse(before.at(-1)!.time)).toBe(60_000);
    for (const bar of after) {
      expect(bar.high).toBeGreaterThanOrEqual(Math.max(bar.open, bar.close));
      expect(bar.low).toBeLessThanOrEqual(Math.min(bar.open, bar.close));
    }
    expect(before.at(-1)!.close).toBeGreaterThan(1000); // gold starts near its real price
    const eur = await feed.candles('EUR_USD', 10);
    expect(eur.at(-1)!.close).toBeLessThan(2);
  });
});

const CSV = `time,instrument,open,high,low,close,volume,spread
2026-03-02T08:00:00Z,EUR_USD,1.1,1.102,1.099,1.101,10,0.0001
2026-03-02T08:05:00Z,EUR_USD,1.101,1.103,1.1,1.102,,
# a comment
2026-03-02T08:00:00Z,XAU_USD,2300,2310,2290,2305,5,
2026-03-02T08:10:00Z,EUR_USD,1.102,1.104,1.101,1.103,12,0.0002
`;

const HEAD = 'time,instrument,open,high,low,close\n';
const T = '2026-03-02T08:00:00Z';

describe('CSV replay feed', () => {
  it('parses candles per instrument, sorted by time, optional columns optional', () => {
    const series = parseCandleCsv(CSV);
    expect([...series.keys()]).toEqual(['EUR_USD', 'XAU_USD']);
    expect(series.get('EUR_USD')!.map((c) => c.close)).toEqual([1.101, 1.102, 1.103]);
    expect(series.get('EUR_USD')![1]).toEqual({ time: '2026-03-02T08:05:00.000Z', open: 1.101, high: 1.103, low: 1.1, close: 1.102 });
    expect(series.get('EUR_USD')![0]!.spread).toBe(0.0001);
  });

  it.each([
    ['a missing column', 'time,instrument,open,high,close\n', /line 1: header lacks low/],
    ['a bad number', 'time,instrument,open,high,low,close\n2026-03-02T08:00:00Z,EUR_USD,1,x,1,1\n', /line 2: high "x" is not a number/],
    ['a bad time', 'time,instrument,open,high,low,close\nyesterday,EUR_USD,1,1,1,1\n', /line 2: time "yesterday"/],
    // Date.parse takes both; as toISOString they are +010000-... and +020000-...: a candleTime no client reads.
    [
      'a time past year 9999 in UTC',
      'time,instrument,open,high,low,close\n9999-12-31T23:59:59-12:00,EUR_USD,1,1,1,1\n',
      /line 2: time "9999-12-31T23:59:59-12:00" must be, in UTC, within years 0000 to 9999 \(RFC 3339\)/,
    ],
    [
      'an expanded year',
      'time,instrument,open,high,low,close\nJan 1 20000,EUR_USD,1,1,1,1\n',
      /line 2: time "Jan 1 20000" is not an RFC 3339 time/,
    ],
    ['high below low', 'time,instrument,open,high,low,close\n2026-03-02T08:00:00Z,EUR_USD,1,1,2,1\n', /line 2: high 1 is below low 2/],
    // Each of these was taken without a word (review of the CSV feed).
    ['a close above the high', `${HEAD}${T},EUR_USD,1,2,0.5,50\n`, /^file\.csv: line 2: close 50 is outside low 0\.5 to high 2$/],
    ['an open below the low', `${HEAD}${T},EUR_USD,0.4,2,0.5,1\n`, /^file\.csv: line 2: open 0\.4 is outside low 0\.5 to high 2$/],
    ['a negative price', `${HEAD}${T},EUR_USD,-1,-0.5,-2,-1\n`, /^file\.csv: line 2: open -1 is not above 0$/],
    ['a zero price', `${HEAD}${T},EUR_USD,1,1,0,1\n`, /^file\.csv: line 2: low 0 is not above 0$/],
    [
      'a negative volume',
      'time,instrument,open,high,low,close,volume\n2026-03-02T08:00:00Z,EUR_USD,1,1,1,1,-5\n',
      /line 2: volume -5 is below 0/,
    ],
    [
      'a second bar for the same instrument and time (the same instant in another zone too)',
      `${HEAD}# c\n${T},EUR_USD,1,2,0.5,1\n2026-03-02T09:00:00+01:00,EUR_USD,1,2,0.5,1.5\n`,
      /^file\.csv: line 4: EUR_USD at 2026-03-02T08:00:00\.000Z is also on line 3$/,
    ],
    ['a time without a date', `${HEAD}1,EUR_USD,1,1,1,1\n`, /^file\.csv: line 2: time "1" is not an RFC 3339 time with a zone/],
    ['a time without a zone', `${HEAD}2026-01-01 10:00,EUR_USD,1,1,1,1\n`, /line 2: time "2026-01-01 10:00" is not an RFC 3339/],
    ['a local time with a T', `${HEAD}2026-01-01T10:00:00,EUR_USD,1,1,1,1\n`, /line 2: time "2026-01-01T10:00:00" is not an RFC 3339/],
    ['a date alone', `${HEAD}2026-01-01,EUR_USD,1,1,1,1\n`, /line 2: time "2026-01-01" is not an RFC 3339/],
    ['a hexadecimal number', `${HEAD}${T},EUR_USD,0x10,20,1,1\n`, /^file\.csv: line 2: open "0x10" is not a number$/],
    ['a number past a double', `${HEAD}${T},EUR_USD,1,1e400,1,1\n`, /line 2: high "1e400" is not a number/],
    ['a column named twice', 'time,instrument,open,high,low,close,close\n', /^file\.csv: line 1: header names close twice$/],
    // Prices near the largest double: the averages' sums ran to Infinity, the runner published null
    // values, the API refused its state, and a live runner was listed STOPPED (then not at all).
    [
      'a price no market prints',
      `${HEAD}${T},EUR_USD,1e307,1e307,1e307,1e307\n`,
      /^file\.csv: line 2: open 1e\+307 is above 1000000000000, not a price a market prints$/,
    ],
    [
      'a price near the smallest double',
      `${HEAD}${T},EUR_USD,1e-310,1e-310,1e-310,1e-310\n`,
      /^file\.csv: line 2: open 1e-310 is below 1e-12, not a price a market prints$/,
    ],
    ['no header at all', '# exported\n\n', /^file\.csv: no header line \(need time,instrument,open,high,low,close\)$/],
  ])('refuses %s, naming the line', (_what, text, message) => {
    expect(() => parseCandleCsv(text, 'file.csv')).toThrow(message);
  });

  it('skips empty and # lines before the header too, and takes cells in double quotes (csv.QUOTE_ALL) as they are inside', () => {
    const series = parseCandleCsv(
      `# exported by a tool\n\n"time","instrument","open","high","low","close"\n"${T}","EUR_USD","1","2","0.5","1.5"\n`,
      'file.csv',
    );
    expect(series.get('EUR_USD')).toEqual([{ time: '2026-03-02T08:00:00.000Z', open: 1, high: 2, low: 0.5, close: 1.5 }]);
  });

  it('reads CR-only line endings (an old Mac) as lines, and decimal numbers in every spelling a CSV writes', () => {
    const series = parseCandleCsv(
      `time,instrument,open,high,low,close\r${T},EUR_USD,+1.5,2E0,1e-0,1.25\r2026-03-02T08:05:00.5+00:00,EUR_USD,1,1,1,1\r`,
    );
    expect(series.get('EUR_USD')).toEqual([
      { time: '2026-03-02T08:00:00.000Z', open: 1.5, high: 2, low: 1, close: 1.25 },
      { time: '2026-03-02T08:05:00.500Z', open: 1, high: 1, low: 1, close: 1 },
    ]);
  });

  it("reads RFC 3339's other spellings: a space for the T (pandas' to_csv), t and z in lower case; the zone still required", () => {
    const series = parseCandleCsv(
      `${HEAD}2026-01-05 01:35:00+00:00,EUR_USD,1,1,1,1\n2026-01-05t01:40:00z,EUR_USD,1,1,1,1\n2026-01-05 02:45:00+01:00,EUR_USD,1,1,1,1\n`,
    );
    expect(series.get('EUR_USD')?.map((c) => c.time)).toEqual([
      '2026-01-05T01:35:00.000Z',
      '2026-01-05T01:40:00.000Z',
      '2026-01-05T01:45:00.000Z',
    ]);
    expect(() => parseCandleCsv(`${HEAD}2026-01-05 01:35:00,EUR_USD,1,1,1,1\n`, 'file.csv')).toThrow(
      /line 2: time "2026-01-05 01:35:00" is not an RFC 3339 time with a zone/,
    );
  });

  it('shows a huge cell cut in its message, not whole', () => {
    const huge = 'x'.repeat(1_000_000);
    for (const text of [`${HEAD}${huge},EUR_USD,1,1,1,1\n`, `${HEAD}${T},EUR_USD,${huge},1,1,1\n`, `${HEAD}${T},${huge},1,1,1,1\n`]) {
      let message = '';
      try {
        parseCandleCsv(text, 'file.csv');
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^file\.csv: line 2: \w+ "x{59}…" /i);
      expect(message.length).toBeLessThan(200);
    }
  });

  it('replays one more bar per scan from the warm-up, then holds at the end; an unknown instrument rejects', async () => {
    const file = path.join(await tempRuntimeDir(), 'candles.csv');
    await writeFile(file, CSV);
    const feed = await openCsvFeed(file, { warmupBars: 1 });
    expect(feed.description).toBe('csv:candles.csv'); // no server path for API clients
    expect((await feed.candles('EUR_USD', 10)).map((c) => c.close)).toEqual([1.101]);
    expect((await feed.candles('EUR_USD', 10)).map((c) => c.close)).toEqual([1.101, 1.102]);
    expect((await feed.candles('EUR_USD', 2)).map((c) => c.close)).toEqual([1.102, 1.103]);
    expect((await feed.candles('EUR_USD', 10)).map((c) => c.close)).toEqual([1.101, 1.102, 1.103]);
    await expect(feed.candles('GBP_USD', 10)).rejects.toThrow(/no candles for GBP_USD/);
  });

  it('refuses at once what is not a regular file of at most 32 MiB: a named pipe held the start for ever (no stop signal ended it), a huge file took ~12 times its size in memory', async () => {
    const dir = await tempRuntimeDir();
    const fifo = path.join(dir, 'candles.csv');
    execFileSync('mkfifo', [fifo]);
    await expect(openCsvFeed(fifo)).rejects.toThrow(new FeedError(`cannot read ${fifo}: it is a named pipe (FIFO), not a regular file`));
    const huge = path.join(dir, 'huge.csv');
    await writeFile(huge, HEAD);
    await truncate(huge, 40 * 1024 * 1024); // sparse: nothing is written
    await expect(openCsvFeed(huge)).rejects.toThrow(
      new FeedError(`cannot read ${huge}: it is ${40 * 1024 * 1024} bytes, over the limit of ${32 * 1024 * 1024} bytes for a CSV feed`),
    );
    await expect(openCsvFeed(dir)).rejects.toThrow(new FeedError(`cannot read ${dir}: it is a directory, not a regular file`));
  });
});
