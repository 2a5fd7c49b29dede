import { type Later, type Logger, lastPeriod, unrefLater } from './log.js';

/** How often, at most, the requests a fault failed again are said as a count. */
export const FAULT_SUMMARY_MS = 60_000;
/** Kinds of fault said in full (with a stack) in a minute; past it, every fault is counted (a flood of varied errors). */
export const FAULT_FULL_LINES_PER_MINUTE = 10;
/** Kinds kept apart at once; past it, a new kind is counted as `other` (the map stays small whatever the errors say). */
const MAX_KINDS = 100;

/** `Error, EMFILE: GraphQL operation failed; answered masked`: what a count is kept by (the name, errno or message, and where). */
function kindOf(err: unknown, message: string): string {
  const error = err as { name?: unknown; code?: unknown; message?: unknown } | null | undefined;
  const name = typeof error?.name === 'string' ? error.name : typeof err;
  // A code (errno) says the kind; a message alone may carry a path or an id, so it is cut short.
  const what =
    typeof error?.code === 'string'
      ? error.code
      : typeof error?.message === 'string'
        ? error.message.slice(0, 80)
        : String(err).slice(0, 80);
  return `${name}, ${what}: ${message}`;
}

/**
 * The log of the server's own faults answered 500 (`Unexpected error.`): a client retrying against
 * one (a resolver bug, open files exhausted) made one ERROR line with its stack per attempt. As the
 * failed writes' log (write-failure-log.ts): the first of each kind (its error's name and errno or
 * message, and where it was answered) at ERROR with its stack; the next ones of that kind are
 * counted and said in one ERROR line at most once a minute (on the first fault after the minute, or
 * at the minute's end by itself). A kind quiet for more than a minute is over: its next fault is said in full
 * again. At most FAULT_FULL_LINES_PER_MINUTE kinds are said in full a minute; the rest are counted.
 */
export function faultLog(options: { logger: Logger; now?: () => number; later?: Later }) {
  const now = options.now ?? Date.now;
  const later = options.later ?? unrefLater;
  /** The kinds said in full, and when each last failed (a kind quiet for a minute is forgotten). */
  const seen = new Map<string, number>();
  let window = { from: Number.NEGATIVE_INFINITY, full: 0, unsaid: new Map<string, number>() };
  let cancelSaying: (() => void) | null = null;

  const nextWindow = (log: Logger, at: number) => {
    cancelSaying?.();
    cancelSaying = null;
    if (window.unsaid.size > 0) {
      const counts = [...window.unsaid];
      const total = counts.reduce((sum, [, n]) => sum + n, 0);
      log.error(
        { failures: total, byKind: Object.fromEntries(counts) },
        `${total} more ${total === 1 ? 'request' : 'requests'} failed in ${lastPeriod(at - window.from)}, answered 500 Unexpected error. (${counts.map(([kind, n]) => `${kind}: ${n}`).join('; ')})`,
      );
    }
    // A kind quiet for more than a minute is over: its next fault is said in full again.
    for (const [kind, last] of seen) if (at - last > FAULT_SUMMARY_MS) seen.delete(kind);
    window = { from: at, full: 0, unsaid: new Map() };
  };

  return {
    /** One request answered 500 because of `err`; `log` is the request's (its request id), `fields` go on the full line. */
    failed(log: Logger, err: unknown, message: string, fields: Record<string, unknown> = {}): void {
      const at = now();
      if (at - window.from >= FAULT_SUMMARY_MS) nextWindow(log, at);
      let kind = kindOf(err, message);
      const known = seen.has(kind);
      if (!known && window.full < FAULT_FULL_LINES_PER_MINUTE && seen.size < MAX_KINDS) {
        seen.set(kind, at);
        window.full += 1;
        log.error({ ...fields, err }, message);
        return;
      }
      if (known) seen.set(kind, at);
      else if (seen.size >= MAX_KINDS && !window.unsaid.has(kind)) kind = 'other';
      window.unsaid.set(kind, (window.unsaid.get(kind) ?? 0) + 1);
      cancelSaying ??= later(
        () => {
          cancelSaying = null;
          nextWindow(options.logger, now());
        },
        Math.max(0, window.from + FAULT_SUMMARY_MS - at),
      );
    },
  };
}

export type FaultLog = ReturnType<typeof faultLog>;
