import { defineConfig } from 'vitest/config';

export default defineConfig({
  // graphql 16 ships ESM (.mjs) and CJS side by side; Node loads the CJS one for everybody, but Vite
  // would give our imports the .mjs one while Pothos gets the CJS: two realms. Use Node's choice.
  // Only the bare specifier: a subpath (graphql/language/printer.js) stays as it is.
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ when src/ changed: spawned CLIs run the built JavaScript.
    globalSetup: ['test/global-setup.ts'],
    // Heavy runs live in test/soak (`npm run soak`), slow fault scenarios in test/faults (`npm run test:faults`).
    exclude: ['**/node_modules/**', 'test/soak/**', 'test/faults/**'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // expect.poll waits for something that happens eventually (a page's next render, a thread's
    // start): 1 s, its default, is tight for a browser round trip on a loaded 2-core CI machine.
    // A poll is never a timing bound here; one that must bound a time says so with its own timeout.
    expect: { poll: { timeout: 5_000 } },
    // Spawned servers and runners are real processes; keep a shared 2-core machine from thrashing.
    maxWorkers: 2,
  },
});
