import { STATUS_CODES } from 'node:http';
import type { RequestScope } from '../graphql/request-scope.js';
import type { ControlPlaneYoga } from '../graphql/yoga.js';
import { type ByteStream, type Exchange, jsonReply, type Reply } from './exchange.js';
import { requestScopeOf } from './in-process.js';

// The body step has read and decoded the body: yoga gets the bytes, without the headers that described the wire.
const NOT_PASSED_ON = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive']);
const STREAMED = /^(text\/event-stream|multipart\/mixed)/i;
const STREAMED_ACCEPT = /text\/event-stream|multipart\/mixed/i;
/** Media ranges that take an event stream without naming it. */
const ANY_TEXT_ACCEPT = /(^|,)\s*(\*\/\*|text\/\*|multipart\/\*)\s*(;|,|$)/i;

/**
 * The methods yoga serves on `/graphql` (HEAD answered as GET). The router refuses the others
 * (405 `METHOD_NOT_ALLOWED`, with `Allow`) as on every other path: yoga's own 405 said
 * `BAD_REQUEST` and left HEAD out of its `Allow`.
 */
export const GRAPHQL_METHODS = ['GET', 'HEAD', 'POST'] as const;
/** graphql-sse's single-connection mode: PUT reserves a stream, GET opens it, POST runs an operation in it, DELETE stops one. */
export const GRAPHQL_SSE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'] as const;

/** Yoga's `Allow` (on its 400s and 405s) as this server answers: HEAD with GET. */
const withHead = (allow: string) => (/\bGET\b/.test(allow) && !/\bHEAD\b/.test(allow) ? allow.replace(/\bGET\b/, 'GET, HEAD') : allow);

/**
 * POST bodies `/graphql` does not take (README, Errors: JSON only, 415 otherwise). Yoga would parse
 * them itself: a form post (`query=...`), a multipart one and a raw `application/graphql` body ran,
 * mutations included, where README promised 415.
 */
const NOT_JSON_BODY = /^\s*(application\/x-www-form-urlencoded|multipart\/form-data|application\/graphql)\s*(;|$)/i;

function notJsonBody(contentType: string | undefined): Reply | null {
  const type = NOT_JSON_BODY.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (type === undefined) return null;
  const message =
    type === 'application/x-www-form-urlencoded'
      ? 'Unsupported Media Type: the body came as a form (application/x-www-form-urlencoded, what curl -d sends); send JSON with Content-Type: application/json.'
      : `Unsupported Media Type: ${type} is not taken here; send JSON with Content-Type: application/json.`;
  return jsonReply(415, { errors: [{ message, extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' } }] });
}

/** What a route that ran part of GraphQL's work itself tells yoga's (the fast lane: RequestScope.documentCounted). */
export type YogaScope = Pick<RequestScope, 'documentCounted'>;
/** Yoga's HTTP handling for one exchange (a Handler), optionally told what was done before. */
export type YogaHandler = (exchange: Exchange, scope?: YogaScope) => Promise<Reply>;

/**
 * Yoga's own HTTP handling, for what only it serves: GET, GraphiQL, SSE subscriptions, every POST
 * form. It gets a fetch Request built from the exchange (the Host and target checked, the body read
 * once by the chain), with the request's scope as yoga's server context.
 */
export function yogaHandler(yoga: ControlPlaneYoga): YogaHandler {
  const { Headers, Request } = yoga.fetchAPI;
  return async (exchange: Exchange, scope?: YogaScope): Promise<Reply> => {
    const { req } = exchange;
    if (exchange.method === 'POST') {
      const refused = notJsonBody(req.headers['content-type']);
      if (refused) return refused;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || NOT_PASSED_ON.has(name)) continue;
      headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const withBody = exchange.body !== null && exchange.method !== 'GET' && exchange.method !== 'HEAD';
    // RFC 9110: HEAD answers as GET, without the body (sendReply drops it); yoga takes only GET and
    // POST, and `curl -I` on the endpoint (an uptime check) was 405 while GET answered.
    const head = exchange.method === 'HEAD';
    // Never a stream for a HEAD: it would hold a subscription open for a body that is never sent. An
    // Accept that takes one is asked as JSON instead: `*/*` (curl -I), `text/*` or none took the
    // stream too, as `application/json` (what yoga answers them with for a query).
    if (head) {
      const accept = headers.get('accept') ?? '';
      if (STREAMED_ACCEPT.test(accept)) headers.set('accept', 'application/graphql-response+json, application/json');
      else if (accept.trim() === '' || ANY_TEXT_ACCEPT.test(accept)) headers.set('accept', 'application/json');
    }
    const request = new Request(`http://${exchange.host}${exchange.target}`, {
      method: head ? 'GET' : exchange.method,
      headers,
      signal: exchange.signal,
      ...(withBody && { body: exchange.body as unknown as BodyInit }),
    });
    const response = await yoga.handleRequest(request, scope ? { ...requestScopeOf(exchange), ...scope } : requestScopeOf(exchange));
    const replyHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      replyHeaders[name.toLowerCase()] = value;
    });
    if (replyHeaders.allow !== undefined) replyHeaders.allow = withHead(replyHeaders.allow);
    const contentType = response.headers.get('content-type') ?? '';
    let body: Reply['body'] = null;
    if (response.body && STREAMED.test(contentType)) {
      body = response.body as unknown as ByteStream;
      // Yoga marks its event streams `Content-Encoding: none`, which is no content coding at all.
      if (replyHeaders['content-encoding'] === 'none') delete replyHeaders['content-encoding'];
    } else if (response.body) {
      body = Buffer.from(await response.arrayBuffer());
    }
    // Yoga answers some refusals (415, 406) with no body: every refusal here is JSON, in GraphQL's error shape.
    if (response.status >= 400 && (body === null || (Buffer.isBuffer(body) && body.length === 0))) {
      return jsonReply(
        response.status,
        {
          errors: [
            {
              message: STATUS_CODES[response.status] ?? 'Error',
              // README's code for a 415 (the body's Content-Type here, its Content-Encoding in the body step).
              extensions: { code: response.status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST' },
            },
          ],
        },
        {
          ...(replyHeaders.allow && { allow: replyHeaders.allow }),
        },
      );
    }
    // An answer's type and status follow the request's Accept (and, GET, its query): no shared cache
    // may keep one for another client, as every other JSON answer here says (the fast lane's, REST's).
    if (replyHeaders['cache-control'] === undefined && /json/i.test(contentType)) replyHeaders['cache-control'] = 'no-store';
    return { status: response.status, headers: replyHeaders, body };
  };
}
