import type { Worker } from 'node:worker_threads';
import { DEFAULT_PARSE_DEADLINE_MS } from '../limit-defaults.js';
import { startWorkerThread } from '../worker-thread.js';
import type { YamlEdit, YamlParseResult } from './core.js';
import type { WorkerAnswer, WorkerRequest } from './worker.js';

/** Starting the worker is not the file's fault: it gets its own, longer, allowance. */
const START_DEADLINE_MS = 30_000;

/** The parse took longer than its deadline: the worker was stopped (and is started afresh for the next file). */
export class YamlDeadlineError extends Error {
  override name = 'YamlDeadlineError';
  constructor(readonly deadlineMs: number) {
    super(`could not be parsed within ${deadlineMs} ms`);
  }
}

/** YAML work off the event loop: a file however hostile never stalls requests. */
export interface YamlParser {
  parse(text: string, options?: { deadlineMs?: number }): Promise<YamlParseResult>;
  edit(text: string, edits: readonly YamlEdit[], options?: { deadlineMs?: number }): Promise<string>;
  /** Stops the worker (a later call starts a new one). */
  close(): Promise<void>;
  /** Whether a worker thread is up now (diagnostics, tests). */
  readonly running: boolean;
}

/**
 * An idle worker is stopped after this long: YAML work comes only with a hand edit, a token file
 * change or a start, and a worker thread holds about 9 MB resident (its own V8 isolate) for
 * nothing in between. The next file starts a fresh one (tens of ms, measured: see the README).
 */
const DEFAULT_IDLE_MS = 10_000;

/** The YAML thread: yaml-worker.js beside the bundle, or worker.ts from sources (src/worker-thread.ts). */
const startWorker = (): Worker => startWorkerThread('yaml-worker', new URL('./worker.ts', import.meta.url));

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

interface Running {
  worker: Worker;
  ready: Promise<void>;
  pending: Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>;
}

/**
 * A worker thread for YAML, started on first use and unref'd (it never keeps the process alive).
 * One request at a time, each with its deadline counted from when the worker takes it: past it the
 * worker is terminated, the request fails with YamlDeadlineError, and the next request starts a
 * fresh worker. A worker with nothing to do for `idleMs` is stopped too.
 */
export function yamlWorker(defaults: { deadlineMs?: number; idleMs?: number } = {}): YamlParser {
  let running: Running | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  let nextId = 1;
  /** Requests queued or in the worker: the idle timer runs only while there are none. */
  let busy = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  const idleMs = defaults.idleMs ?? DEFAULT_IDLE_MS;

  const stop = (run: Running, reason: Error) => {
    if (running === run) running = null;
    for (const { reject } of run.pending.values()) reject(reason);
    run.pending.clear();
    void run.worker.terminate().catch(() => {});
  };

  const ensure = (): Running => {
    if (running) return running;
    const worker = startWorker();
    worker.unref();
    const run: Running = { worker, ready: Promise.resolve(), pending: new Map() };
    run.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = new Error('the YAML parse worker did not start');
        reject(err);
        stop(run, err);
      }, START_DEADLINE_MS);
      timer.unref();
      worker.on('message', (answer: WorkerAnswer) => {
        if ('ready' in answer) {
          clearTimeout(timer);
          resolve();
          return;
        }
        const waiter = run.pending.get(answer.id);
        if (!waiter) return;
        run.pending.delete(answer.id);
        if (answer.ok) waiter.resolve(answer.value);
        else waiter.reject(new Error(answer.message));
      });
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(err);
        stop(run, err);
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`the YAML parse worker exited (${code})`)));
    });
    run.ready.catch(() => {});
    running = run;
    return run;
  };

  const call = <T>(request: WithoutId<WorkerRequest>, deadlineMs: number): Promise<T> => {
    const task = async (): Promise<T> => {
      const run = ensure();
      await run.ready;
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => stop(run, new YamlDeadlineError(deadlineMs)), deadlineMs);
        run.pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        });
        run.worker.postMessage({ ...request, id } as WorkerRequest);
      });
    };
    clearTimeout(idleTimer);
    busy += 1;
    const result = queue.then(task, task);
    queue = result.catch(() => {});
    void queue.then(() => {
      busy -= 1;
      if (busy > 0) return;
      idleTimer = setTimeout(() => {
        if (busy === 0 && running) stop(running, new Error('the YAML parse worker was stopped while idle'));
      }, idleMs);
      idleTimer.unref();
    });
    return result;
  };

  return {
    parse: (text, options) =>
      call<YamlParseResult>({ op: 'parse', text }, options?.deadlineMs ?? defaults.deadlineMs ?? DEFAULT_PARSE_DEADLINE_MS),
    edit: (text, edits, options) =>
      call<string>({ op: 'edit', text, edits: [...edits] }, options?.deadlineMs ?? defaults.deadlineMs ?? DEFAULT_PARSE_DEADLINE_MS),
    async close() {
      clearTimeout(idleTimer);
      const run = running;
      if (run) stop(run, new Error('the YAML parse worker was closed'));
    },
    get running() {
      return running !== null;
    },
  };
}

let shared: YamlParser | undefined;

/** The process's one YAML worker (config, presets and tokens share it; it costs nothing until used). */
export function sharedYamlParser(): YamlParser {
  shared ??= yamlWorker();
  return shared;
}
