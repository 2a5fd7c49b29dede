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
}

/**
 * graphql-sse's single-connection reservations (a PUT to /graphql/stream) not yet opened by their
 * GET. graphql-sse keeps each until a stream opened on it ends, so without a bound anyone, with or
 * without a token, could fill the server's memory with PUTs (~2.5 KB each; a server with a 96 MB
 * heap died after 38,655). Each is one of its client's slots of the per-client subscription budget
 * (`ClientSlots`), given back when its GET opens it (its subscriptions count from then) or when it
 * is dropped, `ttlMs` after it was made, through `drop`.
 */
export class StreamReservations {
  private readonly waiting = new Map<string, Waiting>();

  constructor(
    private readonly slots: ClientSlots,
    /** Makes graphql-sse forget a reservation (sse.ts). */
    private readonly drop: (token: string) => void,
    private readonly later: Later = unrefLater,
    private readonly ttlMs: number = STREAM_RESERVATION_MS,
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
      cancel: this.later(() => {
        if (this.waiting.get(token) !== waiting) return;
        this.waiting.delete(token);
        this.slots.release(client);
        this.drop(token);
      }, this.ttlMs),
    };
    this.waiting.set(token, waiting);
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
