import { afterAll, afterEach } from 'vitest';

type Cleanup = () => unknown;

interface Cleanups {
  readonly test: Cleanup[];
  readonly file: Cleanup[];
}

const KEY = Symbol.for('strategy-control-plane.test.cleanups');

/** The helpers' cleanups, registered once per process (a helper module is evaluated once per worker when files share it). */
export function cleanups(): Cleanups {
  const holder = globalThis as { [KEY]?: Cleanups };
  holder[KEY] ??= { test: [], file: [] };
  return holder[KEY];
}

/**
 * After each test of the file importing the helper, and of every later file of a worker that shares
 * its modules (the `shared` project, `isolate: false`: the helper is evaluated once, for the first
 * file, and test/setup-shared.ts runs these for the others). Each must be safe to run twice.
 */
export function afterEachTest(cleanup: Cleanup): void {
  cleanups().test.push(cleanup);
  afterEach(async () => {
    await cleanup();
  });
}

/** After the importing file's tests, and after every later file's where modules are shared (afterEachTest). */
export function afterEachFile(cleanup: Cleanup): void {
  cleanups().file.push(cleanup);
  afterAll(async () => {
    await cleanup();
  });
}

/** Runs cleanups the last registered first, one after another, as vitest runs a file's after-hooks. */
export async function runCleanups(list: readonly Cleanup[]): Promise<void> {
  for (const cleanup of [...list].reverse()) await cleanup();
}
