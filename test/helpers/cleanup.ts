import { afterAll, afterEach } from 'vitest';

type Cleanup = () => unknown;

interface Cleanups {
  readonly test: Cleanup[];
  readonly file: Cleanup[];
  /** Set by test/setup-shared.ts: its hooks run every cleanup, for every file; helpers register none. */
  sharedSetup: boolean;
}

const KEY = Symbol.for('strategy-control-plane.test.cleanups');

/** The helpers' cleanups, registered once per process (a helper module is evaluated once per worker when files share it). */
export function cleanups(): Cleanups {
  const holder = globalThis as { [KEY]?: Cleanups };
  holder[KEY] ??= { test: [], file: [], sharedSetup: false };
  return holder[KEY];
}

/**
 * After each test of the file importing the helper. Where files share a worker's modules (the
 * `shared` project, `isolate: false`) the helper is evaluated once, for the first file, so
 * test/setup-shared.ts runs these after each test of every file; elsewhere (a fork per file) the
 * helper's own hook does.
 */
export function afterEachTest(cleanup: Cleanup): void {
  const all = cleanups();
  all.test.push(cleanup);
  if (!all.sharedSetup) {
    afterEach(async () => {
      await cleanup();
    });
  }
}

/** After the importing file's tests, and after every later file's where modules are shared (afterEachTest). */
export function afterEachFile(cleanup: Cleanup): void {
  const all = cleanups();
  all.file.push(cleanup);
  if (!all.sharedSetup) {
    afterAll(async () => {
      await cleanup();
    });
  }
}

/** Runs cleanups the last registered first, one after another, as vitest runs a file's after-hooks. */
export async function runCleanups(list: readonly Cleanup[]): Promise<void> {
  for (const cleanup of [...list].reverse()) await cleanup();
}
