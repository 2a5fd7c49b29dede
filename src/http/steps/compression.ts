import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { type Exchange, isStream, type Reply, type Step } from '../exchange.js';

/** Smaller bodies gain less than the compression costs. */
export const COMPRESSION_THRESHOLD_BYTES = 1024;

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);
// Dynamic answers: a fast level (brotli's default 11 costs far more than it saves on small JSON).
const BROTLI_OPTIONS = { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } };
const GZIP_OPTIONS = { level: 6 };

const COMPRESSIBLE = /^(text\/(?!event-stream)|application\/(json|graphql-response\+json|javascript|xml)|image\/svg\+xml)|\+json\b/i;

export type Coding = 'br' | 'gzip';

/** Large bodies that repeat (GraphiQL's page is megabytes): compressed once, kept by content digest. */
const CACHED_FROM_BYTES = 64 * 1024;
const CACHE_ENTRIES = 8;

function compressor() {
  const cache = new Map<string, Buffer>();
  const compress = (coding: Coding, bytes: Uint8Array) =>
    coding === 'br' ? brotli(bytes, BROTLI_OPTIONS) : gzipAsync(bytes, GZIP_OPTIONS);
  return async (coding: Coding, bytes: Uint8Array): Promise<Buffer> => {
    if (bytes.byteLength < CACHED_FROM_BYTES) return compress(coding, bytes);
    const key = `${coding}:${createHash('sha256').update(bytes).digest('base64')}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const compressed = await compress(coding, bytes);
    cache.set(key, compressed);
    for (const oldest of cache.keys()) {
      if (cache.size <= CACHE_ENTRIES) break;
      cache.delete(oldest);
    }
    return compressed;
  };
}

/** The best coding the client accepts (`Accept-Encoding` with q-values; br before gzip on a tie), or null. */
export function negotiateEncoding(acceptEncoding: string | undefined): Coding | null {
  if (!acceptEncoding) return null;
  const q: Record<string, number> = {};
  for (const part of acceptEncoding.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = qParam ? Number(qParam.slice(2)) : 1;
    q[name.trim()] = Number.isFinite(value) ? value : 0;
  }
  const weight = (coding: Coding) => q[coding] ?? q['*'] ?? 0;
  const best = weight('br') >= weight('gzip') ? 'br' : 'gzip';
  return weight(best) > 0 ? best : null;
}

/** `Vary` with Accept-Encoding, once: a route may list it already (GraphiQL's page does). */
function withVaryOnEncoding(vary: string | undefined): string {
  if (!vary) return 'Accept-Encoding';
  return vary.split(',').some((name) => name.trim().toLowerCase() === 'accept-encoding') ? vary : `${vary}, Accept-Encoding`;
}

/**
 * Compresses answers over `threshold` bytes with br or gzip, as the client's Accept-Encoding
 * allows. Streams (SSE, multipart) pass as they are: each event must reach the client when sent.
 */
export function compressionStep(threshold = COMPRESSION_THRESHOLD_BYTES): Step {
  const compress = compressor();
  const compressed = (exchange: Exchange, reply: Reply): Reply | Promise<Reply> => {
    const { body } = reply;
    if (body === null || isStream(body) || reply.headers['content-encoding'] !== undefined) return reply;
    // The size first: most answers (a cached read) are small, and it is cheaper than the type's pattern.
    if ((typeof body === 'string' ? (reply.length ?? Buffer.byteLength(body)) : body.byteLength) < threshold) return reply;
    if (!COMPRESSIBLE.test(reply.headers['content-type'] ?? '')) return reply;
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    reply.headers.vary = withVaryOnEncoding(reply.headers.vary);
    const coding = negotiateEncoding(exchange.req.headers['accept-encoding']);
    if (!coding) return reply;
    return compress(coding, bytes).then((compressed) => {
      reply.body = compressed;
      reply.headers['content-encoding'] = coding;
      return reply;
    });
  };
  return (exchange, next) => {
    const reply = next(exchange);
    // Judged now when the reply is here now: no closure on a cached read.
    return reply instanceof Promise ? reply.then((r) => compressed(exchange, r)) : compressed(exchange, reply);
  };
}
