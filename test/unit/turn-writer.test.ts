import { describe, expect, it } from 'vitest';
import { TurnWriter } from '../../src/http/turn-writer.js';

/** The event loop, by hand: `endTurn()` runs what was scheduled for the end of the turn (setImmediate). */
function loop() {
  let scheduled: (() => void)[] = [];
  const written: string[] = [];
  const errors: unknown[] = [];
  const writer = new TurnWriter<string>(
    (answer) => {
      if (answer.startsWith('throws')) throw new Error(answer);
      written.push(answer);
    },
    (err) => errors.push(err),
    (fn) => scheduled.push(fn),
  );
  return {
    writer,
    written,
    errors,
    get scheduled() {
      return scheduled.length;
    },
    endTurn() {
      const now = scheduled;
      scheduled = [];
      for (const fn of now) fn();
    },
  };
}

describe('TurnWriter', () => {
  it('writes nothing until the end of the turn, then every answer of the turn in the order they came', () => {
    const l = loop();
    l.writer.add('a');
    l.writer.add('b');
    l.writer.add('c');
    expect(l.written).toEqual([]);
    expect(l.writer.size).toBe(3);
    l.endTurn();
    expect(l.written).toEqual(['a', 'b', 'c']);
    expect(l.writer.size).toBe(0);
  });

  it('asks for the end of the turn once per turn, and again in a later turn', () => {
    const l = loop();
    l.writer.add('a');
    l.writer.add('b');
    expect(l.scheduled).toBe(1);
    l.endTurn();
    expect(l.scheduled).toBe(0);
    l.writer.add('c');
    expect(l.scheduled).toBe(1);
    l.endTurn();
    expect(l.written).toEqual(['a', 'b', 'c']);
  });

  it('an answer queued while the turn ends (from a write) goes out at the end of the next turn, not lost', () => {
    const scheduled: (() => void)[] = [];
    const written: string[] = [];
    const writer: TurnWriter<string> = new TurnWriter<string>(
      (answer) => {
        written.push(answer);
        if (answer === 'a') writer.add('late');
      },
      () => {},
      (fn) => scheduled.push(fn),
    );
    writer.add('a');
    scheduled.shift()!();
    expect(written).toEqual(['a']);
    expect(scheduled).toHaveLength(1);
    scheduled.shift()!();
    expect(written).toEqual(['a', 'late']);
  });

  it('an answer whose write throws is reported, and the turn’s other answers are still written', () => {
    const l = loop();
    l.writer.add('a');
    l.writer.add('throws 1');
    l.writer.add('b');
    l.endTurn();
    expect(l.written).toEqual(['a', 'b']);
    expect(l.errors.map((e) => (e as Error).message)).toEqual(['throws 1']);
  });

  it('flush() writes what waits at once; the end of the turn then has nothing left to write', () => {
    const l = loop();
    l.writer.add('a');
    l.writer.flush();
    expect(l.written).toEqual(['a']);
    l.endTurn();
    expect(l.written).toEqual(['a']);
  });
});
