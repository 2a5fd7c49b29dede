import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { AuthenticationError } from '../auth/identity.js';
import type { Authenticator } from '../auth/tokens.js';
import type { Logger } from '../log.js';
import type { ControlPlaneServices, GraphQLContext } from './context.js';
import { maskError, refusalsAtDebug } from './errors.js';
import { type SecurityOptions, securityPlugins } from './plugins/index.js';
import { useRestCompat } from './rest-compat.js';
import { schema } from './schema/index.js';
import { singleConnectionSsePlugin } from './sse.js';

export const DEFAULT_PLAYGROUND_QUERY = `# strategy-control-plane. Reads are open; mutations need a token:
# open the "Headers" tab below and enter {"Authorization": "Bearer <token>"}
# (the token is in runtime/admin.token unless CONTROL_PLANE_TOKEN is set).

query Overview {
  status {
    activeStrategyKey
    configVersion
    configUpdatedAt
  }
  strategies {
    key
    name
    riskLevel
    sessionPreference
    instruments
    isActive
  }
}

# mutation Activate {
#   activateStrategy(strategyKey: "gold") {
#     previousStrategyKey
#     activeStrategyKey
#     configVersion
#   }
# }
`;

export interface YogaOptions {
  services: ControlPlaneServices;
  authenticator: Authenticator;
  logger: Logger;
  /** Introspection, field suggestions and GraphiQL off. */
  production: boolean;
  readsRequireToken: boolean;
  /** Abuse limits beyond the defaults (rate limiting, body size, query shape); see plugins/. */
  security?: Omit<SecurityOptions, 'production'>;
  plugins?: Plugin[];
}

export type ControlPlaneYoga = YogaServerInstance<Record<string, never>, GraphQLContext>;

/** The GraphQL server: policy lives here as yoga/envelop plugins, not in the HTTP adapter. */
export function createControlPlaneYoga(options: YogaOptions): ControlPlaneYoga {
  const { services, authenticator } = options;
  const yoga: ControlPlaneYoga = createYoga<Record<string, never>, GraphQLContext>({
    schema,
    logging: refusalsAtDebug(options.logger),
    landingPage: false,
    // Same-origin only: no cross-origin browser page may call the API (see README, Security).
    cors: false,
    maskedErrors: { maskError: (error, message) => maskError(error, message) },
    graphiql: options.production
      ? false
      : { title: 'strategy-control-plane', defaultQuery: DEFAULT_PLAYGROUND_QUERY, shouldPersistHeaders: false },
    renderGraphiQL,
    context: async ({ request }) => {
      const credentials = await authenticator.authenticate(request.headers.get('authorization'));
      // A token that was sent but is wrong is refused outright, even for a public read: a
      // script with a stale token should fail loudly, not half-work.
      if (credentials.kind === 'invalid') throw maskError(new AuthenticationError('invalid'), 'Unexpected error.');
      return {
        services,
        credentials,
        identity: credentials.kind === 'valid' ? credentials.identity : null,
        readsArePublic: !options.readsRequireToken,
      };
    },
    plugins: [
      // Request policy first (limits, rate limiting, production mode): a locked-out client or an
      // oversized body is refused before a REST route reads it, in that route's {"detail"} shape.
      ...securityPlugins({ production: options.production, ...options.security }),
      // The seed's REST routes; each executes its GraphQL operation through this same server, so the
      // request policy applies to that inner request too (counted once: see auth-failure-limit.ts).
      useRestCompat({ graphql: (request, serverContext) => yoga.fetch(request, serverContext as never), logger: options.logger }),
      // graphql-sse's single-connection mode at /graphql/stream (the operator page: one SSE connection per tab for all its
      // subscriptions); after the policy plugins, so its requests meet them too. /graphql keeps yoga's own SSE.
      singleConnectionSsePlugin({ authenticator, logger: options.logger }),
      ...(options.plugins ?? []),
    ],
  });
  return yoga;
}
