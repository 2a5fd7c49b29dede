import { describe, expect, it } from 'vitest';
import { FAULT_FULL_LINES_PER_MINUTE, faultLog } from '../../src/fault-log.js';
import { createLogger } from '../../src/log.js';
import { manualClock } from '../helpers/manual-clock.js';

/** The log of 500s on a clock and timers moved by hand; its lines as JSON. */
function harness() {
  const lines: { level: number; msg: string; failures?: number; err?: unknown }[] = [];
  const logger = createLogger({ level: 'info', format: 'json', destination: { write: (line: string) => lines.push(JSON.parse(line)) } });
  const clock = manualClock();
  const log = faultLog({ logger, now: clock.now, later: clock.later });
  const fail = (message = 'boom') => log.failed(logger, new Error(message), 'GraphQL operation failed; answered masked');
  return { lines, advance: clock.advance, fail, pending: clock.pending };
}

describe('the log of requests answered 500', () => {
  it('the rest of a kind is counted at the minute by itself when no fault comes after it, once', () => {
    const { lines, advance, fail, pending } = harness();
    fail();
    advance(1_000);
    for (let i = 0; i < 5; i++) fail();
    expect(lines.map((l) => l.msg)).toEqual(['GraphQL operation failed; answered masked']);
    expect(lines[0]?.err).toMatchObject({ message: 'boom' });
    advance(58_999);
    expect(lines).toHaveLength(1);
    advance(1);
    expect(lines[1]).toMatchObject({
      level: 50,
      failures: 5,
      msg: '5 more requests failed in the last minute, answered 500 Unexpected error. (Error, boom: GraphQL operation failed; answered masked: 5)',
    });
    advance(120_000);
    expect(lines).toHaveLength(2);
    expect(pending()).toBe(0);
  });

  it(`at most ${FAULT_FULL_LINES_PER_MINUTE} kinds in full a minute: a flood of varied faults is counted past it`, () => {
    const { lines, advance, fail } = harness();
    for (let i = 0; i < 50; i++) fail(`boom ${i}`);
    expect(lines).toHaveLength(FAULT_FULL_LINES_PER_MINUTE);
    advance(60_000);
    expect(lines).toHaveLength(FAULT_FULL_LINES_PER_MINUTE + 1);
    expect(lines.at(-1)).toMatchObject({ failures: 50 - FAULT_FULL_LINES_PER_MINUTE });
  });
});
