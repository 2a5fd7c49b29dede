import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { MAX_REQUEST_BODY_BYTES } from '../../limit-defaults.js';
import type { Exchange, Handler, Reply, Step } from '../exchange.js';
import type { Refuse } from '../refusal.js';

/** The one wording of the refusal, for GraphQL and the REST routes alike. */
export const bodyTooLargeMessage = (limit: number) => `Request body too large: the limit is ${limit} bytes`;

const gunzipAsync = promisify(gunzip);

/** The client went away while its body was being read: nobody is left to answer. */
export class ClientGoneError extends Error {
  override name = 'ClientGoneError';
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Reads at most `limit` bytes; past that, reads the rest and drops it (so the client sees an answer, not a reset). */
function readAtMost(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> | Buffer | 'too-large' {
  // A small body usually arrives with its headers: whole and buffered by the time the chain gets
  // here. Then it is taken as it is, without waiting for stream events.
  if (req.complete && !req.readableFlowing) {
    const chunks: Buffer[] = [];
    let size = 0;
    for (let chunk = req.read() as Buffer | null; chunk !== null; chunk = req.read() as Buffer | null) {
      size += chunk.byteLength;
      if (size <= limit) chunks.push(chunk);
    }
    return size > limit ? 'too-large' : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  }
  // Plain events rather than an async iterator: this runs for every request with a body.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const gone = () => {
      cleanup();
      reject(new ClientGoneError('the client closed the connection while sending its body'));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= limit) chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      if (!req.complete) return gone();
      resolve(size > limit ? 'too-large' : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onClose = () => {
      if (!req.complete) gone();
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', gone);
      req.off('close', onClose);
    };
    if (req.destroyed && !req.complete) return gone();
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', gone);
    req.once('close', onClose);
  });
}

/**
 * A Content-Type as every reader of it here takes it (yoga's parser and the fast lane compare
 * strings): the media type in lower case, no blanks around `;`. RFC 9110 makes the type
 * case-insensitive and allows blanks there, and `Application/JSON` or `application/json ;
 * charset=utf-8` were 415 on /graphql while the REST routes took them.
 */
export function canonicalContentType(value: string): string {
  if (value === 'application/json' || value === 'application/json; charset=utf-8') return value;
  const [type = '', ...parameters] = value.split(';');
  return [type.trim().toLowerCase(), ...parameters.map((p) => p.trim())].join('; ');
}

/**
 * Reads the request body once, for every route: at most `limit` bytes after decoding. A body
 * sent with `Content-Encoding: gzip` is inflated, and the limit applies to what it inflates to
 * (and to the bytes on the wire); any other coding is refused with 415. Over the limit, with or
 * without Content-Length: 413, answered after the rest was read and dropped.
 */
export function bodyLimitStep(refuse: Refuse, limit: number = MAX_REQUEST_BODY_BYTES): Step {
  const tooLarge = (exchange: Exchange) =>
    refuse(exchange, { reason: 'body-too-large', status: 413, code: 'REQUEST_ENTITY_TOO_LARGE', message: bodyTooLargeMessage(limit) });

  const judged = async (exchange: Exchange, next: Handler, coding: string): Promise<Reply> => {
    const { req } = exchange;
    const declared = Number(req.headers['content-length']);
    // Declared over the limit with `Expect: 100-continue`: no 100 was sent (listen.ts), so the client
    // waits to send it. Refused now, without reading; the connection closes, as the body may follow.
    if (declared > limit && req.headers.expect?.toLowerCase() === '100-continue') {
      exchange.res.shouldKeepAlive = false;
      return tooLarge(exchange);
    }
    if (coding !== 'identity' && coding !== 'gzip' && coding !== 'x-gzip') {
      if (exchange.prefetched === undefined) await readAtMost(req, 0);
      return refuse(exchange, {
        reason: 'unsupported-encoding',
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'Unsupported Content-Encoding: send the body as it is, or gzip-compressed',
      });
    }
    const raw = exchange.prefetched ?? (await readAtMost(req, declared > limit ? 0 : limit));
    if (raw === 'too-large' || raw.byteLength > limit) return tooLarge(exchange);
    if (coding === 'identity') {
      exchange.body = raw;
      return next(exchange);
    }
    try {
      exchange.body = await gunzipAsync(raw, { maxOutputLength: limit });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return tooLarge(exchange);
      return refuse(exchange, { reason: 'bad-body', status: 400, code: 'BAD_REQUEST', message: 'Request body is not valid gzip data' });
    }
    return next(exchange);
  };

  return (exchange, next) => {
    const { req } = exchange;
    if (!hasBody(req)) {
      exchange.body = null;
      return next(exchange);
    }
    const contentType = req.headers['content-type'];
    if (contentType !== undefined) req.headers['content-type'] = canonicalContentType(contentType);
    const coding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    // Already read by the adapter, sent as it is: judged here and now, the rest of the chain in the same turn.
    if (coding === 'identity' && exchange.prefetched !== undefined) {
      if (exchange.prefetched.byteLength > limit) return tooLarge(exchange);
      exchange.body = exchange.prefetched;
      return next(exchange);
    }
    return judged(exchange, next, coding);
  };
}
