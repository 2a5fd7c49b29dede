import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { heapFlagsAfterWorkerStart } from './heap-tuning.js';

/** Run from TypeScript sources (the tests), not from the bundle in dist/. */
const fromSources = import.meta.url.endsWith('.ts');

/** Set by the tests' setup: the built workers to run from sources (runWorkersFromBuild). */
let builtDir: URL | null = null;

/**
 * From sources, run each worker thread from its built file in `dir` (dist/, which the tests' global
 * setup rebuilds whenever a source is newer) instead of its source through tsx: tsx's loader costs
 * each thread ~300 ms of CPU to start (its hooks thread, a transform per module), and the tests start
 * two threads for every server they start (CPU of a set of e2e files: 52 s -> 31 s). The threads then
 * run what production runs. null: back to the sources.
 */
export function runWorkersFromBuild(dir: URL | null): void {
  builtDir = dir;
}

/**
 * Starts the worker thread whose entry is `name` (scripts/build-dist.ts: `<name>.js`, beside the
 * bundle's chunks, so beside this module's own code once built) and whose source is `source`. From
 * sources, without runWorkersFromBuild: the source, with tsx registered in the thread first.
 */
export function startWorkerThread(name: 'file-io-worker' | 'yaml-worker', source: URL, options: WorkerOptions = {}): Worker {
  const worker = newWorker(name, source, options);
  // Its construction put V8's heap growth factor back to its default (src/heap-tuning.ts).
  heapFlagsAfterWorkerStart(worker);
  return worker;
}

function newWorker(name: 'file-io-worker' | 'yaml-worker', source: URL, options: WorkerOptions): Worker {
  if (!fromSources) return new Worker(new URL(`./${name}.js`, import.meta.url), options);
  if (builtDir) return new Worker(new URL(`${name}.js`, builtDir), options);
  // tsx's ESM entry (its `import` export): require.resolve gives the CommonJS twin beside it.
  const tsx = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  return new Worker(
    `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(source.href)}); })`,
    {
      ...options,
      eval: true,
    },
  );
}
