import { createGraphQLError, type Plugin } from 'graphql-yoga';

/**
 * For yoga's own HTTP handling (the fallback route): its GET parser calls JSON.parse on `variables`
 * and `extensions` unguarded, so a malformed value surfaced as a masked 500. A request the client
 * got wrong is a 400 (found by the hostile-input test).
 */
export function yogaParseErrorsPlugin(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      const parse = requestParser;
      setRequestParser(async (request) => {
        try {
          return await parse(request);
        } catch (err) {
          if (!(err instanceof SyntaxError)) throw err;
          throw createGraphQLError('Request parameters sent invalid JSON.', {
            extensions: { code: 'BAD_REQUEST', http: { spec: true, status: 400 } },
          });
        }
      });
    },
  };
}
