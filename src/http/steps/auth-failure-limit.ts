import { setTimeout as sleep } from 'node:timers/promises';
import type { Step } from '../exchange.js';
import type { Refuse } from '../refusal.js';

export const DEFAULT_AUTH_FAILURES_PER_MINUTE = 10;
export const RATE_LIMITED_MESSAGE = 'Too many failed authentication attempts';
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
  now?: () => number;
}

interface ClientRecord {
  failures: number[];
  blockedUntil: number;
}

/**
 * Brute-force guard: every 401 answered to a client counts against it; past half the per-minute
 * budget its requests are slowed, and at the budget it is refused (429, RATE_LIMITED, Retry-After)
 * for `lockoutMs`. It counts answers rather than hooking the authenticator, so it holds for every
 * route, and each request passes this step once, so each is counted once.
 */
export function authFailureLimitStep(refuse: Refuse, options: AuthFailureLimitOptions): Step {
  const limit = options.failuresPerMinute;
  const lockoutMs = options.lockoutMs ?? WINDOW_MS;
  const stepMs = options.slowdownStepMs ?? 100;
  const now = options.now ?? Date.now;
  const clients = new Map<string, ClientRecord>();

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
  const countFailure = (key: string) => {
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
  };

  return async (exchange, next) => {
    const record = clients.get(exchange.clientKey);
    if (record) {
      const at = now();
      if (record.blockedUntil > at) {
        const retryAfter = Math.max(1, Math.ceil((record.blockedUntil - at) / 1000));
        return refuse(exchange, {
          reason: 'rate-limited',
          status: 429,
          code: 'RATE_LIMITED',
          message: RATE_LIMITED_MESSAGE,
          headers: { 'retry-after': String(retryAfter) },
        });
      }
      const over = recent(record, at) - Math.floor(limit / 2);
      if (over >= 0) await sleep(Math.min((over + 1) * stepMs, 2_000));
    }
    const reply = await next(exchange);
    if (reply.status === 401) countFailure(exchange.clientKey);
    return reply;
  };
}
