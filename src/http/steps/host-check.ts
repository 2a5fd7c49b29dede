import { isIPv4, isIPv6 } from 'node:net';
import type { Step } from '../exchange.js';
import type { Refuse } from '../refusal.js';

/** The names a loopback-bound server answers to (plus the address it is bound to). */
export const LOOPBACK_HOSTNAMES = ['localhost', '127.0.0.1', '::1'] as const;

/** Addresses that keep the server on this machine. */
export function isLoopbackAddress(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/i.test(host);
}

const REG_NAME = /^[a-z0-9._~-]+$/i;
const WITH_PORT = /^(.*?)(?::(\d*))?$/;

/**
 * `Example.COM:8787` -> `example.com`; `[::1]:8787` -> `::1`. Null unless the header is a valid
 * `host[:port]` (RFC 9110): a name or IPv4 address, or an IPv6 literal in brackets, and a port of at most 65535.
 */
export function hostnameOf(hostHeader: string): string | null {
  let host: string;
  let port: string | undefined;
  if (hostHeader.startsWith('[')) {
    const close = hostHeader.indexOf(']');
    if (close < 0) return null;
    host = hostHeader.slice(1, close);
    const rest = hostHeader.slice(close + 1);
    if (rest !== '' && !/^:\d*$/.test(rest)) return null;
    port = rest.slice(1);
    if (!isIPv6(host)) return null;
  } else {
    const match = WITH_PORT.exec(hostHeader);
    host = match?.[1] ?? '';
    port = match?.[2];
    if (!REG_NAME.test(host)) return null;
    if (/^[\d.]+$/.test(host) && !isIPv4(host)) return null; // `999.1.1.1`, `1..2`
  }
  if (port !== undefined && port !== '' && (port.length > 5 || Number(port) > 65_535)) return null;
  return host.toLowerCase();
}

/** The request target must be origin-form (`/path?query`): not `*`, not an absolute URL. */
export function isOriginForm(target: string): boolean {
  return target.startsWith('/') && !target.startsWith('//');
}

export interface HostCheckOptions {
  /** Host names answered; unset: any valid name (the server is not loopback-bound, names are the proxy's). */
  allowedHostnames?: Iterable<string>;
}

/**
 * Refuses what no route should see: a bad request target, a missing Host or one that is not a valid
 * `host[:port]`, or a Host, Authorization or Content-Type given twice (400), on a loopback-bound server any name but a loopback one (421: the
 * DNS-rebinding guard: a page on an attacker's name that resolves to 127.0.0.1 arrives with that name),
 * and an `Expect` other than `100-continue` (417: nothing here can meet it; listen.ts passes those
 * requests to the chain instead of letting Node answer them with an empty 417).
 */
export function hostCheckStep(refuse: Refuse, options: HostCheckOptions = {}): Step {
  const allowed = options.allowedHostnames ? new Set([...options.allowedHostnames].map((n) => n.toLowerCase())) : null;
  const served = allowed ? [...allowed].join(', ') : '';
  // Hosts seen recently, checked once each (a client sends the same Host on every request).
  const checked = new Map<string, string | null>();
  const hostnameOfCached = (header: string) => {
    let hostname = checked.get(header);
    if (hostname === undefined) {
      hostname = hostnameOf(header);
      if (checked.size >= 256) checked.clear();
      checked.set(header, hostname);
    }
    return hostname;
  };
  return (exchange, next) => {
    if (!isOriginForm(exchange.target)) {
      return refuse(exchange, {
        reason: 'bad-target',
        status: 400,
        code: 'BAD_REQUEST',
        // `//` is refused (it would be read as a host by URL parsers), but it is nearly always a
        // script joining a base URL that ends in `/` with a path that begins with one: say so.
        message: exchange.target.startsWith('//')
          ? 'Bad request target: the path begins with "//": join the base URL and the path with one slash (e.g. /api/status)'
          : 'Bad request target: expected a path such as /graphql',
      });
    }
    const header = exchange.req.headers.host;
    const repeated = repeatedField(exchange.req.rawHeaders);
    if (repeated === 'authorization') {
      return refuse(exchange, {
        reason: 'bad-authorization',
        status: 400,
        code: 'BAD_REQUEST',
        message: 'Bad Authorization header: given more than once (send one)',
      });
    }
    if (repeated === 'content-type') {
      return refuse(exchange, {
        reason: 'bad-content-type',
        status: 400,
        code: 'BAD_REQUEST',
        message: 'Bad Content-Type header: given more than once (send one)',
      });
    }
    const hostname = header === undefined || repeated === 'host' ? null : hostnameOfCached(header);
    if (hostname === null) {
      return refuse(exchange, { reason: 'bad-host', status: 400, code: 'BAD_REQUEST', message: 'Bad Host header: expected host[:port]' });
    }
    if (allowed && !allowed.has(hostname)) {
      return refuse(exchange, {
        reason: 'foreign-host',
        status: 421,
        code: 'MISDIRECTED_REQUEST',
        message: `Host not served: this control plane answers to ${served}`,
      });
    }
    const expect = exchange.req.headers.expect;
    if (expect !== undefined && expect.toLowerCase() !== '100-continue') {
      return refuse(exchange, {
        reason: 'bad-expectation',
        status: 417,
        code: 'BAD_REQUEST',
        message: 'Expectation not met: only "Expect: 100-continue" is understood',
      });
    }
    exchange.host = header!;
    return next(exchange);
  };
}

/**
 * A field that must come once and came more than once: Host (RFC 9112, 3.2, says 400),
 * Authorization or Content-Type. Node keeps the first of each; a proxy in front that reads the last
 * one would judge another host than the Host check did, log, check or forward another token than
 * the one this server authenticated, or parse the body as another type than this server did (a
 * browser never sends two of any).
 */
function repeatedField(rawHeaders: readonly string[]): 'host' | 'authorization' | 'content-type' | null {
  let host = false;
  let authorization = false;
  let contentType = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (host) return 'host';
      host = true;
    } else if (name.length === 13 && name.toLowerCase() === 'authorization') {
      if (authorization) return 'authorization';
      authorization = true;
    } else if (name.length === 12 && name.toLowerCase() === 'content-type') {
      if (contentType) return 'content-type';
      contentType = true;
    }
  }
  return null;
}
