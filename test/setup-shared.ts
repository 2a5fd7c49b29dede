// Set up for each test file of the `shared` project (vitest.config.ts), whose files share a worker's
// modules (`isolate: false`): a helper is evaluated once per worker, so the after-hooks it registers
// at its top level would run for the first file only. Its cleanups run here for every file.
import { afterAll, afterEach } from 'vitest';
import { cleanups, runCleanups } from './helpers/cleanup.js';

afterEach(() => runCleanups(cleanups().test));
afterAll(() => runCleanups(cleanups().file));
