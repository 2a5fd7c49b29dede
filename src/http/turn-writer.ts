/**
 * Answers ready in a turn's I/O are written together at its end (issue 10, item 1: reads at the
 * machine's limit).
 *
 * A cached read is answered in the callback that read its request. Written there, each answer's
 * `writev` sat between two requests' parsing, and the load's client (on the other core) took each
 * answer as it came, often going back to sleep between two of them, so nearly every write paid for
 * waking it: a loopback `writev` cost this server ~24 µs against plain `node:http`'s ~17, for the
 * same bytes (`--cpu-prof`, self time per answer). Plain `node:http` made ~9 µs slower per request
 * (a busy loop before its answer) did as badly as this server did, so what this server's answers
 * paid was the pace, not the bytes: the slower the server, the more its writes wake the client.
 *
 * Queued here instead, the turn's answers go out back to back in its check phase (setImmediate,
 * after every request of the turn's I/O was read), while the client is awake for the first of them.
 * A `writev` then cost ~12 µs, the server's CPU per cached read fell by a fifth and its reads per
 * second rose by 14-26% (bench/profile.md, "Answers written at the end of the turn"). An answer
 * waits at most for the rest of its turn's requests to be read, a few µs each; an answer that is
 * not ready in the turn (a write's, after its durable write) is written as soon as it is, as before.
 */
export class TurnWriter<T> {
  private due: T[] = [];

  /**
   * @param write writes one answer (it reports its own failures; one that throws is given to `onError`)
   * @param onError told of an answer whose write threw; the others are still written
   * @param nextTurn runs a function at the end of this turn's I/O (setImmediate: from an I/O
   *   callback, this turn's check phase; from there, the next turn's)
   */
  constructor(
    private readonly write: (answer: T) => void,
    private readonly onError: (err: unknown) => void,
    private readonly nextTurn: (fn: () => void) => void = setImmediate,
  ) {}

  /** Answers waiting for the end of the turn now. */
  get size(): number {
    return this.due.length;
  }

  /** Writes `answer` at the end of this turn, after the answers queued before it. */
  add(answer: T): void {
    if (this.due.push(answer) === 1) this.nextTurn(this.flush);
  }

  /** Writes every answer waiting, in the order they came. */
  readonly flush = (): void => {
    const due = this.due;
    this.due = [];
    for (const answer of due) {
      try {
        this.write(answer);
      } catch (err) {
        this.onError(err);
      }
    }
  };
}
