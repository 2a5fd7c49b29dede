// Set up for each test file (vitest.config.ts, both projects; the fault scenarios too): the servers
// the tests start in-process run their worker threads (the file store's I/O thread, the YAML thread)
// from dist/, which test/global-setup.ts has just rebuilt if any source was newer, as production
// does, instead of through tsx (src/worker-thread.ts says what that cost).
import { runWorkersFromBuild } from '../src/worker-thread.js';

runWorkersFromBuild(new URL('../dist/', import.meta.url));
