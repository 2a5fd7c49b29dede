import { randomUUID } from 'node:crypto';
import { useGraphQLSSE } from '@graphql-yoga/plugin-graphql-sse';
import { GraphQLError } from 'graphql';
import { TOKEN_HEADER_KEY, TOKEN_QUERY_KEY } from 'graphql-sse';
import type { Plugin } from 'graphql-yoga';
import type { Authenticator } from '../auth/tokens.js';
import type { Logger } from '../log.js';
import { UNAUTHENTICATED_HEADERS } from './errors.js';

/** Where graphql-sse's single-connection mode is served (the operator page's one SSE connection per tab). */
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
 * Yoga's graphql-sse plugin, for the single-connection mode, with three things it lacks here:
 * - a wrong token is refused at once (401, as on /graphql) on every request of the protocol, and
 *   the stream token that ties the requests together is random (crypto), not Math.random's;
 * - an error the handler did not expect (a syntax error, a refusing context) is answered as JSON,
 *   masked, instead of yoga's plain-text 500 with a stack;
 * - a subscription refused when it starts (no token where reads need one) reaches the client as
 *   its error and a completion: graphql-sse 2.6 takes a result with `errors` but no `data` for
 *   something else and answers 400 "Unable to detect operation AST".
 */
export function singleConnectionSsePlugin(options: { authenticator: Authenticator; logger: Logger }): Plugin {
  const sse = useGraphQLSSE({
    endpoint: GRAPHQL_SSE_PATH,
    authenticate: async (req) => {
      const credentials = await options.authenticator.authenticate(req.headers.get('authorization'));
      if (credentials.kind === 'invalid') {
        const body = { errors: [{ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } }] };
        return [
          JSON.stringify(body),
          { status: 401, statusText: 'Unauthorized', headers: { ...JSON_HEADERS, ...UNAUTHENTICATED_HEADERS } },
        ];
      }
      const presented = req.headers.get(TOKEN_HEADER_KEY) || new URL(req.url ?? '', 'http://localhost/').searchParams.get(TOKEN_QUERY_KEY);
      return presented || randomUUID();
    },
  });
  const handle = sse.onRequest!;
  return {
    ...sse,
    onSubscribe({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      if (!request || !new URL(request.url).pathname.endsWith(GRAPHQL_SSE_PATH)) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result) && result.data === undefined) setResult({ ...result, data: null });
        },
      };
    },
    onRequest(payload) {
      return Promise.resolve(handle(payload)).catch((error: unknown) => {
        const status = error instanceof GraphQLError ? Number((error.extensions?.http as { status?: number } | undefined)?.status) : NaN;
        if (error instanceof GraphQLError && status >= 400 && status < 500) {
          const code = String(error.extensions?.code ?? 'BAD_REQUEST');
          payload.endResponse(refusal(payload.fetchAPI, status, { message: error.message, code }));
          return;
        }
        if (error instanceof GraphQLError && error.message.startsWith('Syntax Error')) {
          payload.endResponse(refusal(payload.fetchAPI, 400, { message: error.message, code: 'GRAPHQL_PARSE_FAILED' }));
          return;
        }
        options.logger.error({ err: error }, 'graphql-sse request failed');
        payload.endResponse(refusal(payload.fetchAPI, 500, { message: 'Unexpected error.', code: 'INTERNAL_SERVER_ERROR' }));
      });
    },
  };
}
