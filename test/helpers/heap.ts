import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * The heap in use after two forced full collections: what is still reachable, not garbage waiting
 * (for tests that something is not kept). Exposes `gc` in this process the first time.
 */
export function heapAfterGc(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Two forced full collections in this process (`gc` exposed the first time). */
export function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}
