import { createServerAdapter } from '@whatwg-node/server';
import { type Plugin, YogaServer, type YogaServerInstance, type YogaServerOptions } from 'graphql-yoga';
import { AuthenticationError } from '../auth/identity.js';
import type { Authenticator } from '../auth/tokens.js';
import { COST_LIMITS } from '../limit-defaults.js';
import type { Later, Logger } from '../log.js';
import type { ControlPlaneServices, GraphQLContext } from './context.js';
import { boundedParseCache } from './document-cache.js';
import { maskError, refusalsAtDebug } from './errors.js';
import type { QueryLimits } from './plugins/armor.js';
import type { CostLimits } from './plugins/cost.js';
import { documentPolicyPlugins } from './plugins/index.js';
import type { OnDocumentRefusal } from './plugins/refusal.js';
import { requestLogPlugin } from './plugins/request-log.js';
import { ClientSlots, subscriptionLimitPlugin } from './plugins/subscription-limit.js';
import { tokenFirstPlugin } from './plugins/token-first.js';
import { tokenRecheckPlugin } from './plugins/token-recheck.js';
import { unsentStreamsPlugin } from './plugins/unsent-streams.js';
import type { RequestScope } from './request-scope.js';
import { schema } from './schema/index.js';
import { singleConnectionSsePlugin } from './sse.js';

/**
 * Where the admin token is, said without the server's path: `runtime/admin.token` was wrong under any
 * other --runtime-dir, and the page is served without a token, to whoever reaches the port, while
 * API clients are not told where the server keeps its files (ConfigFileError.publicLocation).
 */
const TOKEN_HOW_TO = `# open the "Headers" tab below and enter {"Authorization": "Bearer <token>"}
# (the token is in admin.token in the server's --runtime-dir, ./runtime by default,
# unless CONTROL_PLANE_TOKEN is set)`;

/**
 * What the playground's first tab says, after the server's --reads-require-token: with it, the
 * schema GraphiQL asks for on load is refused (401) and the docs explorer says "Error fetching
 * schema"; GraphiQL does not ask again when the headers change, so the comment names its button.
 */
const playgroundIntro = (readsRequireToken: boolean) =>
  readsRequireToken
    ? `# strategy-control-plane. This server needs a token for reads too (--reads-require-token):
${TOKEN_HOW_TO},
# then press "Re-fetch GraphQL schema" (the circular arrow at the bottom of the left
# sidebar, or Shift-Ctrl-R): GraphiQL fetched the schema without the token, was refused,
# and does not fetch it again when the headers change (the docs explorer needs it).`
    : `# strategy-control-plane. Reads are open; mutations need a token:
${TOKEN_HOW_TO}.`;

