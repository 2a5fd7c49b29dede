import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The heavy runs (`npm run soak`): the same settings as `npm test`, but only test/soak/. Built
// by hand rather than with mergeConfig, which would concatenate include/exclude arrays and so
// keep the base's exclusion of the soak tests.
export default defineConfig({
  resolve: base.resolve,
  test: {
    ...base.test,
    projects: undefined,
    include: ['test/soak/**/*.soak.test.ts'],
    setupFiles: ['test/setup-workers.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 30 * 60_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
