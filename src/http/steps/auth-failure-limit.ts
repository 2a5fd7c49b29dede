import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Authenticator } from '../../auth/tokens.js';
import type { Step } from '../exchange.js';
import type { Refuse } from '../refusal.js';

export const DEFAULT_AUTH_FAILURES_PER_MINUTE = 10;
export const RATE_LIMITED_MESSAGE = 'Too many failed authentication attempts';
const WINDOW_SECONDS = 60;

export interface AuthFailureLimitOptions {
  /** Wrong tokens per client per minute; the next wrong one in that minute is refused (429). */
  failuresPerMinute: number;
  /** Tells a token that is right from one that is wrong, for a client over its budget. */
  authenticator: Authenticator;
  /** Told of every wrong token: answered 401, or 429 once its client is over the limit (metrics). */
  onFailure?: () => void;
}

/** `Authorization` sent and not empty: only such requests are counted or refused. */
const presentsToken = (header: string | undefined): header is string => header !== undefined && header.trim() !== '';

/**
 * Brute-force guard that never locks the operator out. Only a request that presents a token and
 * is answered 401 counts against its client (address, or the proxy's forwarded one); once a client
 * has `failuresPerMinute` of them in its window, its next requests with a wrong token are refused
 * (429, RATE_LIMITED, Retry-After) until the window ends. A request without a token is never
 * counted or refused (public reads keep working), and one whose token authenticates is never
 * refused: the emergency switch works from an address a broken script shares.
 * Counting is rate-limiter-flexible's (a fixed one-minute window per client, entries expire with it).
 */
export function authFailureLimitStep(refuse: Refuse, options: AuthFailureLimitOptions): Step {
  const limit = options.failuresPerMinute;
  const failures = new RateLimiterMemory({ points: limit, duration: WINDOW_SECONDS, keyPrefix: 'auth-failures' });

  return async (exchange, next) => {
    const authorization = exchange.req.headers.authorization;
    if (!presentsToken(authorization)) return next(exchange);
    const seen = await failures.get(exchange.clientKey);
    if (seen && seen.consumedPoints >= limit) {
      const credentials = await options.authenticator.authenticate(authorization);
      if (credentials.kind !== 'valid') {
        options.onFailure?.();
        return refuse(exchange, {
          reason: 'rate-limited',
          status: 429,
          code: 'RATE_LIMITED',
          message: RATE_LIMITED_MESSAGE,
          headers: { 'retry-after': String(Math.max(1, Math.ceil(seen.msBeforeNext / 1000))) },
        });
      }
    }
    const reply = await next(exchange);
    if (reply.status === 401) {
      // penalty() counts without refusing: the refusal is decided above, where the token is known to be wrong.
      await failures.penalty(exchange.clientKey);
      options.onFailure?.();
    }
    return reply;
  };
}
