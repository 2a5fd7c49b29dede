import type { ConfigWriteError } from './config/errors.js';
import { type Later, type Logger, lastPeriod, unrefLater } from './log.js';

/** How often, at most, a spell of failed writes says how many more failed. */
export const WRITE_FAILURE_SUMMARY_MS = 60_000;

/** `fsync, ENOSPC`: how a failure is told apart in the counts. */
const kindOf = (error: Pick<ConfigWriteError, 'step' | 'errno'>) => [error.step, error.errno].filter(Boolean).join(', ');

export interface WriteFailureSpell {
  /** Failed writes in the spell answered so far (`failed`), the first included. */
  readonly failures: number;
  /** When its first failure was logged (ISO). */
  readonly since: string;
}

/** The latest failed write of the spell open now (/ready's warning says it). */
export interface LastWriteFailure {
  /** When it failed (ISO). */
  readonly at: string;
  readonly step: string;
  readonly errno: string | undefined;
}

/**
 * The log of failed config writes (a full or read-only disk), one spell at a time: a client that
 * retries in a loop made one multi-KB ERROR line (with a stack) per attempt, a flood while the disk
 * is full. The first failure of a spell is logged at ERROR with its stack, step and errno; the
 * next ones are counted and said in one line at most once a minute (on the first failure after the
 * minute, at the minute's end when no failure comes after it, or when the spell ends); `ended()` closes the spell when a write lands again (the control
 * plane then logs `config changes are written again`). The metric still counts every failure.
 */
export function writeFailureLog(options: {
  logger: Logger;
  now?: () => number;
  /** Default: unrefLater. */
  later?: Later;
}) {
  const now = options.now ?? Date.now;
  const later = options.later ?? unrefLater;
  /**
   * The one record of the spell open now: opened by the store's failed write (`noted`), logged and
   * counted where each is answered (`failed`), read by /ready (`last`), closed by `ended`.
   */
  let spell: {
    since: number;
    failures: number;
    windowFrom: number;
    unsaid: Map<string, number>;
    last: LastWriteFailure;
  } | null = null;
  const open = (step: string, errno: string | undefined) => {
    const at = now();
    const opened = {
      since: at,
      failures: 0,
      windowFrom: at,
      unsaid: new Map<string, number>(),
      last: { at: new Date(at).toISOString(), step, errno },
    };
    spell = opened;
    return opened;
  };
  /** The count said a minute after its window opened, when no failure comes later to say it (the clients gave up). */
  let cancelSaying: (() => void) | null = null;

  const sayUnsaid = (log: Logger) => {
    cancelSaying?.();
    cancelSaying = null;
    if (!spell || spell.unsaid.size === 0) return;
    const counts = [...spell.unsaid];
    const total = counts.reduce((sum, [, n]) => sum + n, 0);
    const kinds = counts.length === 1 ? counts[0]?.[0] : counts.map(([kind, n]) => `${kind}: ${n}`).join('; ');
    log.error(
      { failures: total, byStep: Object.fromEntries(counts), failingSince: new Date(spell.since).toISOString() },
      `${total} more config writes failed in ${lastPeriod(now() - spell.windowFrom)} (${kinds})`,
    );
    spell.unsaid.clear();
    spell.windowFrom = now();
  };

  return {
    /** A write failed (the store said so, before it is answered): opens the spell, or notes its latest failure. */
    noted(step: string, errno: string | undefined): void {
      if (spell) spell.last = { at: new Date(now()).toISOString(), step, errno };
      else open(step, errno);
    },
    /** One failed write, answered 503 CONFIG_WRITE_FAILED; `log` is the request's (its request id). */
    failed(log: Logger, error: ConfigWriteError, message: string): void {
      const current = spell ?? open(error.step, error.errno);
      if (current.failures === 0) {
        current.failures = 1;
        log.error({ err: error, step: error.step, errno: error.errno }, message);
        return;
      }
      current.failures += 1;
      const kind = kindOf(error);
      current.unsaid.set(kind, (current.unsaid.get(kind) ?? 0) + 1);
      if (now() - current.windowFrom >= WRITE_FAILURE_SUMMARY_MS) sayUnsaid(log);
      // Said by itself at the window's end too: the failures of clients that gave up meanwhile (the
      // disk still full) waited in silence until a write landed, however long that took.
      else
        cancelSaying ??= later(
          () => {
            cancelSaying = null;
            sayUnsaid(options.logger);
          },
          Math.max(0, current.windowFrom + WRITE_FAILURE_SUMMARY_MS - now()),
        );
    },
    /** The latest failure of the spell open now (null: writes land, or none failed yet). */
    last(): LastWriteFailure | null {
      return spell?.last ?? null;
    },
    /** A write landed: says what is still unsaid and closes the spell (null: there was none). */
    ended(): WriteFailureSpell | null {
      cancelSaying?.();
      cancelSaying = null;
      if (!spell) return null;
      sayUnsaid(options.logger);
      const ended = { failures: spell.failures, since: new Date(spell.since).toISOString() };
      spell = null;
      return ended;
    },
  };
}

export type WriteFailureLog = ReturnType<typeof writeFailureLog>;
