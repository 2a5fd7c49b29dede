import type { DocumentRefusalReason } from '../graphql/plugins/refusal.js';
import type { Logger } from '../log.js';
import type { ConnectionClosure } from './connections.js';
import { infoAllowance } from './log.js';
import type { RefusalReason } from './refusal.js';

/** Every reason a limit refused or ended something: the chain's refusals, GraphQL's per-request limits, connections, slow readers. */
export type LimitReason = RefusalReason | DocumentRefusalReason | ConnectionClosure | 'slow-reader';

/**
 * Counts what the limits refused, by reason, since the server started: for the metrics
 * (`control_plane_refusals_total{reason}`: branch ops registers `counts()` as a counter), and logs
 * each at INFO up to `infoPerSecond` a second, the rest at DEBUG, so a flood cannot flood the log.
 */
export function limitCounter(options: { logger: Logger; infoPerSecond?: number; now?: () => number }) {
  const counts = new Map<LimitReason, number>();
  const mayLogInfo = infoAllowance(options.infoPerSecond ?? 20, options.now ?? Date.now);
  return {
    /** Counts one; logs it (bounded) when `message` is given (the chain's refusals log themselves). */
    add(reason: LimitReason, message?: string, fields: Record<string, unknown> = {}, log: Logger = options.logger): void {
      counts.set(reason, (counts.get(reason) ?? 0) + 1);
      if (message === undefined) return;
      if (mayLogInfo()) log.info({ reason, ...fields }, message);
      else log.debug({ reason, ...fields }, message);
    },
    /** Refusals by reason so far. */
    counts(): Readonly<Record<string, number>> {
      return Object.fromEntries(counts);
    },
  };
}

export type LimitCounter = ReturnType<typeof limitCounter>;
