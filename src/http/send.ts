import { MAX_STREAM_BUFFER_BYTES } from '../limit-defaults.js';
import type { ByteStream, Exchange, Reply } from './exchange.js';
import { isStream } from './exchange.js';

/** Headers that describe the connection or the wire: the writer sets them from what it sends. */
const HOP_BY_HOP = ['content-length', 'transfer-encoding', 'connection', 'keep-alive'];

export interface StreamOptions {
  /** Bytes a reader may leave unread (in the server's buffers) before its stream is ended. */
  maxBufferedBytes?: number;
  /** Told when a reader fell that far behind (metrics, log). */
  onSlowReader?: (buffered: number, exchange: Exchange) => void;
}

/**
 * Sends a stream chunk by chunk as the source produces it, until it ends, the client goes away or
 * the server closes (then it is cancelled). A reader that does not keep up is not waited for: once
 * what it left unread passes `maxBufferedBytes`, its stream ends and the connection is closed,
 * so a stalled reader holds neither memory nor a subscription.
 */
async function pipeStream(exchange: Exchange, stream: ByteStream, options: StreamOptions): Promise<void> {
  const { res, signal } = exchange;
  const maxBuffered = options.maxBufferedBytes ?? MAX_STREAM_BUFFER_BYTES;
  const reader = stream.getReader();
  const stopped = new Promise<'stopped'>((resolve) => {
    if (signal.aborted) resolve('stopped');
    signal.addEventListener('abort', () => resolve('stopped'), { once: true });
  });
  let ended = false;
  try {
    while (!signal.aborted && !res.destroyed) {
      const next = await Promise.race([reader.read(), stopped]);
      if (next !== 'stopped' && next.done) ended = true;
      if (next === 'stopped' || next.done) break;
      if (!next.value) continue;
      res.write(next.value);
      if (res.writableLength > maxBuffered) {
        options.onSlowReader?.(res.writableLength, exchange);
        res.destroy();
        break;
      }
    }
  } finally {
    // Cut short (client gone, server closing, slow reader): cancel the stream itself, not only its
    // reader. whatwg-node's ReadableStream (yoga's fetch API in Node) reads through an async
    // generator, so a reader's cancel() waits behind the read still pending - until the next chunk,
    // yoga's 12 s SSE ping - and the subscription, its ping timer and this exchange stay reachable
    // until then. The stream's cancel() destroys it now: the pending read rejects, the source's
    // cancel clears the ping and returns the subscription's iterator. Not awaited (whatwg-node's
    // waits for a 'close' that an already closed stream never emits again); on a native stream it
    // is refused (locked) and the reader's cancel does it.
    if (!ended) {
      try {
        stream.cancel?.()?.catch(() => {});
      } catch {}
    }
    await reader.cancel().catch(() => {});
  }
}

/** Writes a reply: the only place an answer reaches the socket. Synchronous unless the body is a stream. */
export function sendReply(
  exchange: Exchange,
  reply: Reply,
  extraHeaders: Record<string, string> = {},
  streamOptions: StreamOptions = {},
): void | Promise<void> {
  const { res } = exchange;
  if (res.headersSent || res.destroyed) return;
  // The reply is this request's own: its headers are sent as they are (no copy on the way out).
  const headers: Record<string, string | number> = reply.headers;
  for (const name of HOP_BY_HOP) if (name in headers && !(name in extraHeaders)) delete headers[name];
  for (const name in extraHeaders) headers[name] = extraHeaders[name]!;
  const { body } = reply;
  if (isStream(body)) return sendStream(exchange, reply.status, headers, body, streamOptions);
  if (body !== null) headers['content-length'] = typeof body === 'string' ? (reply.length ?? Buffer.byteLength(body)) : body.byteLength;
  res.writeHead(reply.status, headers);
  // A string body goes out in one write with the head (Node joins the two); bytes would be a second
  // chunk of a writev: a cached read's ~100-byte answer cost ~0.7 µs more that way (same-run A/B).
  res.end(body !== null && exchange.method !== 'HEAD' ? body : undefined);
}

async function sendStream(
  exchange: Exchange,
  status: number,
  headers: Record<string, string | number>,
  body: ByteStream,
  options: StreamOptions,
): Promise<void> {
  const { res } = exchange;
  res.writeHead(status, headers);
  res.flushHeaders();
  await pipeStream(exchange, body, options);
  if (!res.destroyed) res.end();
}
