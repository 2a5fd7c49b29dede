import type { Credentials } from '../auth/identity.js';
import type { Logger } from '../log.js';

/** A pino-style logger bound to one request: each of its lines carries the request id. */
export type RequestLogger = Logger;

/**
 * What the HTTP adapter hands to GraphQL for one request, on every path (yoga's own HTTP handling
 * and in-process execution through `yoga.getEnveloped`): yoga's server context, and the initial
 * context the context factory builds on.
 */
export interface RequestScope {
  readonly requestId: string;
  readonly log: RequestLogger;
  /** The Authorization header as sent (null: none). */
  readonly authorization: string | null;
  /** That header already authenticated for this request (the fast lane does it first); unset: the context does it. */
  readonly credentials?: Credentials;
  /** Who is asking, for per-client limits (open subscriptions): the address, or the proxy's forwarded hop. */
  readonly clientKey: string;
  /**
   * The fast lane parsed and validated this request's document (counted in the GraphQL metrics then)
   * and handed the request to yoga, which parses and validates it again: not counted a second time.
   */
  readonly documentCounted?: true;
}
