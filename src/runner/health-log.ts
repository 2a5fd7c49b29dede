import type { Logger } from '../log.js';
import type { RunnerFleet } from './fleet.js';
import type { RunnerHealth } from './state.js';

interface Seen {
  health: RunnerHealth;
  /** When this process saw it enter `health` (its clock, ms). */
  since: number;
}

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
      seen.set(runner, { health, since: at });
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
