import type { Logger } from '../log.js';

/** A logger whose every line carries `bindings` (the request id). */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  return logger.child(bindings);
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
  pending.child ??= pending.parent.child(pending.bindings);
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
 * up to `perMinute` at INFO in each minute, the rest at DEBUG and counted by reason; the first line
 * after a minute with some left out says how many, by reason. At 20 a second, a sustained flood
 * wrote ~72,000 INFO lines an hour and never said how many it had left out.
 */
export function refusalLogBudget(options: { perMinute?: number; now?: () => number } = {}): RefusalLog {
  const perMinute = options.perMinute ?? REFUSAL_LOG_LINES_PER_MINUTE;
  const now = options.now ?? Date.now;
  let window = { from: Number.NEGATIVE_INFINITY, lines: 0, leftOut: new Map<string, number>() };
  return (log, fields, message) => {
    const at = now();
    if (at - window.from >= MINUTE_MS) {
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
    }
    if (window.lines < perMinute) {
      window.lines += 1;
      log.info(fields, message);
      return;
    }
    window.leftOut.set(fields.reason, (window.leftOut.get(fields.reason) ?? 0) + 1);
    log.debug(fields, message);
  };
}
