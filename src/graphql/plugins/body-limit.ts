import { createGraphQLError, type FetchAPI, type Plugin } from 'graphql-yoga';
import { refusal } from './refusal.js';

/** 64 KiB: a hundred times the largest real request (an `updateConfig` with overrides). */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024;

/** The one wording of the refusal, for GraphQL and the REST routes alike. */
export const bodyTooLargeMessage = (limit: number) => `Request body too large: the limit is ${limit} bytes`;

function tooLarge(limit: number) {
  return createGraphQLError(bodyTooLargeMessage(limit), {
    extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', http: { status: 413 } },
  });
}

/** Passes the body through, failing the read once more than `limit` bytes arrived (chunked bodies have no Content-Length). */
function limitBody(request: Request, limit: number, fetchAPI: FetchAPI): Request {
  if (!request.body) return request;
  let received = 0;
  // A native stream needs the native TransformStream; yoga's ponyfill body needs the ponyfill's.
  const Transform = request.body instanceof ReadableStream ? TransformStream : fetchAPI.TransformStream;
  const counted = request.body.pipeThrough(
    new Transform<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        received += chunk.byteLength;
        if (received > limit) controller.error(tooLarge(limit));
        else controller.enqueue(chunk);
      },
    }),
  );
  return new fetchAPI.Request(request.url, {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    body: counted,
    // @ts-expect-error Node's fetch needs `duplex` for a streamed body; lib.dom does not know it yet.
    duplex: 'half',
  });
}

/**
 * Refuses request bodies over `limit` bytes with 413 and a message that names the limit: at once
 * when Content-Length says so, else as soon as the streamed body passes the limit.
 */
export function bodyLimitPlugin(limit = MAX_REQUEST_BODY_BYTES): Plugin {
  const declaredTooLarge = (request: Request) => {
    const declared = request.headers.get('content-length');
    return declared !== null && /^\d+$/.test(declared) && Number(declared) > limit;
  };
  return {
    // Before any route reads the body (plugins that serve their own routes included), not only GraphQL's.
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (!declaredTooLarge(request)) return;
      endResponse(refusal(fetchAPI, url, 413, { message: tooLarge(limit).message, code: 'REQUEST_ENTITY_TOO_LARGE' }));
    },
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      if (declaredTooLarge(request)) throw tooLarge(limit);
      if (!requestParser || !request.body) return;
      const parse = requestParser;
      setRequestParser((req) => parse(limitBody(req, limit, fetchAPI)));
    },
  };
}
