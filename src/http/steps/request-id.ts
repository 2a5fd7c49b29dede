import { randomBytes } from 'node:crypto';
import type { Logger } from '../../log.js';
import type { Reply, Step } from '../exchange.js';
import { lazyChildLogger } from '../log.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** An id a proxy or client may pass on: short, printable, nothing a log line could be forged with. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:/+=@-]{1,128}$/;

export function acceptedRequestId(header: string | string[] | undefined): string | null {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : null;
}

/**
 * New request ids in the UUID v4 shape (what clients and log tooling expect): 80 random bits drawn
 * once, then a counter in the last 12 hex digits, so ids are unique within the process and unlikely
 * to repeat across processes. An id names a request in the logs; it is no secret, so one drawn per
 * request (randomUUID: entropy and formatting, ~0.3 us on every request) buys nothing.
 */
export function requestIds(): () => string {
  let prefix = '';
  let counter = 0;
  const reseed = () => {
    const hex = randomBytes(10).toString('hex');
    const variant = ((Number.parseInt(hex[12]!, 16) & 0x3) | 0x8).toString(16);
    prefix = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(16, 19)}-`;
    counter = 0;
  };
  reseed();
  return () => {
    if (counter === 0xffffffffffff) reseed();
    counter += 1;
    return prefix + counter.toString(16).padStart(12, '0');
  };
}

const named = (reply: Reply, requestId: string): Reply => {
  reply.headers[REQUEST_ID_HEADER] = requestId;
  return reply;
};

/**
 * Names the request: the incoming `x-request-id` when it is sane, else a new UUID. The id goes on
 * every log line of the request (a child logger), into the GraphQL context, and back in the answer.
 */
export function requestIdStep(logger: Logger, newId: () => string = requestIds()): Step {
  return (exchange, next) => {
    const requestId = acceptedRequestId(exchange.req.headers[REQUEST_ID_HEADER]) ?? newId();
    exchange.requestId = requestId;
    exchange.log = lazyChildLogger(logger, { reqId: requestId });
    const reply = next(exchange);
    // A reply here now is named here now: no closure on a cached read.
    if (reply instanceof Promise) return reply.then((r) => named(r, requestId));
    return named(reply, requestId);
  };
}
