import type { Registry } from 'prom-client';
import { bearerChallenge } from '../graphql/errors.js';
import { jsonReply } from './exchange.js';
import type { HttpPlane } from './plane.js';
import { refusalBody } from './refusal.js';
import type { Route } from './router.js';

/**
 * `GET /metrics`: Prometheus text from the registries, one after the other (the process's, this server's). Open like the other reads, or with
 * `--reads-require-token` a token with scope `read` (every scope implies it). A token that is sent
 * but wrong is refused either way, as on /graphql (and counts toward the failed-auth limit).
 */
export function metricsRoute(plane: HttpPlane, registries: readonly Registry[]): Route {
  const refuse = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
    jsonReply(status, refusalBody('/metrics', { code, message }), headers);
  return {
    path: '/metrics',
    methods: ['GET', 'HEAD'],
    handle: async (exchange) => {
      const credentials = await plane.services.authenticator.authenticate(exchange.req.headers.authorization);
      if (credentials.kind === 'invalid')
        return refuse(401, 'UNAUTHENTICATED', 'Authentication required', {
          'www-authenticate': bearerChallenge('invalid', credentials.expiredAt),
        });
      if (plane.settings.readsRequireToken) {
        if (credentials.kind !== 'valid')
          return refuse(401, 'UNAUTHENTICATED', 'Authentication required', { 'www-authenticate': bearerChallenge('missing') });
        if (!credentials.identity.scopes.has('read')) return refuse(403, 'FORBIDDEN', 'Forbidden: requires scope read');
      }
      const texts = await Promise.all(registries.map((r) => r.metrics()));
      return {
        status: 200,
        headers: { 'content-type': registries[0]?.contentType ?? 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' },
        body: texts.map((t) => (t.endsWith('\n') ? t : `${t}\n`)).join(''),
      };
    },
  };
}
