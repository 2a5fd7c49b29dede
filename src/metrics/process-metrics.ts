import { collectDefaultMetrics, Registry } from 'prom-client';

let shared: Registry | undefined;

/**
 * prom-client's process metrics (CPU, memory, event-loop lag, GC), collected once per process: they
 * describe the process, not a server, and their event-loop monitor runs until the process exits, so
 * a process that starts many servers (the tests) still starts one.
 */
export function processRegistry(): Registry {
  if (!shared) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared });
  }
  return shared;
}
