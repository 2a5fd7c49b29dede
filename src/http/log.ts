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

/**
 * Whether one more line may go out at INFO now: up to `perSecond` in each one-second window, so a
 * flood of refusals cannot flood the log (the rest go to DEBUG).
 */
export function infoAllowance(perSecond: number, now: () => number): () => boolean {
  let windowStart = Number.NEGATIVE_INFINITY;
  let loggedInWindow = 0;
  return () => {
    const at = now();
    if (at - windowStart >= 1_000) {
      windowStart = at;
      loggedInWindow = 0;
    }
    if (loggedInWindow >= perSecond) return false;
    loggedInWindow += 1;
    return true;
  };
}
