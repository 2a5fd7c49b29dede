import type { Exchange, Reply, Step } from '../exchange.js';
import { pathMatches } from '../router.js';

/** Methods kept as labels; anything else is `other` (the method is the client's to choose). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);

export interface RequestMetricsOptions {
  /** The route table's paths (`/assets/` a prefix): the label for a request; anything else is `other`. */
  routes: readonly string[];
  record(route: string, method: string, status: number, seconds: number): void;
  /**
   * One DEBUG line per answered request (method, path, status, ms, client), on the request's logger
   * (its request id): set when DEBUG is on, so an INFO server pays nothing for it.
   */
  accessLog?: boolean;
}

/**
 * Counts every answered request and times it to its answer, by route, method and status. Labels
 * come from the route table, never from the raw path, so a scan of random paths adds no series.
 */
export function requestMetricsStep(options: RequestMetricsOptions): Step {
  const exact = new Set(options.routes);
  const routeOf = (path: string) => (exact.has(path) ? path : (options.routes.find((route) => pathMatches(route, path)) ?? 'other'));
  const recorded = (exchange: Exchange, reply: Reply, started: number): Reply => {
    const method = METHODS.has(exchange.method) ? exchange.method : 'other';
    const seconds = (performance.now() - started) / 1000;
    options.record(routeOf(exchange.path), method, reply.status, seconds);
    if (options.accessLog) {
      exchange.log.debug(
        {
          method: exchange.method,
          path: exchange.path.slice(0, 200),
          status: reply.status,
          ms: Math.round(seconds * 10_000) / 10,
          client: exchange.clientKey,
        },
        `${exchange.method} ${exchange.path.slice(0, 200)} ${reply.status}`,
      );
    }
    return reply;
  };
  return (exchange, next) => {
    const started = performance.now();
    const reply = next(exchange);
    // Recorded now when the reply is here now: no closure on a cached read.
    return reply instanceof Promise ? reply.then((r) => recorded(exchange, r, started)) : recorded(exchange, reply, started);
  };
}
