import type { ServerResponse } from 'node:http';
import type { ByteStream, Exchange, Reply } from './exchange.js';
import { isStream } from './exchange.js';

/** Headers that describe the connection or the wire: the writer sets them from what it sends. */
const HOP_BY_HOP = ['content-length', 'transfer-encoding', 'connection', 'keep-alive'];

function waitForDrain(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Sends a stream chunk by chunk until it ends, the client goes away or the server closes (then it is cancelled). */
async function pipeStream(res: ServerResponse, stream: ByteStream, signal: AbortSignal): Promise<void> {
  const reader = stream.getReader();
  const stopped = new Promise<'stopped'>((resolve) => {
    if (signal.aborted) resolve('stopped');
    signal.addEventListener('abort', () => resolve('stopped'), { once: true });
  });
  try {
    while (!signal.aborted && !res.destroyed) {
      const next = await Promise.race([reader.read(), stopped]);
      if (next === 'stopped' || next.done) break;
      if (next.value && !res.write(next.value)) await waitForDrain(res, signal);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** Writes a reply: the only place an answer reaches the socket. Synchronous unless the body is a stream. */
export function sendReply(exchange: Exchange, reply: Reply, extraHeaders: Record<string, string> = {}): void | Promise<void> {
  const { res } = exchange;
  if (res.headersSent || res.destroyed) return;
  // The reply is this request's own: its headers are sent as they are (no copy on the way out).
  const headers: Record<string, string | number> = reply.headers;
  for (const name of HOP_BY_HOP) if (name in headers && !(name in extraHeaders)) delete headers[name];
  for (const name in extraHeaders) headers[name] = extraHeaders[name]!;
  const { body } = reply;
  if (isStream(body)) return sendStream(exchange, reply.status, headers, body);
  const bytes = body === null ? null : typeof body === 'string' ? Buffer.from(body) : body;
  if (bytes !== null) headers['content-length'] = bytes.byteLength;
  res.writeHead(reply.status, headers);
  res.end(bytes !== null && exchange.method !== 'HEAD' ? bytes : undefined);
}

async function sendStream(exchange: Exchange, status: number, headers: Record<string, string | number>, body: ByteStream): Promise<void> {
  const { res } = exchange;
  res.writeHead(status, headers);
  res.flushHeaders();
  await pipeStream(res, body, exchange.signal);
  if (!res.destroyed) res.end();
}
