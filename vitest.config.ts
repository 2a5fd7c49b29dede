import { defineConfig } from 'vitest/config';

/**
 * Files that need a process of their own: three replace a module (vi.mock: in the shared worker the module is already loaded unmocked); the YAML worker's test
 * parses a file nested 100,000 deep, whose words depend on how deep the stack goes, and in a worker
 * that ran other files first (more code optimized, other frames) it got 38 problems where one is
 * said (a clean-clone CI of c93ca98).
 */
const ISOLATED_FILES = [
  'test/unit/lock-full-disk.test.ts',
  'test/unit/token-write-failure.test.ts',
  'test/unit/written-check.test.ts',
  'test/unit/yaml-worker.test.ts',
];

export default defineConfig({
  // graphql 16 ships ESM (.mjs) and CJS side by side; Node loads the CJS one for everybody, but Vite
  // would give our imports the .mjs one while Pothos gets the CJS: two realms. Use Node's choice.
  // Only the bare specifier: a subpath (graphql/language/printer.js) stays as it is.
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    // Builds dist/ when src/ changed: spawned CLIs run the built JavaScript.
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // expect.poll waits for something that happens eventually (a page's next render, a thread's
    // start): 1 s, its default, is tight for a browser round trip on a loaded 2-core CI machine.
    // A poll is never a timing bound here; one that must bound a time says so with its own timeout.
    expect: { poll: { timeout: 5_000 } },
    // Spawned servers and runners are real processes; keep a shared 2-core machine from thrashing.
    maxWorkers: 2,
    // Heavy runs live in test/soak (`npm run soak`), slow fault scenarios in test/faults (`npm run
    // test:faults`): neither project includes them. (Each project names its files whole: with
    // `extends`, include and exclude lists would be concatenated with these.)
    projects: [
      {
        extends: true,
        test: {
          name: 'shared',
          include: ['test/*.test.ts', 'test/unit/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/etcd/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...ISOLATED_FILES],
          // These files share a worker's modules: a fork per file, each evaluating src/ and its
          // dependencies afresh, was 'import 222 s' of the 903 s a clean-clone CI's tests took on a
          // 2-core host. Here: the unit files 93 s against 50 s of wall time (143 s against 66 s of
          // CPU); the e2e, etcd and top-level files 348 s against 458 s (542 s against 747 s of CPU). Each file still gets
          // fresh servers, runtime dirs and etcd members: the helpers' cleanups run after each of
          // its tests and after it (test/helpers/cleanup.ts, test/setup-shared.ts).
          isolate: false,
          setupFiles: ['test/setup-workers.ts', 'test/setup-shared.ts'],
        },
      },
      {
        extends: true,
        // The browser files (their time is the browser's, not imports), and files that replace a module: a fork each.
        test: {
          name: 'isolated',
          include: ['test/browser/**/*.test.ts', ...ISOLATED_FILES],
          exclude: ['**/node_modules/**'],
          setupFiles: ['test/setup-workers.ts'],
        },
      },
    ],
  },
});
