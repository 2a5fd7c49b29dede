import type { Exchange, Reply, Step } from '../exchange.js';
import { jsonReply } from '../exchange.js';
import { answeredByParser } from '../parser-refusal.js';
import type { Refuse } from '../refusal.js';
import { ClientGoneError } from './body-limit.js';

/**
 * Whatever fails further down (a step, a route, yoga) answers 500 `Unexpected error.` as JSON in the
 * path's error shape, logged once at ERROR with the request id; the answer carries nothing internal.
 * A client that went away mid-request is no fault of ours: one DEBUG line, nothing to answer
 * (499). One whose body did not arrive in `--request-timeout-ms` was answered 408 by the parser
 * (parser-refusal.ts): that is its status.
 */
export function guardStep(refuse: Refuse): Step {
  const failed = (exchange: Exchange, err: unknown): Reply => {
    if (err instanceof ClientGoneError || exchange.res.destroyed) {
      const status = answeredByParser(exchange.res);
      if (status !== undefined) return jsonReply(status, null);
      exchange.log.debug({ method: exchange.method, path: exchange.path.slice(0, 200) }, 'client went away before the answer');
      return jsonReply(499, null);
    }
    return refuse(exchange, { reason: 'internal', status: 500, code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error.', err });
  };
  return (exchange, next) => {
    try {
      const reply = next(exchange);
      return reply instanceof Promise ? reply.catch((err: unknown) => failed(exchange, err)) : reply;
    } catch (err) {
      return failed(exchange, err);
    }
  };
}
