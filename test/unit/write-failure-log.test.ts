import { describe, expect, it } from 'vitest';
import { ConfigWriteError } from '../../src/config/errors.js';
import { createLogger } from '../../src/log.js';
import { writeFailureLog } from '../../src/write-failure-log.js';
import { manualClock } from '../helpers/manual-clock.js';

/** A log of failed writes on a clock and timers moved by hand; its lines as JSON. */
function harness() {
  const lines: { level: number; msg: string; failures?: number }[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => lines.push(JSON.parse(line)) } });
  const clock = manualClock();
  const log = writeFailureLog({ logger, now: clock.now, later: clock.later });
  const fail = () => log.failed(logger, new ConfigWriteError('fsync', 'ENOSPC'), 'config could not be written (fsync: ENOSPC)');
  return { lines, log, advance: clock.advance, fail, pending: clock.pending };
}

describe('the log of failed config writes', () => {
  it('the rest of a spell is counted at the minute by itself when no failure comes after it (clients that gave up), once', () => {
    const { lines, advance, fail, pending } = harness();
    fail();
    advance(1_000);
    for (let i = 0; i < 5; i++) fail();
    expect(lines.map((l) => l.msg)).toEqual(['config could not be written (fsync: ENOSPC)']);
    // No failure after these: the count is said when the minute since the first is over.
    advance(58_999);
    expect(lines).toHaveLength(1);
    advance(1);
    expect(lines.map((l) => l.msg)).toEqual([
      'config could not be written (fsync: ENOSPC)',
      '5 more config writes failed in the last minute (fsync, ENOSPC)',
    ]);
    expect(lines[1]).toMatchObject({ level: 50, failures: 5 });
    advance(120_000);
    expect(lines).toHaveLength(2);
    expect(pending()).toBe(0);
  });

  it('a write landing says what is unsaid at once and leaves no timer behind', () => {
    const { lines, log, advance, fail, pending } = harness();
    fail();
    fail();
    fail();
    advance(10_000);
    expect(log.ended()).toEqual({ failures: 3, since: new Date(0).toISOString() });
    expect(lines.map((l) => l.msg)).toEqual([
      'config could not be written (fsync: ENOSPC)',
      '2 more config writes failed in the last 10 s (fsync, ENOSPC)',
    ]);
    expect(pending()).toBe(0);
    advance(120_000);
    expect(lines).toHaveLength(2);
  });
});
