import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The slow fault scenarios (`npm run test:faults`, which .ci/run runs after `npm test`): members of a
// real etcd cluster stopped and started under running servers and runners. The same settings as
// `npm test`, only test/faults/, one file at a time (they start many processes).
export default defineConfig({
  resolve: base.resolve,
  test: {
    ...base.test,
    projects: undefined,
    include: ['test/faults/**/*.faults.test.ts'],
    setupFiles: ['test/setup-workers.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
