import { censorSecrets, type Later, type Logger, unrefLater } from '../log.js';

/**
 * A logger whose every line carries `bindings` (the request id), censored as every line's fields
 * are (pino does not pass a child's bindings through the `bindings` formatter): the one way the
 * server makes a child logger.
 */
export function childLogger(logger: Logger, bindings: Record<string, unknown>, options?: { level?: string }): Logger {
  return logger.child(censorSecrets(bindings), options);
}

/**
 * `childLogger`, made on first use: most requests log nothing, and a pino child (bindings
 * serialised, redaction set up) costs about a microsecond on every request otherwise.
 */
export function lazyChildLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  const pending: Pending = { parent: logger, bindings, child: undefined };
  return new Proxy(pending, LAZY) as unknown as Logger;
}

interface Pending {
  readonly parent: Logger;
  readonly bindings: Record<string, unknown>;
  child: Logger | undefined;
}

const childOf = (pending: Pending) => {
  pending.child ??= childLogger(pending.parent, pending.bindings);
  return pending.child;
};

// One handler for every lazy logger: creating one costs the proxy and its small target only.
const LAZY: ProxyHandler<Pending> = {
  get(pending, property) {
    const target = childOf(pending);
    const value = Reflect.get(target, property, target);
    return typeof value === 'function' ? value.bind(target) : value;
  },
  set: (pending, property, value) => Reflect.set(childOf(pending), property, value),
  has: (pending, property) => property in childOf(pending),
};

/** Refusal lines at INFO per minute, all reasons and clients together (past it: DEBUG, and counted). */
export const REFUSAL_LOG_LINES_PER_MINUTE = 60;
const MINUTE_MS = 60_000;

/** Logs one refusal: `fields.reason` is what it is counted by when the budget leaves it out. */
export type RefusalLog = (log: Logger, fields: { reason: string } & Record<string, unknown>, message: string) => void;

/**
 * Refusal lines within a budget per minute, like the wrong-token lines (steps/auth-failure-limit.ts):
 * up to `perMinute` at INFO in each minute, the rest at DEBUG and counted by reason; at the minute's
 * end (or with the first refusal after it) one line says how many were left out, by reason. At 20 a second, a sustained flood
 * wrote ~72,000 INFO lines an hour and never said how many it had left out.
 */
export function refusalLogBudget(
  options: {
    perMinute?: number;
    now?: () => number;
    /** Default: unrefLater. */
    later?: Later;
  } = {},
): RefusalLog {
  const perMinute = options.perMinute ?? REFUSAL_LOG_LINES_PER_MINUTE;
  const now = options.now ?? Date.now;
  const later = options.later ?? unrefLater;
  let window = { from: Number.NEGATIVE_INFINITY, lines: 0, leftOut: new Map<string, number>() };
  /** The left-out line said at the minute's end by itself, when no refusal comes after it (a flood that stopped). */
  let cancelSaying: (() => void) | null = null;
  /** Says what the window left out (if anything) and opens the next one at `at`. */
  const nextWindow = (log: Logger, at: number) => {
    cancelSaying?.();
    cancelSaying = null;
    if (window.leftOut.size > 0) {
      const byReason = Object.fromEntries(window.leftOut);
      const total = Object.values(byReason).reduce((sum, n) => sum + n, 0);
      const reasons = Object.entries(byReason)
        .sort(([, a], [, b]) => b - a)
        .map(([reason, n]) => `${reason} ${n}`)
        .join(', ');
      log.info(
        { leftOut: total, byReason, from: new Date(window.from).toISOString() },
        `${total} refusal lines left out of the log in the minute from ${new Date(window.from).toISOString()} (over ${perMinute} a minute; at DEBUG): ${reasons}; control_plane_http_refusals_total counts every one`,
      );
    }
    window = { from: at, lines: 0, leftOut: new Map() };
  };
  return (log, fields, message) => {
    const at = now();
    if (at - window.from >= MINUTE_MS) nextWindow(log, at);
    if (window.lines < perMinute) {
      window.lines += 1;
      log.info(fields, message);
      return;
    }
    window.leftOut.set(fields.reason, (window.leftOut.get(fields.reason) ?? 0) + 1);
    log.debug(fields, message);
    cancelSaying ??= later(
      () => {
        cancelSaying = null;
        nextWindow(log, now());
      },
      Math.max(0, window.from + MINUTE_MS - at),
    );
  };
}
