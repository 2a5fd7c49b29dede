import type { DocumentRefusalReason } from '../graphql/plugins/refusal.js';
import type { Later, Logger } from '../log.js';
import type { ConnectionClosure } from './connections.js';
import { type RefusalLog, refusalLogBudget } from './log.js';
import type { ParserRefusal } from './parser-refusal.js';
import type { RefusalReason } from './refusal.js';

/** Every reason a limit refused or ended something: the chain's refusals, Node's parser's, GraphQL's per-request limits, connections, slow readers. */
export type LimitReason = RefusalReason | ParserRefusal | DocumentRefusalReason | ConnectionClosure | 'slow-reader';

/**
 * Counts what the limits refused, by reason, since the server started (exact: for tests; the
 * metric counts apart, by reason and status), and logs each within one budget a minute for every
 * refusal of the server (`log`, which the chain's refusals() shares): INFO up to `linesPerMinute`,
 * the rest at DEBUG, then one line saying how many were left out, by reason.
 */
export function limitCounter(options: { logger: Logger; linesPerMinute?: number; now?: () => number; later?: Later }) {
  const counts = new Map<LimitReason, number>();
  const log: RefusalLog = refusalLogBudget({ perMinute: options.linesPerMinute, now: options.now, later: options.later });
  return {
    /** The budgeted refusal log (refusals() logs the chain's through it). */
    log,
    /** Counts one; logs it (bounded) when `message` is given (the chain's refusals log themselves). */
    add(reason: LimitReason, message?: string, fields: Record<string, unknown> = {}, logger: Logger = options.logger): void {
      counts.set(reason, (counts.get(reason) ?? 0) + 1);
      if (message === undefined) return;
      log(logger, { reason, ...fields }, message);
    },
    /** Refusals by reason so far. */
    counts(): Readonly<Record<string, number>> {
      return Object.fromEntries(counts);
    },
  };
}

export type LimitCounter = ReturnType<typeof limitCounter>;
