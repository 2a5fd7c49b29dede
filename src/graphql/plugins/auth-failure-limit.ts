import type { IncomingMessage } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import { refusal } from './refusal.js';

export const DEFAULT_AUTH_FAILURES_PER_MINUTE = 10;
const WINDOW_MS = 60_000;
/** Bound on the clients tracked at once, so a flood of addresses cannot grow memory without limit. */
const MAX_TRACKED_CLIENTS = 10_000;

export interface AuthFailureLimitOptions {
  /** Failed authentications (HTTP 401 answers) per client per minute before it is refused. */
  failuresPerMinute: number;
  /** How long a client is refused once over the limit. */
  lockoutMs?: number;
  /** Delay added per failure once a client is past half its budget ("slowed, then refused"). */
  slowdownStepMs?: number;
  /** Behind a TLS proxy every client arrives from the proxy: key on the hop the proxy appended to X-Forwarded-For. */
  trustProxy?: boolean;
  now?: () => number;
}

interface ClientRecord {
  failures: number[];
  blockedUntil: number;
}

export const RATE_LIMITED_MESSAGE = 'Too many failed authentication attempts';

function clientKey(request: Request, serverContext: unknown, trustProxy: boolean): string {
  if (trustProxy) {
    const hops = request.headers.get('x-forwarded-for')?.split(',');
    const last = hops?.[hops.length - 1]?.trim();
    if (last) return last;
  }
  return (serverContext as { req?: IncomingMessage }).req?.socket.remoteAddress ?? 'unknown';
}

/**
 * Brute-force guard: every 401 answered to a client counts against it; past half the per-minute
 * budget its requests are slowed, and at the budget it is refused (429, RATE_LIMITED, Retry-After)
 * for `lockoutMs`. Counting answers rather than hooking the authenticator keeps it independent of
 * how tokens are checked.
 */
export function authFailureLimitPlugin(options: AuthFailureLimitOptions): Plugin {
  const limit = options.failuresPerMinute;
  const lockoutMs = options.lockoutMs ?? WINDOW_MS;
  const stepMs = options.slowdownStepMs ?? 100;
  const now = options.now ?? Date.now;
  const clients = new Map<string, ClientRecord>();
  const keys = new WeakMap<Request, string>();
  // One count per HTTP request: a REST route runs its GraphQL through yoga again with the same server context.
  const counted = new WeakSet<object>();
  const slowed = new WeakSet<object>();

  const recent = (record: ClientRecord, at: number) => {
    while (record.failures.length > 0 && record.failures[0]! <= at - WINDOW_MS) record.failures.shift();
    return record.failures.length;
  };
  const forget = (at: number) => {
    for (const [key, record] of clients) {
      if (record.blockedUntil <= at && recent(record, at) === 0) clients.delete(key);
    }
    // Still too many (a flood): drop the oldest entries rather than grow.
    for (const key of clients.keys()) {
      if (clients.size <= MAX_TRACKED_CLIENTS) break;
      clients.delete(key);
    }
  };

  return {
    async onRequest({ request, url, serverContext, endResponse, fetchAPI }) {
      const key = clientKey(request, serverContext, options.trustProxy ?? false);
      keys.set(request, key);
      const record = clients.get(key);
      if (!record) return;
      const at = now();
      if (record.blockedUntil > at) {
        const retryAfter = Math.max(1, Math.ceil((record.blockedUntil - at) / 1000));
        endResponse(
          refusal(fetchAPI, url, 429, { message: RATE_LIMITED_MESSAGE, code: 'RATE_LIMITED' }, { 'retry-after': String(retryAfter) }),
        );
        return;
      }
      const origin = (serverContext as { req?: object }).req ?? request;
      if (slowed.has(origin)) return; // a REST route's inner GraphQL call: already slowed once
      slowed.add(origin);
      const over = recent(record, at) - Math.floor(limit / 2);
      if (over >= 0) await new Promise((resolve) => setTimeout(resolve, Math.min((over + 1) * stepMs, 2_000)));
    },
    onResponse({ request, response, serverContext }) {
      if (response.status !== 401) return;
      const key = keys.get(request);
      if (key === undefined) return;
      const origin = (serverContext as { req?: object }).req ?? request;
      if (counted.has(origin)) return;
      counted.add(origin);
      const at = now();
      let record = clients.get(key);
      if (!record) {
        if (clients.size >= MAX_TRACKED_CLIENTS) forget(at);
        record = { failures: [], blockedUntil: 0 };
        clients.set(key, record);
      }
      record.failures.push(at);
      if (recent(record, at) >= limit) {
        record.blockedUntil = at + lockoutMs;
        record.failures = [];
      }
    },
  };
}
