import { describe, expect, it } from 'vitest';
import { ConnectionBurst } from '../../src/http/connection-burst.js';

/**
 * The event loop, by hand: `connect()` is a connection accepted in this turn's I/O, `endTurn()`
 * runs what was scheduled for the end of the turn (setImmediate's check phase).
 */
function loop(perTurn = 4) {
  let scheduled: (() => void)[] = [];
  const errors: unknown[] = [];
  const ran: string[] = [];
  /** How many requests had run each time `afterRun` was told. */
  const afterRuns: number[] = [];
  const burst = new ConnectionBurst(
    perTurn,
    (err) => errors.push(err),
    (fn) => scheduled.push(fn),
    () => afterRuns.push(ran.length),
  );
  return {
    burst,
    ran,
    errors,
    afterRuns,
    connect: () => burst.connected(),
    request: (name: string) => burst.admit(() => ran.push(name)),
    endTurn() {
      const now = scheduled;
      scheduled = [];
      for (const fn of now) fn();
    },
    get ticking() {
      return scheduled.length > 0;
    },
    /** Connections in two consecutive turns: the accept queue was not empty, a burst begins. */
    startBurst() {
      for (let turn = 0; turn < 2; turn++) {
        this.connect();
        this.endTurn();
      }
      expect(burst.inBurst).toBe(true);
    },
  };
}

describe('ConnectionBurst: requests in short batches while connections keep arriving', () => {
  it('one connection is no burst: requests run at once, and the watch stops after a turn without a connection', () => {
    const l = loop();
    l.connect();
    l.request('a');
    l.endTurn();
    l.request('b');
    l.endTurn(); // no connection in this turn
    l.request('c');
    expect(l.ran).toEqual(['a', 'b', 'c']);
    expect(l.burst.inBurst).toBe(false);
    expect(l.ticking).toBe(false);
    expect(l.burst.burstsTotal).toBe(0);
  });

  it('connections in consecutive turns start a burst: requests wait, then run perTurn a turn in arrival order', () => {
    const l = loop(2);
    l.connect();
    l.endTurn();
    l.connect();
    l.endTurn(); // a second turn with a connection: the accept queue was not empty
    expect(l.burst.inBurst).toBe(true);
    for (const name of ['r1', 'r2', 'r3', 'r4', 'r5']) l.request(name);
    expect(l.ran).toEqual([]);
    expect(l.burst.size).toBe(5);
    l.connect();
    l.endTurn();
    expect(l.ran).toEqual(['r1', 'r2']);
    l.connect();
    l.request('r6');
    l.endTurn();
    expect(l.ran).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(l.burst.queuedTotal).toBe(6);
    expect(l.burst.burstsTotal).toBe(1);
  });

  it('the first turn without a new connection runs every waiting request and ends the burst', () => {
    const l = loop(1);
    l.startBurst();
    for (const name of ['a', 'b', 'c']) l.request(name);
    l.endTurn(); // the accept queue is empty
    expect(l.ran).toEqual(['a', 'b', 'c']);
    expect(l.burst.inBurst).toBe(false);
    expect(l.ticking).toBe(false);
    l.request('d');
    expect(l.ran).toEqual(['a', 'b', 'c', 'd']);
  });

  it('flush (the server closing) runs every waiting request at once', () => {
    const l = loop(1);
    l.startBurst();
    l.request('a');
    l.request('b');
    l.burst.flush();
    expect(l.ran).toEqual(['a', 'b']);
    expect(l.burst.inBurst).toBe(false);
    l.request('c');
    expect(l.ran).toEqual(['a', 'b', 'c']);
  });

  it('afterRun is told once a turn has run requests from the queue, after them, and not for a turn that ran none', () => {
    const l = loop(2);
    l.request('at once'); // no burst: runs in its own callback, nothing to tell
    l.startBurst();
    expect(l.afterRuns).toEqual([]);
    for (const name of ['r1', 'r2', 'r3']) l.request(name);
    l.connect();
    l.endTurn();
    expect(l.afterRuns).toEqual([3]); // 'at once', r1, r2
    l.connect();
    l.endTurn();
    expect(l.afterRuns).toEqual([3, 4]);
    l.connect();
    l.endTurn(); // nothing waiting
    expect(l.afterRuns).toEqual([3, 4]);
    l.request('r4');
    l.burst.flush();
    expect(l.afterRuns).toEqual([3, 4, 5]);
  });

  it('a waiting request that throws is reported and does not strand the others', () => {
    const l = loop(4);
    l.startBurst();
    l.request('a');
    l.burst.admit(() => {
      throw new Error('boom');
    });
    l.request('c');
    l.connect();
    l.endTurn();
    expect(l.ran).toEqual(['a', 'c']);
    expect(l.errors).toHaveLength(1);
    expect((l.errors[0] as Error).message).toBe('boom');
  });

  it('a new burst after one ended is seen again, two turns in', () => {
    const l = loop(1);
    l.connect();
    l.endTurn();
    l.connect();
    l.endTurn();
    l.endTurn(); // over
    l.connect();
    l.endTurn();
    expect(l.burst.inBurst).toBe(false);
    l.connect();
    l.endTurn();
    expect(l.burst.inBurst).toBe(true);
    expect(l.burst.burstsTotal).toBe(2);
  });
});
