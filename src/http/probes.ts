import { jsonReply } from './exchange.js';
import type { HttpPlane } from './plane.js';
import type { Route } from './router.js';

const PROBE_METHODS = ['GET', 'HEAD'] as const;

/**
 * Probes need no token and do no GraphQL. `/health` (liveness): 200 while the process serves.
 * `/ready` (readiness): 503 while the plane says it should not take traffic. `/version`: what is running.
 */
export function probeRoutes(plane: HttpPlane, now: () => number = Date.now): Route[] {
  return [
    {
      path: '/health',
      methods: PROBE_METHODS,
      handle: async () => jsonReply(200, { status: 'ok', uptimeSeconds: Math.round((now() - plane.startedAt) / 1000) }),
    },
    {
      path: '/ready',
      methods: PROBE_METHODS,
      handle: async () => {
        const readiness = plane.readiness();
        return jsonReply(readiness.ready ? 200 : 503, readiness);
      },
    },
    { path: '/version', methods: PROBE_METHODS, handle: async () => jsonReply(200, plane.versionInfo()) },
  ];
}
