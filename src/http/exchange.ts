import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestLogger } from '../graphql/request-scope.js';

/** A streamed answer body (SSE, multipart): read chunk by chunk, cancelled when the client or the server goes away. */
export interface ByteStream {
  getReader(): {
    read(): Promise<{ done: boolean; value?: Uint8Array }>;
    cancel(reason?: unknown): Promise<void>;
  };
  /** The stream's own cancel (whatwg-node's: destroys it at once, even with a read pending). */
  cancel?(reason?: unknown): Promise<void>;
}

/** What a route answers; the adapter alone writes it to the socket (one place for headers, compression, streams). */
export interface Reply {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: Uint8Array | string | ByteStream | null;
  /** A string body's length in bytes (UTF-8), when known (a cached answer's): not counted again on the way out. */
  length?: number;
}

/** One HTTP request on its way through the chain: the node request plus what the steps learned about it. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  /** The request target as sent (`/graphql?query=...`); the host-check step guarantees it is origin-form. */
  readonly target: string;
  /** The target's path, without the query. */
  readonly path: string;
  /** Aborted when the client goes away or the server closes: streams end, work stops. */
  readonly signal: AbortSignal;
  /** Set by the request-id step. */
  requestId: string;
  /** The request's logger: every line carries its request id. */
  log: RequestLogger;
  /** The Host header, checked by the host-check step (`host[:port]`). */
  host: string;
  /** Who is asking, for per-client limits (the socket's address, or the proxy's forwarded hop). */
  clientKey: string;
  /** The request body, read, decoded and size-checked by the body step (null: none sent). */
  body: Buffer | null;
  /**
   * The raw body, when the adapter had it read before the chain ran (a declared length within the
   * body limit): the chain then answers in one turn. The body step still judges it (encoding, size).
   */
  prefetched?: Buffer;
}

/**
 * A reply now, or later. Handlers and steps answer synchronously when they can (a cached read
 * passes the whole chain without one promise: each async step cost a promise and a microtask on
 * every request); anything that waits returns a promise, and an `async` function is always fine.
 */
export type MaybePromise<T> = T | Promise<T>;

export type Handler = (exchange: Exchange) => MaybePromise<Reply>;
/** One policy step: answers by itself (a refusal) or calls `next` and may adjust its reply. */
export type Step = (exchange: Exchange, next: Handler) => MaybePromise<Reply>;

/** `steps[0]` runs first; the last one calls `terminal`. Each step is a plain function, testable alone. */
export function compose(steps: readonly Step[], terminal: Handler): Handler {
  return steps.reduceRight<Handler>((next, step) => (exchange) => step(exchange, next), terminal);
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;

export function jsonReply(status: number, value: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(value) };
}

export function isStream(body: Reply['body']): body is ByteStream {
  return body !== null && typeof body === 'object' && typeof (body as ByteStream).getReader === 'function';
}
