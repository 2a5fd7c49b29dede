import type { Logger } from '../log.js';
import type { RunnerFleet } from './fleet.js';
import type { RunnerHealth } from './state.js';

interface Seen {
  health: RunnerHealth;
  /** When this process saw it enter `health` (its clock, ms). */
  since: number;
  /** The spell before this one: taken up again when this one was a blip (BLIP_MS). */
  before?: { health: RunnerHealth; since: number };
}

/**
 * A spell shorter than this that ends in the health it interrupted is a blip: that health's spell
 * goes on from when this process first saw it. A runner process frozen 13 s woke up to its own
 * heartbeat 13 s old (STALE) and published at once (RUNNING again, "STALE for 0 s"); taken over
 * meanwhile, it stopped 11 ms later, and its log said "runner r1 stopped (RUNNING for 0 s)" after
 * 37 s of running.
 */
const BLIP_MS = 1000;

/**
 * Says in the process log when a runner's health changes, once per change: going STALE (WARN) or
 * into ERROR (ERROR), and back to RUNNING (INFO, with how long the spell lasted), stopping, leaving
 * the list. Before, /ready, status and the metrics said a runner was STALE while it lasted, and the
 * log said nothing: at 3 a.m. nobody could tell from it when a runner stopped heartbeating, or
 * whether it had come back. Heartbeats and scans that change no health say nothing.
 */
export function logRunnerHealth(
  fleet: Pick<RunnerFleet, 'views' | 'subscribe'>,
  logger: Pick<Logger, 'info' | 'warn' | 'error'>,
  now: () => number = Date.now,
): () => void {
  const seen = new Map<string, Seen>();
  const check = () => {
    const at = now();
    const listed = new Set<string>();
    for (const { state, health } of fleet.views()) {
      if (!state) continue;
      const runner = state.id;
      listed.add(runner);
      const before = seen.get(runner);
      if (before?.health === health) continue;
      const resumed = before?.before?.health === health && at - before.since < BLIP_MS;
      seen.set(runner, {
        health,
        since: resumed && before?.before ? before.before.since : at,
        ...(before && { before: { health: before.health, since: before.since } }),
      });
      const fields = { runner, state: health, ...(before && { previous: before.health }) };
      const lasted = before ? ` (${before.health} for ${Math.round((at - before.since) / 1000)} s)` : '';
      if (health === 'STALE')
        logger.warn(
          { ...fields, heartbeatAt: state.heartbeatAt },
          `runner ${runner} is STALE: no heartbeat since ${state.heartbeatAt}; its markets are not scanned, or its state cannot reach this process`,
        );
      else if (health === 'ERROR') logger.error({ ...fields, error: state.error }, `runner ${runner} reports an error: ${state.error}`);
      else if (health === 'STOPPED') logger.info(fields, `runner ${runner} stopped${lasted}`);
      else if (before) logger.info(fields, `runner ${runner} is RUNNING again${lasted}`);
      else logger.info(fields, `runner ${runner} is RUNNING`);
    }
    for (const [runner, last] of seen) {
      if (listed.has(runner)) continue;
      seen.delete(runner);
      logger.info({ runner, previous: last.health }, `runner ${runner} is no longer listed (it was ${last.health})`);
    }
  };
  check();
  return fleet.subscribe(check);
}
