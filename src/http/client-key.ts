import type { IncomingMessage } from 'node:http';

/**
 * Who is asking, for per-client limits: the socket's address, or behind a TLS proxy (which every
 * client arrives through) the last `X-Forwarded-For` hop, the one that proxy appended.
 */
export function clientKeyOf(req: IncomingMessage, behindTlsProxy: boolean): string {
  if (behindTlsProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded)?.split(',');
    const last = hops?.[hops.length - 1]?.trim();
    if (last) return last;
  }
  return req.socket.remoteAddress ?? 'unknown';
}
