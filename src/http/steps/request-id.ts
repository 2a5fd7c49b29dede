import { randomUUID } from 'node:crypto';
import type { Logger } from '../../log.js';
import { type Step, whenReady } from '../exchange.js';
import { lazyChildLogger } from '../log.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** An id a proxy or client may pass on: short, printable, nothing a log line could be forged with. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:/+=@-]{1,128}$/;

export function acceptedRequestId(header: string | string[] | undefined): string | null {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : null;
}

/**
 * Names the request: the incoming `x-request-id` when it is sane, else a new UUID. The id goes on
 * every log line of the request (a child logger), into the GraphQL context, and back in the answer.
 */
export function requestIdStep(logger: Logger, newId: () => string = randomUUID): Step {
  return (exchange, next) => {
    const requestId = acceptedRequestId(exchange.req.headers[REQUEST_ID_HEADER]) ?? newId();
    exchange.requestId = requestId;
    exchange.log = lazyChildLogger(logger, { reqId: requestId });
    return whenReady(next(exchange), (reply) => {
      reply.headers[REQUEST_ID_HEADER] = requestId;
      return reply;
    });
  };
}
