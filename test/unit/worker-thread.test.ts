import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { runWorkersFromBuild, startWorkerThread } from '../../src/worker-thread.js';
import { yamlWorker } from '../../src/yaml/off-thread.js';

/** The first message a worker posts, or its error: whichever comes first. */
const firstWord = (worker: Worker) =>
  new Promise<unknown>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  }).finally(() => worker.terminate());

// The tests run the workers from dist/ (test/setup-workers.ts); each case here sets its own and puts that back.
const BUILD = new URL('../../dist/', import.meta.url);
afterEach(() => runWorkersFromBuild(BUILD));

describe('worker threads run from TypeScript sources (src/worker-thread.ts)', () => {
  it('with a build directory set: `<dir>/<name>.js` runs, with the options given', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'scp-worker-thread-'));
    try {
      await writeFile(
        path.join(dir, 'yaml-worker.js'),
        "import { parentPort, workerData } from 'node:worker_threads'; parentPort.postMessage({ from: 'the build dir', workerData });\n",
      );
      runWorkersFromBuild(pathToFileURL(`${dir}/`));
      const worker = startWorkerThread('yaml-worker', new URL('../../src/yaml/worker.ts', import.meta.url), { workerData: 7 });
      expect(await firstWord(worker)).toEqual({ from: 'the build dir', workerData: 7 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['without one: the source, through tsx (as before the build dir)', null],
    ['with dist/ (the tests): the built worker', BUILD],
  ] as const)('the YAML thread parses %s', async (_, dir) => {
    runWorkersFromBuild(dir);
    const parser = yamlWorker({ deadlineMs: 30_000 });
    try {
      const parsed = await parser.parse('a: 1\nb: [x, y]\n');
      expect(parsed).toMatchObject({ ok: true, data: { a: 1, b: ['x', 'y'] } });
      expect(parser.running).toBe(true);
    } finally {
      await parser.close();
    }
  });
});