export const defaultPlaygroundQuery = (readsRequireToken: boolean) => `${playgroundIntro(readsRequireToken)}

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

/** GraphiQL's options (the HTTP adapter serves the page, pre-rendered: src/http/graphiql-route.ts). */
export const playgroundOptions = (readsRequireToken: boolean) =>
  ({
    title: 'strategy-control-plane',
    defaultQuery: defaultPlaygroundQuery(readsRequireToken),
    shouldPersistHeaders: false,
  }) as const;

export interface YogaOptions {
  services: ControlPlaneServices;
  authenticator: Authenticator;
  logger: Logger;
  /** Introspection, field suggestions and GraphiQL off. */
  production: boolean;
  readsRequireToken: boolean;
  /** Document limits beyond the defaults (plugins/armor.ts). */
  queryLimits?: Partial<QueryLimits>;
  /** Per-request cost and list-size limits beyond the defaults (plugins/cost.ts). */
  costLimits?: Partial<CostLimits>;
  /** A query result or subscription event over this many bytes is refused (plugins/response-size.ts; default 1 MiB). */
  maxResponseBytes?: number;
  /** Open subscriptions per client (default 16); graphql-sse's stream reservations not yet opened count too. */
  maxSubscriptionsPerClient?: number;
  /** Runs the drop of a stream reservation nobody opened (sse-reservations.ts; tests: by hand). */
  later?: Later;
  /** Bytes of events that may wait for a /graphql/stream reservation's GET before it is dropped (sse.ts; default 1 MiB). */
  maxStreamBufferBytes?: number;
  /** Told of a reservation dropped that way (metrics: a slow reader). */
  onSlowReader?: (queued: number) => void;
  /** How often open subscriptions' tokens are checked again (default 500 ms). */
  tokenRecheckMs?: number;
  /** Told of each request a per-request limit refused (metrics). */
  onDocumentRefusal?: OnDocumentRefusal;
  /** More plugins, after the control plane's own (the HTTP adapter's, tests'). */
  plugins?: Plugin[];
}

/** For yoga's parser cache: parse errors are never kept (see its use below). */
const NO_ERROR_CACHE = { get: (): undefined => undefined, set: (): void => {} };

/** Yoga's server context is the request's scope, on its HTTP path and in process alike. */
export type ControlPlaneYoga = YogaServerInstance<RequestScope, GraphQLContext>;

/**
 * Yoga's `createYoga`, with one thing said instead of looked up. Its server adapter
 * (@whatwg-node/server) picks its AbortController by comparing yoga's fetch API with
 * `globalThis.Request`, and reading that global makes Node load fetch's implementation (undici,
 * node:http2) at start: 36 ms of CPU in a profile of `serve`'s start, ~30-40 ms of wall time to
 * `/health` (10 starts each, interleaved), for a server whose GraphQL POSTs never use it. Yoga's
 * fetch API is @whatwg-node/fetch's ponyfill, not Node's own (test/unit/yoga-adapter.test.ts), so
 * the adapter's answer is "its own AbortController", given here. Yoga's other paths (a GET, SSE,
 * GraphiQL) load undici on their first request, as before.
 */
export function createYogaServer<TServer extends Record<string, any>, TUser extends Record<string, any>>(
  options: YogaServerOptions<TServer, TUser>,
): YogaServerInstance<TServer, TUser> {
  const server = new YogaServer<TServer, TUser>(options);
  return createServerAdapter(server, {
    fetchAPI: server.fetchAPI,
    plugins: server['plugins'],
    __useCustomAbortCtrl: true,
  }) as unknown as YogaServerInstance<TServer, TUser>;
}

/**
 * The GraphQL server. Its plugins are what runs around parse, validate and execute (request log,
 * document limits, production mode, masking), so they hold however a request reached GraphQL:
 * through yoga's HTTP handling or in process through `yoga.getEnveloped` (the REST routes, the
 * fast lane). HTTP policy is the adapter's (src/http/).
 */
export function createControlPlaneYoga(options: YogaOptions): ControlPlaneYoga {
  const { services, authenticator } = options;
  const requestLog = requestLogPlugin(options.logger);
  const yogaLogger = refusalsAtDebug(options.logger);
  // The cost plugin's list limits, which also cap a list whose `last` a request leaves out (list-args.ts `lastOf`).
  const listLimits = { ...COST_LIMITS, ...options.costLimits };
  // One budget per client for its open subscriptions and its unopened graphql-sse reservations.
  const slots = new ClientSlots(options.maxSubscriptionsPerClient);
  return createYogaServer<RequestScope, GraphQLContext>({
    schema,
    // Errors are logged by the request-log plugin on the request's logger; yoga's own lines only for what it did not see.
    logging: {
      ...yogaLogger,
      error: (...args: unknown[]) => (args.length === 1 && requestLog.wasLogged(args[0]) ? undefined : yogaLogger.error(...args)),
    },
    landingPage: false,
    // Bounded by size as the fast lane's cache is (document-cache.ts): yoga's default kept 1,024 documents of any size.
    // Parse errors are not kept: yoga's cache throws a kept error from its onParse hook, before any
    // other plugin's hook sees the request, so a syntax error sent again was neither counted
    // (graphql_envelop_error_result) nor timed. Parsing it again stops at the error, and any document
    // over DOCUMENT_CACHE_MAX_CHARS was parsed every time anyway.
    parserAndValidationCache: { documentCache: boundedParseCache(), errorCache: NO_ERROR_CACHE },
    // Same-origin only: no cross-origin browser page may call the API (see README, Security).
    cors: false,
    // Nothing reaches yoga over the adapter's limit; its own (25 MB) would only add a second count.
    maxRequestBodySize: false,
    maskedErrors: { maskError: (error, message) => maskError(error, message) },
    graphiql: options.production ? false : playgroundOptions(options.readsRequireToken),
    // Loaded when a page is first rendered: the bundled GraphiQL is ~30 MB of heap, and production never shows it.
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    context: async ({ requestId, log, authorization, credentials: known }) => {
      const credentials = known ?? (await authenticator.authenticate(authorization));
      // A token that was sent but is wrong is refused outright, even for a public read: a
      // script with a stale token should fail loudly, not half-work.
      if (credentials.kind === 'invalid') throw new AuthenticationError('invalid', credentials.expiredAt);
      return {
        services,
        credentials,
        identity: credentials.kind === 'valid' ? credentials.identity : null,
        readsArePublic: !options.readsRequireToken,
        maxListSize: credentials.kind === 'valid' ? listLimits.maxListSizeWithToken : listLimits.maxListSize,
        maxListSizeWithToken: listLimits.maxListSizeWithToken,
        requestId,
        log,
      };
    },
    plugins: [
      requestLog.plugin,
      tokenFirstPlugin({ authenticator, readsRequireToken: options.readsRequireToken }),
      ...documentPolicyPlugins({
        production: options.production,
        queryLimits: options.queryLimits,
        costLimits: options.costLimits,
        maxResponseBytes: options.maxResponseBytes,
        onRefusal: options.onDocumentRefusal,
      }),
      subscriptionLimitPlugin({ slots, onRefusal: options.onDocumentRefusal }),
      unsentStreamsPlugin(),
      tokenRecheckPlugin({ authenticator, intervalMs: options.tokenRecheckMs }),
      // graphql-sse's single-connection mode at /graphql/stream (the operator page: one SSE connection per
      // tab for all its subscriptions); /graphql keeps yoga's own SSE.
      singleConnectionSsePlugin({
        authenticator,
        logger: options.logger,
        readsRequireToken: options.readsRequireToken,
        slots,
        onRefusal: options.onDocumentRefusal,
        later: options.later,
        maxQueuedBytes: options.maxStreamBufferBytes,
        onSlowReader: options.onSlowReader,
        faults: services.faultLog,
      }),
      ...(options.plugins ?? []),
    ],
  });
}
