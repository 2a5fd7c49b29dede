import type { Exchange, Handler, MaybePromise, Reply } from './exchange.js';
import type { Refuse } from './refusal.js';

export interface Route {
  /** An exact path, or a prefix when it ends with `/` (`/assets/`); `/` itself is exact. */
  readonly path: string;
  /** Methods served; another method on this path gets 405 with `Allow`. Unset: every method. */
  readonly methods?: readonly string[];
  /**
   * Takes only some requests on its path and method (e.g. the fast lane: plain JSON POSTs); the
   * others go on to the next route for the same path.
   */
  readonly accepts?: (exchange: Exchange) => boolean;
  readonly handle: Handler;
}

const NONE: readonly Route[] = [];

/** A route's path matches: exact, or as a prefix when it ends with `/` (but `/` alone is exact). */
export const pathMatches = (routePath: string, path: string) =>
  routePath.length > 1 && routePath.endsWith('/') ? path.startsWith(routePath) : path === routePath;

const matchesPath = (route: Route, path: string) => pathMatches(route.path, path);

/**
 * The end of the chain: the first route whose path, method and `accepts` match answers. A known
 * path with another method gets 405 (+ `Allow`), an unknown one 404, both as JSON.
 */
export function router(routes: readonly Route[], refuse: Refuse): Handler {
  // Exact paths looked up once; prefix routes (`/assets/`) are matched per request.
  const exact = new Map<string, Route[]>();
  const prefixed = routes.filter((route) => route.path.length > 1 && route.path.endsWith('/'));
  for (const route of routes) {
    if (prefixed.includes(route)) continue;
    exact.set(route.path, [...(exact.get(route.path) ?? []), route]);
  }
  const prefixes = prefixed.map((route) => route.path);
  return (exchange): MaybePromise<Reply> => {
    const { path } = exchange;
    const exactOnPath = exact.get(path) ?? NONE;
    let underPrefix = false;
    for (const prefix of prefixes) if (path.startsWith(prefix)) underPrefix = true;
    const onPath = underPrefix ? routes.filter((route) => matchesPath(route, exchange.path)) : exactOnPath;
    for (const route of onPath) {
      if (route.methods && !route.methods.includes(exchange.method)) continue;
      if (route.accepts && !route.accepts(exchange)) continue;
      return route.handle(exchange);
    }
    if (onPath.length === 0) return refuse(exchange, { reason: 'not-found', status: 404, code: 'NOT_FOUND', message: 'Not Found' });
    // Sorted: /graphql's routes (the fast lane's POST, GraphiQL's GET) would list them in table order.
    const allow = [...new Set(onPath.flatMap((route) => route.methods ?? []))].sort().join(', ');
    return refuse(exchange, {
      reason: 'method-not-allowed',
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
      message: 'Method Not Allowed',
      headers: { allow },
    });
  };
}
