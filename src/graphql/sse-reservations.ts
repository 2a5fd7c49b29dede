import { MAX_STREAM_BUFFER_BYTES } from '../limit-defaults.js';
import { type Later, unrefLater } from '../log.js';
import type { ClientSlots } from './plugins/subscription-limit.js';

/**
 * How long a reserved stream waits for the GET that opens it. graphql-sse's client sends that GET
 * right after its PUT is answered; a reservation nobody opens in this time is dropped.
 */
export const STREAM_RESERVATION_MS = 10_000;

interface Waiting {
  readonly client: string;
  readonly cancel: () => void;
  /** Bytes of events graphql-sse holds for it, to be flushed when its GET opens it. */
  queued: number;
}

/**
 * graphql-sse's single-connection reservations (a PUT to /graphql/stream) not yet opened by their
 * GET. graphql-sse keeps each until a stream opened on it ends, so without a bound anyone, with or
 * without a token, could fill the server's memory with PUTs (~2.5 KB each; a server with a 96 MB
 * heap died after 38,655). Each is one of its client's slots of the per-client subscription budget
 * (`ClientSlots`), given back when its GET opens it (its subscriptions count from then) or when it
 * is dropped, `ttlMs` after it was made, through `drop`.
 *
 * The protocol lets operations be posted to a reservation before its GET (graphql-sse queues their
 * events, without a bound, "flushed on connect"): a client that subscribed on one and never opened
 * it was a reader that reads nothing, with no connection for the stream buffer cap (send.ts) to
 * apply to. So the same cap applies here: once the events waiting for a reservation's GET pass
 * `maxQueuedBytes`, it is dropped at once, with what was subscribed on it (`onOverflow`).
 */
export class StreamReservations {
  private readonly waiting = new Map<string, Waiting>();

  constructor(
    private readonly slots: ClientSlots,
    /** Makes graphql-sse forget a reservation (sse.ts). */
    private readonly drop: (token: string) => void,
    private readonly later: Later = unrefLater,
    private readonly ttlMs: number = STREAM_RESERVATION_MS,
    private readonly maxQueuedBytes: number = MAX_STREAM_BUFFER_BYTES,
    /** Told of a reservation dropped for what waited for its GET (metrics, log). */
    private readonly onOverflow: (queued: number) => void = () => {},
  ) {}

  /** Before a PUT is handled: a slot for it, or false when the client holds its whole budget. */
  take(client: string): boolean {
    return this.slots.take(client);
  }

  /** The PUT `take` was for reserved nothing (a token already reserved, a wrong Accept, a failure). */
  giveBack(client: string): void {
    this.slots.release(client);
  }

  /** The PUT reserved `token`: it keeps its slot until a GET opens it, or `ttlMs`. */
  hold(token: string, client: string): void {
    const waiting: Waiting = {
      client,
      queued: 0,
      cancel: this.later(() => {
        if (this.waiting.get(token) !== waiting) return;
        this.forget(token, waiting);
      }, this.ttlMs),
    };
    this.waiting.set(token, waiting);
  }

  /**
   * An event of `bytes` was queued for `token`: when it is a reservation still waiting for its GET
   * and what waits passes `maxQueuedBytes`, it is dropped now (its slot back, graphql-sse's stream
   * and its operations ended). False when `token` is not such a reservation (an opened stream: the
   * connection's own cap applies).
   */
  queued(token: string, bytes: number): boolean {
    const waiting = this.waiting.get(token);
    if (waiting === undefined) return false;
    waiting.queued += bytes;
    if (waiting.queued <= this.maxQueuedBytes) return true;
    waiting.cancel();
    this.forget(token, waiting);
    this.onOverflow(waiting.queued);
    return true;
  }

  private forget(token: string, waiting: Waiting): void {
    this.waiting.delete(token);
    this.slots.release(waiting.client);
    this.drop(token);
  }

  /** Whether `token` is a reservation still waiting for its GET. */
  has(token: string): boolean {
    return this.waiting.has(token);
  }

  /** A GET opened the stream of `token`: its slot goes back (the stream's subscriptions are counted each). */
  opened(token: string): void {
    const waiting = this.waiting.get(token);
    if (waiting === undefined) return;
    this.waiting.delete(token);
    waiting.cancel();
    this.slots.release(waiting.client);
  }

  /** Reservations waiting now. */
  get size(): number {
    return this.waiting.size;
  }

  /** The server stops: no timer left behind. */
  close(): void {
    for (const waiting of this.waiting.values()) waiting.cancel();
    this.waiting.clear();
  }
}
