/**
 * Requests run in short batches while new connections keep arriving (issue 10, item 4).
 *
 * Node 20's libuv accepts one connection per turn of the event loop. When hundreds of clients
 * connect at once (a read storm starting, dashboards reconnecting after a network blip), every
 * reader already accepted is answered in a turn before the next connection is accepted, so each
 * turn is longer than the last and the kernel's accept queue takes hundreds of milliseconds to
 * drain: an activation on a new connection (`stratctl activate`) waited up to ~300 ms behind 200
 * readers' connections, while its own path took 5-46 ms once accepted.
 *
 * So while connections arrive in consecutive turns (the accept queue is not empty), the requests
 * read meanwhile wait in arrival order and run `perTurn` a turn, and each turn stays short: at a
 * 200-connection storm's start the accept queue drained in 10-137 ms (median 59) where it took
 * 11-465 ms (median 293). The first turn in which no connection arrives (the accept queue is
 * empty) runs every waiting request and ends the burst. Outside a burst a request runs at once:
 * the cost is one comparison.
 */
export class ConnectionBurst {
  private state: 'idle' | 'watching' | 'burst' = 'idle';
  /** A connection arrived since the last check of a turn. */
  private arrived = false;
  private ticking = false;
  private readonly waiting: (() => void)[] = [];
  /** Requests queued since the server started (a counter for the metrics). */
  queuedTotal = 0;
  /** Bursts seen since the server started. */
  burstsTotal = 0;

  /**
   * @param perTurn how many waiting requests a turn runs during a burst
   * @param nextTurn runs a function at the end of this turn's I/O (setImmediate: from an I/O
   *   callback, this turn's check phase; from there, the next turn's)
   * @param onError told of a request that threw when it ran from the queue
   * @param afterRun told once waiting requests have run (in a check phase): the adapter writes
   *   their answers then, not a turn later (turn-writer.ts)
   */
  constructor(
    private readonly perTurn: number,
    private readonly onError: (err: unknown) => void,
    private readonly nextTurn: (fn: () => void) => void = setImmediate,
    private readonly afterRun: () => void = () => {},
  ) {}

  /** Within a burst now: requests wait their turn. */
  get inBurst(): boolean {
    return this.state === 'burst';
  }

  /** Requests waiting now. */
  get size(): number {
    return this.waiting.length;
  }

  /** A connection was accepted (the server's `connection` event). */
  connected(): void {
    this.arrived = true;
    if (this.ticking) return;
    this.ticking = true;
    this.nextTurn(this.tick);
  }

  /** Runs `request` now, or, within a burst, once its turn comes. */
  admit(request: () => void): void {
    if (this.state !== 'burst') {
      request();
      return;
    }
    this.queuedTotal += 1;
    this.waiting.push(request);
  }

  /** Runs every waiting request now and ends the burst (the server is closing). */
  flush(): void {
    this.state = 'idle';
    this.runWaiting(this.waiting.length);
  }

  /** At the end of each turn's I/O while connections are arriving. */
  private readonly tick = (): void => {
    const arrived = this.arrived;
    this.arrived = false;
    if (this.state === 'idle') {
      // The turn of a first connection: the next turn tells whether another was waiting behind it.
      this.state = 'watching';
    } else if (!arrived) {
      // A turn without a new connection: the accept queue is empty, the burst (if any) is over.
      this.ticking = false;
      this.flush();
      return;
    } else if (this.state === 'watching') {
      this.state = 'burst';
      this.burstsTotal += 1;
    } else {
      this.runWaiting(this.perTurn);
    }
    this.nextTurn(this.tick);
  };

  private runWaiting(count: number): void {
    const run = this.waiting.splice(0, count);
    for (const request of run) {
      try {
        request();
      } catch (err) {
        // The adapter's requests answer their own failures; one that throws anyway must not strand the rest.
        this.onError(err);
      }
    }
    if (run.length > 0) this.afterRun();
  }
}
