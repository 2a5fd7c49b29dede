import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { type ExecutionArgs, type ExecutionResult, GraphQLError, getOperationAST } from 'graphql';
import { type OperationResult, TOKEN_HEADER_KEY, TOKEN_QUERY_KEY } from 'graphql-sse';
import { createHandler } from 'graphql-sse/lib/use/fetch';
import type { Plugin } from 'graphql-yoga';
import { AuthenticationError } from '../auth/identity.js';
import type { Authenticator } from '../auth/tokens.js';
import type { FaultLog } from '../fault-log.js';
import type { Later, Logger } from '../log.js';
import { extensionsFor } from './errors.js';
import type { OnDocumentRefusal } from './plugins/refusal.js';
import type { ClientSlots } from './plugins/subscription-limit.js';
import type { RequestScope } from './request-scope.js';
import { StreamReservations } from './sse-reservations.js';

/** Where graphql-sse's single-connection mode is served (the operator page's one SSE connection per browser and token, src/page/shared-live.ts). */
export const GRAPHQL_SSE_PATH = '/graphql/stream';

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/** A refusal as JSON, in GraphQL's error shape (the endpoint is GraphQL's). */
function refusal(fetchAPI: { Response: typeof Response }, status: number, error: { message: string; code: string }): Response {
  return new fetchAPI.Response(JSON.stringify({ errors: [{ message: error.message, extensions: { code: error.code } }] }), {
    status,
    headers: JSON_HEADERS,
  });
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';

/**
 * An error as /graphql sends it: yoga's `extensions.http` (status, headers) and `unexpected` are
 * for the server, not the client (yoga's own serializer drops them; graphql-sse's sends what it is given).
 */
function asSent(error: GraphQLError) {
  const { http: _http, unexpected: _unexpected, ...extensions } = error.extensions ?? {};
  return { ...error.toJSON(), extensions };
}

/** A result as /graphql sends it: each error `asSent`. */
function withoutInternals<T extends ExecutionResult>(result: T): T {
  if (!result.errors?.length) return result;
  return { ...result, errors: result.errors.map((e) => (e instanceof GraphQLError ? asSent(e) : e)) as unknown as GraphQLError[] };
}

/** The stream token a request of the protocol presents (header, or the URL's `token` for an EventSource). */
const presentedToken = (req: { headers: { get(name: string): string | null | undefined }; url?: string }): string | null | undefined =>
  req.headers.get(TOKEN_HEADER_KEY) || new URL(req.url ?? '', 'http://localhost/').searchParams.get(TOKEN_QUERY_KEY);

/** An event's SSE framing around its result: `event: next`, `data: {"id":...,"payload":...}`, an operation id. */
const EVENT_FRAMING_BYTES = 64;

type SseResponse = [body: string, init: { status: number; statusText: string; headers: Record<string, string> }];

const UNAUTHENTICATED_BODY = JSON.stringify({ errors: [{ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } }] });
/** 401 as /graphql answers it: the same body, and the challenge extensionsFor gives (`invalid_token` for a wrong one). */
const unauthenticated = (reason: 'missing' | 'invalid', expiredAt?: string): SseResponse => {
  const {
    http,
    code: _code,
    ...more
  } = extensionsFor(new AuthenticationError(reason, expiredAt)) as {
    http: { headers: Record<string, string> };
    code: string;
  };
  const headers = http.headers;
  // An expired token's answer says when (extensions.expiredAt), as on /graphql.
  const body = expiredAt
    ? JSON.stringify({ errors: [{ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED', ...more } }] })
    : UNAUTHENTICATED_BODY;
  return [body, { status: 401, statusText: 'Unauthorized', headers: { ...JSON_HEADERS, ...headers } }];
};

/** A reservation over the client's subscription budget: the subscription limit's 429, as /graphql answers it. */
function tooManyStreams(slots: ClientSlots): SseResponse {
  const error = slots.refusal();
  const { http } = error.extensions as { http: { headers: Record<string, string> } };
  return [
    JSON.stringify({ errors: [asSent(error)] }),
    { status: 429, statusText: 'Too Many Requests', headers: { ...JSON_HEADERS, ...http.headers } },
  ];
}

/**
 * A refusal's HTTP status and headers (`Retry-After`, `WWW-Authenticate`), from `extensions.http`
 * as yoga honours it on /graphql: the highest status of the errors (4xx or 5xx: a failed write's
 * 503, the store's 503 with Retry-After, a masked 500), and every error's headers. A subscription's:
 * only the rate limit's 429; its other refusals at start (a scope) stay the subscription's own
 * error, which the page reads.
 */
function httpOf(
  errors: readonly unknown[] | undefined,
  subscription: boolean,
): { status: number; statusText: string; headers: Record<string, string> } | undefined {
  type Http = { status?: unknown; headers?: unknown };
  const extensionsOf = (error: unknown) => (error as { extensions?: { code?: unknown; http?: Http } } | undefined)?.extensions;
  if (subscription) {
    const first = extensionsOf(errors?.[0]);
    if (first?.code !== 'RATE_LIMITED' || Number(first.http?.status) !== 429) return undefined;
  }
  let status = 0;
  const headers: Record<string, string> = {};
  for (const error of errors ?? []) {
    const http = extensionsOf(error)?.http;
    if (!http) continue;
    Object.assign(headers, http.headers ?? {});
    const errorStatus = Number(http.status);
    if (errorStatus > status) status = errorStatus;
  }
  if (!(status >= 400 && status < 600)) return undefined;
  return { status, statusText: STATUS_CODES[status] ?? 'Bad Request', headers };
}

/**
 * graphql-sse's single-connection mode at /graphql/stream, through yoga's envelop orchestrator
 * (every plugin: limits, scopes, masking, logging). Yoga's `@graphql-yoga/plugin-graphql-sse` did
 * this in 40 lines, with what this adds:
 * - a wrong token is refused at once (401, as on /graphql) on every request of the protocol, and
 *   the stream token that ties the requests together is random (crypto), not Math.random's;
 * - a document that does not validate is answered 400 with its errors, as JSON (graphql-sse's own
 *   answer): the yoga plugin returned `{ errors }` from `onSubscribe`, which graphql-sse 2.6 does
 *   not take for a result (it wants `data`), and every validation error read 400 "Unable to detect
 *   operation AST". With reads requiring a token, a caller with no token hears 401 instead (as on
 *   /graphql: tokenFirstPlugin);
 * - an error the handler did not expect (a syntax error, a refusing context) is answered as JSON,
 *   masked, instead of yoga's plain-text 500 with a stack;
 * - a subscription refused when it starts (no token where reads need one) reaches the client as
 *   its error and a completion: a result with `errors` but no `data` is the same puzzle for
 *   graphql-sse as the validation errors above.
 * - a reservation (a PUT) is one of its client's slots of the per-client subscription budget until
 *   its GET opens it, and is dropped if none does within seconds (sse-reservations.ts): graphql-sse
 *   kept every one for ever, and PUTs without a token filled the server's memory. Nor may the events
 *   of what was subscribed on it before its GET pass the stream buffer cap (`maxQueuedBytes`):
 *   graphql-sse queued them without a bound, and a client that never opened its reservation held
 *   ~2.4 KB per subscription per change for 10 s with no connection for the cap to cut.
 * A failure of the server's own here (500 `Unexpected error.`) goes through the fault log (`faults`):
 * once per kind with its stack, then counted, so a client repeating it cannot flood the log.
 */
export function singleConnectionSsePlugin(options: {
  authenticator: Authenticator;
  logger: Logger;
  readsRequireToken: boolean;
  /** The per-client subscription budget, which reservations count against too. */
  slots: ClientSlots;
  /** Told of a reservation refused over that budget (metrics). */
  onRefusal?: OnDocumentRefusal;
  /** Runs the drop of a reservation nobody opened (tests: by hand). */
  later?: Later;
  /**
   * Bytes of events that may wait for a reservation's GET (subscribed on it before it was opened)
   * before it is dropped: the stream buffer cap of an opened reader (default 1 MiB).
   */
  maxQueuedBytes?: number;
  /** Told of a reservation dropped that way (metrics, log: a slow reader). */
  onSlowReader?: (queued: number) => void;
  /** Logs a 500 once per kind with its stack, then as a count a minute (default: each at ERROR). */
  faults?: FaultLog;
}): Plugin {
  const scopes = new WeakMap<Request, RequestScope>();
  // What a request of the protocol is, as `authenticate` found it: a PUT that took a slot for its
  // token, or the GET opening a reserved stream. Settled with its answer's status (`settle`).
  const reserving = new WeakMap<Request, { token: string; client: string }>();
  const opening = new WeakMap<Request, string>();
  let handler: (request: Request) => Promise<Response>;
  let requestOf: typeof Request;
  // graphql-sse has no way to forget a reservation but the end of a stream opened on it: a GET for
  // it is made here and its stream cancelled at once (graphql-sse then deletes the reservation).
  const reservations = new StreamReservations(
    options.slots,
    (token) => {
      const open = new requestOf(`http://localhost${GRAPHQL_SSE_PATH}`, {
        headers: { accept: 'text/event-stream', [TOKEN_HEADER_KEY]: token },
      });
      handler(open).then(
        (response) => response.body?.cancel(),
        (error: unknown) => options.logger.warn({ err: error }, 'could not drop an unopened graphql-sse stream reservation'),
      );
    },
    options.later,
    undefined,
    options.maxQueuedBytes,
    (queued) => options.onSlowReader?.(queued),
  );
  const settle = (request: Request, status: number) => {
    const put = reserving.get(request);
    if (put !== undefined) {
      if (status === 201) reservations.hold(put.token, put.client);
      else reservations.giveBack(put.client);
    }
    const token = opening.get(request);
    if (token !== undefined && status === 200) reservations.opened(token);
  };
  return {
    onYogaInit({ yoga }) {
      requestOf = yoga.fetchAPI.Request;
      handler = createHandler(
        {
          authenticate: async (req) => {
            const credentials = await options.authenticator.authenticate(req.headers.get('authorization'));
            if (credentials.kind === 'invalid') return unauthenticated('invalid', credentials.expiredAt);
            const token = presentedToken(req) || randomUUID();
            if (req.method === 'PUT') {
              const client = scopes.get(req.raw)?.clientKey ?? '';
              if (!reservations.take(client)) {
                options.onRefusal?.('subscriptions-per-client');
                return tooManyStreams(options.slots);
              }
              reserving.set(req.raw, { token, client });
            } else if (req.headers.get('accept') === 'text/event-stream' && reservations.has(token)) opening.set(req.raw, token);
            return token;
          },
          onSubscribe: async (req, params) => {
            const scope = scopes.get(req.raw);
            const enveloped = yoga.getEnveloped({ ...scope, request: req.raw, params });
            const document = enveloped.parse(params.query);
            const errors = enveloped.validate(enveloped.schema, document);
            if (errors.length > 0) {
              if (options.readsRequireToken) {
                const credentials = await options.authenticator.authenticate(req.headers.get('authorization'));
                if (credentials.kind === 'none') return unauthenticated('missing');
              }
              return [
                JSON.stringify({ errors: errors.map(asSent) }),
                { status: 400, statusText: 'Bad Request', headers: JSON_HEADERS },
              ] satisfies SseResponse;
            }
            const args: ExecutionArgs = {
              schema: enveloped.schema,
              document,
              contextValue: await enveloped.contextFactory(),
              variableValues: params.variables,
              operationName: params.operationName,
            };
            const isSubscription = getOperationAST(document, params.operationName)?.operation === 'subscription';
            const result = (await (isSubscription ? enveloped.subscribe(args) : enveloped.execute(args))) as OperationResult;
            // Refused before it ran (a subscription over the per-client limit: 429 with Retry-After;
            // a query or mutation refused: a list or cost limit, a variable, a token): answered with
            // the status /graphql gives. As a result with no data graphql-sse read it as 400 "Unable
            // to detect operation AST", and the page said the server could not be reached.
            const single = isAsyncIterable(result) ? undefined : (result as ExecutionResult);
            // 5xx too (a failed write, the store away, a masked failure): sent as an event with 200, a
            // script's `curl -f` took a refused change for a done one. The body is /graphql's: the
            // errors, and `data: null` where the operation ran (a refused mutation), none where it never did.
            const refusedWith = single && single.data == null ? httpOf(single.errors, isSubscription) : undefined;
            if (single && refusedWith) {
              return [
                JSON.stringify({ errors: single.errors?.map(asSent), ...('data' in single && { data: single.data }) }),
                { status: refusedWith.status, statusText: refusedWith.statusText, headers: { ...JSON_HEADERS, ...refusedWith.headers } },
              ] satisfies SseResponse;
            }
            // Anything else without data (a subscription refused at its start) is still a result to stream.
            if (single && single.data === undefined) return { ...single, data: null };
            return result;
          },
          // Every result and event as it goes out (a token revoked mid-stream included). Here, not by
          // mapping the event stream in an envelop hook: with that, after a revocation a page tab led
          // again with the refused token (the operator-page test of tabs with different tokens).
          // An event for a reservation not opened yet waits in graphql-sse's queue until its GET: counted
          // here (about what it will be on the wire), and the reservation dropped past the cap.
          onNext: (_ctx, req, result) => {
            const sent = withoutInternals(result as ExecutionResult);
            if (reservations.size > 0) {
              const token = presentedToken(req);
              if (token && reservations.has(token))
                reservations.queued(token, Buffer.byteLength(JSON.stringify(sent)) + EVENT_FRAMING_BYTES);
            }
            return sent as typeof result;
          },
        },
        yoga.fetchAPI,
      );
    },
    onSubscribe({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      if (!request || !new URL(request.url).pathname.endsWith(GRAPHQL_SSE_PATH)) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result) && result.data === undefined) setResult({ ...result, data: null });
        },
      };
    },
    onRequest({ request, serverContext, endResponse, fetchAPI }) {
      if (!new URL(request.url).pathname.endsWith(GRAPHQL_SSE_PATH)) return;
      scopes.set(request, serverContext as unknown as RequestScope);
      return handler(request).then(
        (response) => {
          settle(request, response.status);
          endResponse(response);
        },
        (error: unknown) => {
          settle(request, 0);
          const status = error instanceof GraphQLError ? Number((error.extensions?.http as { status?: number } | undefined)?.status) : NaN;
          if (error instanceof GraphQLError && status >= 400 && status < 500) {
            const code = String(error.extensions?.code ?? 'BAD_REQUEST');
            endResponse(refusal(fetchAPI, status, { message: error.message, code }));
            return;
          }
          if (error instanceof GraphQLError && error.message.startsWith('Syntax Error')) {
            endResponse(refusal(fetchAPI, 400, { message: error.message, code: 'GRAPHQL_PARSE_FAILED' }));
            return;
          }
          // On the request's logger (its request id), once per kind, then counted.
          const log = (serverContext as Partial<RequestScope> | undefined)?.log ?? options.logger;
          if (options.faults) options.faults.failed(log, error, 'graphql-sse request failed');
          else log.error({ err: error }, 'graphql-sse request failed');
          endResponse(refusal(fetchAPI, 500, { message: 'Unexpected error.', code: 'INTERNAL_SERVER_ERROR' }));
        },
      );
    },
    onDispose() {
      reservations.close();
    },
  };
}
