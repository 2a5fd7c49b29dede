import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { boundedDestination, createLogger, droppedLinesMessage, droppedLogLines, LOG_BUFFER_MAX_CHARS } from '../../src/log.js';

/**
 * A Node writable as process.stderr on a pipe behaves, with no pipe: writes are held until the
 * test lets the reader `take` them; `write` answers false past the high-water mark, and 'drain'
 * comes once all is taken after that.
 */
class HeldStream extends EventEmitter {
  readonly held: string[] = [];
  readonly written: string[] = [];
  private needDrain = false;
  constructor(private readonly highWaterMark = 16 * 1024) {
    super();
  }
  get writableLength(): number {
    return this.held.reduce((n, line) => n + line.length, 0);
  }
  write(chunk: string): boolean {
    this.held.push(chunk);
    const below = this.writableLength < this.highWaterMark;
    if (!below) this.needDrain = true;
    return below;
  }
  /** The reader takes everything held. */
  take(): void {
    this.written.push(...this.held.splice(0));
    if (this.needDrain) {
      this.needDrain = false;
      this.emit('drain');
    }
  }
}

const line = (i: number) => `${JSON.stringify({ level: 30, time: 0, msg: `line ${i}`.padEnd(90, '.') })}\n`;

describe('boundedDestination', () => {
  it('passes every line on, in order and unchanged, while the reader keeps up', () => {
    const stream = new HeldStream(256);
    const resumed: number[] = [];
    const dest = boundedDestination(stream, (n) => resumed.push(n), { maxChars: 1000 });
    const lines = Array.from({ length: 50 }, (_, i) => line(i));
    for (const [i, l] of lines.entries()) {
      dest.write(l);
      if (i % 5 === 4) stream.take();
    }
    stream.take();
    expect(stream.written).toEqual(lines);
    expect(dest.dropped()).toBe(0);
    expect(resumed).toEqual([]);
  });

  it('drops lines once maxChars wait, counts them, and says how many and since when once the reader caught up', () => {
    const stream = new HeldStream(256);
    let clock = 1_000;
    const resumed: Array<[number, number]> = [];
    const dest = boundedDestination(stream, (n, since) => resumed.push([n, since]), { maxChars: 1000, now: () => clock });
    const lines = Array.from({ length: 30 }, (_, i) => line(i));
    for (const l of lines) {
      dest.write(l);
      clock += 10;
    }
    // 11 lines of 91 characters reach 1000: the 12th and later are dropped, the first at 1_110.
    const kept = Math.ceil(1000 / lines[0]!.length);
    expect(stream.held).toEqual(lines.slice(0, kept));
    expect(dest.dropped()).toBe(30 - kept);
    expect(resumed).toEqual([]);
    stream.take();
    expect(resumed).toEqual([[30 - kept, 1_000 + kept * 10]]);
    // Writing works again: the next lines go out, and the count keeps its total.
    dest.write(line(99));
    stream.take();
    expect(stream.written).toEqual([...lines.slice(0, kept), line(99)]);
    expect(dest.dropped()).toBe(30 - kept);
    // A second spell is reported on its own (its count, its start).
    for (const l of lines) dest.write(l);
    stream.take();
    expect(resumed).toEqual([
      [30 - kept, 1_000 + kept * 10],
      [30 - kept, clock],
    ]);
    expect(dest.dropped()).toBe(2 * (30 - kept));
  });

  it('never drops into a stream that writes at once (a file: nothing is ever held)', () => {
    const written: string[] = [];
    const sync = Object.assign(new EventEmitter(), { writableLength: 0, write: (l: string) => written.push(l) > 0 });
    const dest = boundedDestination(sync, () => {}, { maxChars: 10 });
    for (let i = 0; i < 100; i++) dest.write(line(i));
    expect(written).toHaveLength(100);
    expect(dest.dropped()).toBe(0);
  });
});

describe('createLogger on a stream whose reader stalls', () => {
  for (const format of ['json', 'text'] as const) {
    it(`${format}: the same lines as before, then drops counted, then one WARN line when the reader is back`, () => {
      const stream = new HeldStream();
      const logger = createLogger({ format, destination: stream as unknown as NodeJS.WriteStream });
      logger.info({ n: 1, token: 'secret-token-0123456789' }, 'first \u001b[31m');
      expect(stream.held).toHaveLength(1);
      const first = stream.held[0]!;
      // As before this bound: censored, terminal-safe, one line.
      if (format === 'json') expect(JSON.parse(first)).toMatchObject({ level: 30, n: 1, token: '[redacted]', msg: 'first \u001b[31m' });
      else expect(first).toMatch(/^\S+Z INFO {2}first \\u001b\[31m n=1 token=\[redacted\]\n$/);
      expect(first).not.toContain('\u001b');
      // The reader stalls: lines pile up to the bound, then are dropped.
      const big = 'x'.repeat(1000);
      let writes = 0;
      while (droppedLogLines(logger) < 10) {
        logger.info({ big }, 'filler');
        writes += 1;
        expect(writes).toBeLessThan((LOG_BUFFER_MAX_CHARS / 1000) * 2);
      }
      expect(stream.writableLength).toBeGreaterThanOrEqual(LOG_BUFFER_MAX_CHARS);
      expect(stream.writableLength).toBeLessThan(LOG_BUFFER_MAX_CHARS + 2000);
      // A child logger shares its parent's output, and its count.
      logger.child({ reqId: 'r1' }).info('dropped too');
      expect(droppedLogLines(logger.child({}))).toBe(11);
      stream.take();
      expect(stream.held).toHaveLength(1);
      const warn = stream.held[0]!;
      if (format === 'json')
        expect(JSON.parse(warn)).toMatchObject({ level: 40, droppedLines: 11, msg: expect.stringMatching(/^11 log lines dropped since /) });
      else expect(warn).toMatch(/^\S+ WARN {2}11 log lines dropped since \S+: stderr was not read .* droppedLines=11 droppedSince=\S+\n$/);
      expect(warn).toContain('control_plane_log_lines_dropped_total');
    });
  }

  it('the message says the count, the time of the first dropped line and the metric', () => {
    expect(droppedLinesMessage(1, Date.UTC(2026, 0, 2, 3, 4, 5))).toBe(
      '1 log line dropped since 2026-01-02T03:04:05.000Z: stderr was not read (its reader stalled) and 4 MiB of lines were waiting; control_plane_log_lines_dropped_total counts them',
    );
  });

  it('a destination with only write (a test, a function) is written to as before: never dropped, no count', () => {
    const raw: string[] = [];
    const logger = createLogger({ destination: { write: (l) => raw.push(l) } });
    for (let i = 0; i < 10; i++) logger.info(`line ${i}`);
    expect(raw).toHaveLength(10);
    expect(droppedLogLines(logger)).toBe(0);
  });
});
