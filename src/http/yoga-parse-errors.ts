import { GraphQLError } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

/**
 * For yoga's own HTTP handling (the fallback route): its GET parser calls JSON.parse on `variables`
 * and `extensions` unguarded, so a malformed value surfaced as a masked 500. A request the client
 * got wrong is a 400 (found by the hostile-input test). Its POST parser puts the JSON error into
 * `extensions.originalError`, whose message quotes the body: a parse error is answered with its
 * message, code and status only (issue 14, finding 12). A request without a query is a 400 too.
 */
export function yogaParseErrorsPlugin(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      const parse = requestParser;
      setRequestParser(async (request) => {
        let params: Awaited<ReturnType<typeof parse>>;
        try {
          params = await parse(request);
        } catch (err) {
          if (err instanceof GraphQLError) {
            // A body that does not parse is a bad request whatever the client accepts: 400, as yoga answered it before.
            const { code, http } = err.extensions as { code?: unknown; http?: { status?: number; headers?: unknown } };
            throw createGraphQLError(err.message, {
              extensions: {
                code,
                ...(http && { http: { status: http.status ?? 400, ...(http.headers ? { headers: http.headers } : {}) } }),
              },
            });
          }
          if (!(err instanceof SyntaxError)) throw err;
          // 400 whatever the client accepts, as for a POST body that does not parse: the request is
          // not well-formed (under `application/json` it was answered 200, like a validation error).
          throw createGraphQLError('Request parameters sent invalid JSON.', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        }
        // No query at all is not a well-formed request: 400 whatever the client accepts (yoga's own
        // "Must provide query string." is 200 under `application/json`). A form body (`curl -d`
        // without a content type) never gets here: 415, saying so (yoga-route.ts).
        if (params instanceof Response) return params;
        for (const one of Array.isArray(params) ? params : [params]) {
          if (one?.query == null) {
            throw createGraphQLError('Must provide query string.', {
              extensions: { code: 'BAD_REQUEST', http: { status: 400, headers: { Allow: 'GET, POST' } } },
            });
          }
        }
        return params;
      });
    },
  };
}
