// Its own file, not the package's index (which loads every store it ships): src/types/rate-limiter-flexible.d.ts.
import RateLimiterMemory from 'rate-limiter-flexible/lib/RateLimiterMemory.js';
import type { Authenticator } from '../../auth/tokens.js';
import { challengeSaysExpired } from '../../graphql/errors.js';
import { unrefLater } from '../../log.js';
import type { Exchange, Handler, Reply, Step } from '../exchange.js';
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
  /** The clock the log's line budget runs on (tests move it). */
  now?: () => number;
  /**
   * Paths whose answer never depends on a token (the probes, the operator page and its assets):
   * neither counted, nor holding a point, nor refused here. Over its limit, an address's health
   * checks that carry a header (a monitor's default credentials) were 429, and a load balancer took
   * a serving replica out because a script behind the same NAT guessed; a browser sending a stale
   * token with the page's own files (ten at once) had them refused 429, a point held by each.
   */
  tokenFree?: (path: string) => boolean;
}

/** Wrong-token log lines at most per minute, all clients together: a spray from many addresses cannot flood the log. */
export const AUTH_LOG_LINES_PER_MINUTE = 60;

/** `Authorization` sent and not empty: only such requests are counted or refused. */
const presentsToken = (header: string | undefined): header is string => header !== undefined && header.trim() !== '';

/**
 * Brute-force guard that never locks the operator out. Only a request that presents a token and
 * is answered 401 counts against its client (address, or the proxy's forwarded one); once a client
 * has `failuresPerMinute` of them in its window, its next requests with a wrong token are refused
 * (429, RATE_LIMITED, Retry-After) until the window ends. A request without a token is never
 * counted or refused (public reads keep working), and one whose token authenticates is never
 * refused: the emergency switch works from an address a broken script shares. A named token that
 * is right but expired is neither counted nor refused with 429: it is answered 401 saying so.
 * Counting is rate-limiter-flexible's (a fixed one-minute window per client, entries expire with it).
 *
 * A request that presents a token holds one of its client's points while it is answered (`held`):
 * a named token is looked up in the store (async), so its 401 is known only later, and a client
 * that sent its guesses all at once (pipelined on one connection, or over many) had every one of
 * them checked before the first was counted: 5,000 in one write were all answered 401. Now a
 * client whose points counted and held reach the limit has its next wrong tokens refused at once;
 * a point held by a token that proves right (or expired) is given back with its answer.
 */
