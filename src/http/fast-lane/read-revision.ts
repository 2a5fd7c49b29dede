import type { ControlPlaneServices } from '../../control-plane.js';

export interface ReadRevision {
  /** A number that changes whenever anything a cacheable read answers from changes (see `readRevision`). */
  current(): number;
  close(): void;
}

/**
 * A revision of "everything a cached read answered from": the store's state in force (each value
 * by identity: config, strategies, and whatever else a store puts there, presets included), its
 * problem and connectivity (`status.configError`, `status.store`), every store event (any kind: a
 * file that went invalid, presets kept out ...), and each runner's published state (by identity)
 * with its health now (RUNNING turns STALE by the clock alone). Stores and runners replace these
 * objects on every change, so an unchanged revision means an unchanged answer. Each call compares
 * what it reads with what the previous call saw and moves the revision on at any difference.
 */
export function readRevision(services: Pick<ControlPlaneServices, 'store' | 'runners'>): ReadRevision {
  let revision = 0;
  // What the previous call read, compared in place (no array per call).
  const seen: unknown[] = [];
  let length = 0;
  let changed = false;
  const see = (value: unknown) => {
    if (seen[length] !== value) {
      seen[length] = value;
      changed = true;
    }
    length += 1;
  };
  const seeRunner = (state: unknown, health: unknown) => {
    see(state);
    see(health);
  };
  const off = services.store.subscribe(() => {
    revision += 1;
  });
  return {
    current() {
      const { store, runners } = services;
      length = 0;
      changed = false;
      const state = store.state() as unknown as Record<string, unknown>;
      for (const key in state) see(state[key]);
      const info = store.info();
      see(store.problem());
      see(info.connected);
      see(info.lastContactAt);
      runners.forEach(seeRunner);
      if (seen.length !== length) {
        seen.length = length;
        changed = true;
      }
      if (changed) revision += 1;
      return revision;
    },
    close: off,
  };
}
