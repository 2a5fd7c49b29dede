import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVE_NODE_FLAGS } from '../../src/code-cache.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { LISTENING, ROOT, spawnProcess, TEST_TOKEN } from '../helpers/server.js';
import { cliEnv } from '../helpers/stratctl.js';

/**
 * `serve` runs dist/serve.cjs (V8's code cache) after dist/cli.js has tuned the heap and started
 * the load ticker: two bundles, each with its own copy of src/heap-tuning.ts. The file store's I/O
 * thread follows the load through the serve bundle's copy, and is let go once a burst is over.
 * A preload (NODE_OPTIONS) reports each worker thread's start and exit on stderr.
 */
const WORKERS = `const wt = require('node:worker_threads');
const Worker = wt.Worker;
wt.Worker = class extends Worker {
  constructor(file, options) {
    super(file, options);
    const name = require('node:path').basename(String(file));
    process.stderr.write('worker started: ' + name + '\\n');
    this.on('exit', () => process.stderr.write('worker exited: ' + name + '\\n'));
  }
};
require('node:module').syncBuiltinESMExports();
`;

let work: string;
let preload: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(ROOT, '.serve-bundle-load-test-'));
  preload = path.join(work, 'workers.cjs');
  await writeFile(preload, WORKERS);
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('serve from the code cache follows its load', () => {
  it("lets the file store's I/O thread go once a burst of requests is over, as a start without the cache does", async () => {
    const runtimeDir = await tempRuntimeDir();
    const server = spawnProcess(
      process.execPath,
      [...SERVE_NODE_FLAGS, path.join(ROOT, 'dist', 'cli.js'), 'serve', '--port', '0', '--runtime-dir', runtimeDir, '--log-format', 'json'],
      { env: cliEnv({ NODE_OPTIONS: `--require ${preload}`, CONTROL_PLANE_TOKEN: TEST_TOKEN }) },
    );
    try {
      const [, url] = await server.waitFor(LISTENING);
      // The production start: from the code cache (the bundle whose copy of the tuning was cut off).
      await server.waitFor(/"codeCache":"used"/);
      // An activation: the I/O thread is there (it runs the write).
      const activate = await fetch(url as string, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` },
        body: JSON.stringify({ query: 'mutation { activateStrategy(strategyKey: "gold") { configVersion } }' }),
      });
      expect(await activate.json()).toEqual({ data: { activateStrategy: { configVersion: 2 } } });
      expect(server.stderr()).toMatch(/worker started: file-io-worker\.js/);
      expect(server.stderr()).not.toMatch(/worker exited: file-io-worker\.js/);
      // A burst: two seconds of reads, eight at a time, each a document the server has not seen (parsed,
      // validated and run: a busy second for the ticker even on a loaded machine, where cached reads
      // sent from one test process kept the server under 5% busy).
      const until = Date.now() + 2_000;
      let answered = 0;
      await Promise.all(
        Array.from({ length: 8 }, async (_, loop) => {
          while (Date.now() < until) {
            const res = await fetch(url as string, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ query: `{ r${loop}_${answered}: status { configVersion } strategies { key name } }` }),
            });
            expect(res.status).toBe(200);
            await res.arrayBuffer();
            answered += 1;
          }
        }),
      );
      expect(answered).toBeGreaterThan(50);
      // Six quiet seconds after the burst, the thread is let go (cut off, it stayed for good).
      await expect.poll(() => /worker exited: file-io-worker\.js/.test(server.stderr()), { timeout: 30_000, interval: 200 }).toBe(true);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
      await server.closed;
    }
  }, 60_000);
});