export function authFailureLimitStep(refuse: Refuse, options: AuthFailureLimitOptions): Step {
  const limit = options.failuresPerMinute;
  const failures = new RateLimiterMemory({ points: limit, duration: WINDOW_SECONDS, keyPrefix: 'auth-failures' });
  // Clients with a failure in a window still open: how many the limiter counted, and when the window
  // ends (both as it last said). Read at once, so a request from a client that never failed passes
  // without asking the limiter (an async call).
  const failedRecently = new Map<string, { consumed: number; until: number }>();
  const MAX_TRACKED = 10_000;
  // Requests with a token being answered now, per client: each holds a point until its answer is
  // known, and a 401's until the limiter has counted it (so the two never both miss it).
  const held = new Map<string, number>();
  const hold = (key: string) => held.set(key, (held.get(key) ?? 0) + 1);
  const release = (key: string) => {
    const n = (held.get(key) ?? 1) - 1;
    if (n <= 0) held.delete(key);
    else held.set(key, n);
  };
  /** The client's points counted in its open window (0: none open). */
  const spent = (key: string): number => {
    const recent = failedRecently.get(key);
    if (recent === undefined) return 0;
    if (recent.until <= Date.now()) {
      failedRecently.delete(key);
      return 0;
    }
    return recent.consumed;
  };

  const now = options.now ?? (() => Date.now());
  // WARN lines for wrong tokens: a client's first in its window and the one that reaches the limit,
  // within a budget per minute for all clients; what the budget leaves out is counted and said after.
  let budget = { from: now(), lines: 0, leftOut: 0 };
  // What a minute left out is said at its end by itself too: a spray that stopped kept its count unsaid
  // until the next wrong token, however long after.
  let cancelSaying: (() => void) | null = null;
  const nextWindow = (log: Exchange['log']) => {
    cancelSaying?.();
    cancelSaying = null;
    if (budget.leftOut > 0) {
      log.warn(
        { leftOut: budget.leftOut },
        `${budget.leftOut} wrong-token lines left out of the log in the last minute (over ${AUTH_LOG_LINES_PER_MINUTE} a minute); control_plane_auth_failures_total counts every wrong token`,
      );
    }
    budget = { from: now(), lines: 0, leftOut: 0 };
  };
  const warn = (exchange: Exchange, fields: Record<string, unknown>, message: string) => {
    if (now() - budget.from >= WINDOW_SECONDS * 1000) nextWindow(exchange.log);
    if (budget.lines >= AUTH_LOG_LINES_PER_MINUTE) {
      budget.leftOut += 1;
      const log = exchange.log;
      cancelSaying ??= unrefLater(() => nextWindow(log), Math.max(0, budget.from + WINDOW_SECONDS * 1000 - now()));
      return;
    }
    budget.lines += 1;
    exchange.log.warn({ client: exchange.clientKey, method: exchange.method, path: exchange.path.slice(0, 200), ...fields }, message);
  };

  const counted = async (exchange: Exchange, reply: Reply): Promise<Reply> => {
    // penalty() counts without refusing: the refusal is decided before, where the token is known to be wrong.
    const seen = await failures.penalty(exchange.clientKey);
    if (seen.consumedPoints === 1) {
      warn(
        exchange,
        { status: 401 },
        `wrong token from ${exchange.clientKey}: answered 401 (its next ones within the minute are counted, not logged, up to the limit of ${limit})`,
      );
    } else if (seen.consumedPoints === limit) {
      const until = new Date(Date.now() + seen.msBeforeNext).toISOString();
      warn(
        exchange,
        { status: 401, failures: limit, until },
        `${exchange.clientKey} sent ${limit} wrong tokens within a minute: its next wrong tokens are refused with 429 until ${until} (the right token is still accepted)`,
      );
    }
    failedRecently.delete(exchange.clientKey);
    if (failedRecently.size >= MAX_TRACKED) failedRecently.delete(failedRecently.keys().next().value as string);
    failedRecently.set(exchange.clientKey, { consumed: seen.consumedPoints, until: Date.now() + seen.msBeforeNext });
    options.onFailure?.();
    return reply;
  };
  // A 401 for an expired token is not counted: the token was right (only its holder has it), so it
  // is no guess, and counting it would lock the address (a CI runner's, a NAT shared by a team) out
  // for a minute of every other wrong token and fill the wrong-token log. The authenticator logs it.
  const wrongToken = (reply: Reply) => reply.status === 401 && !challengeSaysExpired(reply.headers['www-authenticate']);
  /**
   * Answers the request; a 401 is counted. With `holding`, the request holds one of its client's
   * points until its answer is known, and a 401's until it is counted. The point is taken once
   * `next` has returned: nothing else runs between the check that found it free (`hasPoint`) and
   * then, so a point taken after is as good as one taken before, and an answer ready at once (a
   * cached read's, most of a token-carrying load) takes none unless it is a 401: a Map insert and
   * delete saved per request (~0.3 µs of the ~20 µs a cached read costs, `--cpu-prof`).
   */
  const answer = (exchange: Exchange, next: Handler, holding: boolean): Reply | Promise<Reply> => {
    const key = exchange.clientKey;
    /** A 401 counted, its point held (with `holding`) until it is. */
    const count = (reply: Reply): Promise<Reply> => {
      if (!holding) return counted(exchange, reply);
      hold(key);
      return counted(exchange, reply).finally(() => release(key));
    };
    const reply = next(exchange);
    if (!(reply instanceof Promise)) return wrongToken(reply) ? count(reply) : reply;
    if (holding) hold(key);
    return reply.then(
      (settled) => {
        if (holding) release(key);
        return wrongToken(settled) ? count(settled) : settled;
      },
      (err: unknown) => {
        if (holding) release(key);
        throw err;
      },
    );
  };
  /** Whether the client's points counted and held leave one for this request (`answer` takes it). */
  const hasPoint = (key: string): boolean => spent(key) + (held.get(key) ?? 0) < limit;

  const tokenFree = options.tokenFree ?? (() => false);
  return (exchange, next) => {
    const authorization = exchange.req.headers.authorization;
    if (!presentsToken(authorization) || tokenFree(exchange.path)) return next(exchange);
    if (hasPoint(exchange.clientKey)) return answer(exchange, next, true);
    return limited(exchange, next, authorization);
  };

  /** A client with no point left: its token is checked here, and refused with 429 if it is wrong. */
  async function limited(exchange: Exchange, next: Handler, authorization: string): Promise<Reply> {
    const credentials = await options.authenticator.authenticate(authorization);
    // An expired token is answered as such (401, saying when), not 429: it is a known token, no guess.
    const wrong = credentials.kind === 'none' || (credentials.kind === 'invalid' && credentials.expiredAt === undefined);
    if (!wrong) return answer(exchange, next, false);
    // Points held while the token was looked up may have been given back (their tokens were right).
    const key = exchange.clientKey;
    if (hasPoint(key)) return answer(exchange, next, true);
    options.onFailure?.();
    const until = failedRecently.get(key)?.until ?? Date.now() + WINDOW_SECONDS * 1000;
    return refuse(exchange, {
      reason: 'rate-limited',
      status: 429,
      code: 'RATE_LIMITED',
      message: RATE_LIMITED_MESSAGE,
      headers: { 'retry-after': String(Math.max(1, Math.ceil((until - Date.now()) / 1000))) },
    });
  }
}
