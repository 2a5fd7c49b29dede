import { isIPv4 } from 'node:net';

/**
 * DESIGN's loopback rule for stratctl's token: a URL whose host is `localhost`, in 127.0.0.0/8, or
 * `[::1]`. Anything else is not, `0.0.0.0` included (it names no machine; where it connects is the
 * kernel's choice). The WHATWG URL parser has normalised the host (`127.1` -> `127.0.0.1`, `[::1]`).
 */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]') return true;
  return isIPv4(host) && host.startsWith('127.');
}
