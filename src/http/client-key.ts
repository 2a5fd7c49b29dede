import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';

/**
 * Who is asking, for per-client limits: the socket's address, or behind a TLS proxy (which every
 * client arrives through) the last `X-Forwarded-For` hop, the one that proxy appended. As a
 * client, see `clientOfAddress`: an IPv6 address counts as its /64.
 */
export function clientKeyOf(req: IncomingMessage, behindTlsProxy: boolean, connectionClient?: string): string {
  if (behindTlsProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded)?.split(',');
    const last = hops?.[hops.length - 1]?.trim();
    if (last) return clientOfAddress(hopAddress(last));
  }
  // The connection's client, when the connection guard has worked it out already (once per connection, not per request).
  return connectionClient ?? clientOfAddress(req.socket.remoteAddress);
}

/**
 * A forwarded hop's address without the port some proxies add (`192.0.2.7:5678`,
 * `[2001:db8::1]:443`) or the brackets around an IPv6 one: kept whole, each source port of a
 * client was a new client with fresh budgets. A bare IPv6 address (more than one colon) is kept.
 */
function hopAddress(hop: string): string {
  if (hop.startsWith('[')) {
    const end = hop.indexOf(']');
    return end > 1 ? hop.slice(1, end) : hop;
  }
  const colon = hop.indexOf(':');
  return colon > 0 && colon === hop.lastIndexOf(':') ? hop.slice(0, colon) : hop;
}

/** The groups of an IPv6 address, 8 numbers; undefined if it is not one (a zone index `%eth0` is dropped). */
function ipv6Groups(address: string): number[] | undefined {
  const bare = address.split('%')[0] ?? '';
  if (!isIPv6(bare)) return undefined;
  // An embedded IPv4 tail (::ffff:192.0.2.1) is two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(bare);
  const text = v4
    ? `${bare.slice(0, v4.index)}${((+v4[1]! << 8) | +v4[2]!).toString(16)}:${((+v4[3]! << 8) | +v4[4]!).toString(16)}`
    : bare;
  const [head = '', tail] = text.split('::');
  const part = (s: string | undefined) => (s ? s.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const front = part(head);
  const back = part(tail);
  return tail === undefined ? front : [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/**
 * The client an address belongs to, for per-client limits (wrong tokens, connections and
 * subscriptions per client). An IPv4 address is itself. An IPv6 address counts as its /64 (written
 * `2001:db8:1:2::/64`): a single host or home is given a whole /64, so keying on the full address
 * would let one client rotate through 2^64 of them and never reach a limit. An IPv4 address mapped
 * into IPv6 (`::ffff:192.0.2.1`, what a dual-stack listener reports) is the IPv4 client.
 * Anything else (no address: a closed socket) is kept as it is.
 */
export function clientOfAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  // An IPv4 address (no colon) is itself: no IPv6 parsing for the common case.
  if (!address.includes(':')) return address;
  const groups = ipv6Groups(address);
  if (!groups) return address;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  if (groups.every((g, i) => g === (i === 7 ? 1 : 0))) return '::1';
  return `${ipv6Text([...groups.slice(0, 4), 0, 0, 0, 0])}/64`;
}

/** An IPv6 address's canonical text (RFC 5952): lower-case hex, the longest run of zero groups (two or more, the first of equals) as `::`. */
function ipv6Text(groups: readonly number[]): string {
  let start = -1;
  let length = 0;
  for (let i = 0; i < groups.length; i++) {
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > length && j - i >= 2) {
      start = i;
      length = j - i;
    }
    i = Math.max(i, j);
  }
  const hex = (part: readonly number[]) => part.map((g) => g.toString(16)).join(':');
  return start < 0 ? hex(groups) : `${hex(groups.slice(0, start))}::${hex(groups.slice(start + length))}`;
}
