// Set up for each test file of the `shared` project (vitest.config.ts), whose files share a worker's
// modules (`isolate: false`): a helper is evaluated once per worker, so after-hooks it registered at
// its top level would run for the first file only. Its cleanups run here instead, for every file
// (run before the file's own imports: the helpers then register no hooks of their own).
import { afterAll, afterEach } from 'vitest';
import { cleanups, runCleanups } from './helpers/cleanup.js';

cleanups().sharedSetup = true;
afterEach(() => runCleanups(cleanups().test));
afterAll(() => runCleanups(cleanups().file));
