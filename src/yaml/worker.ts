import { parentPort } from 'node:worker_threads';
import { editYamlText, parseYaml, type YamlEdit } from './core.js';

/** The parse worker's side (see off-thread.ts): one request at a time, answered by id. */
export type WorkerRequest = { id: number; op: 'parse'; text: string } | { id: number; op: 'edit'; text: string; edits: YamlEdit[] };
export type WorkerAnswer = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string } | { ready: true };

const port = parentPort;
if (port) {
  port.on('message', (request: WorkerRequest) => {
    try {
      const value = request.op === 'parse' ? parseYaml(request.text) : editYamlText(request.text, request.edits);
      port.postMessage({ id: request.id, ok: true, value } satisfies WorkerAnswer);
    } catch (err) {
      port.postMessage({ id: request.id, ok: false, message: (err as Error).message } satisfies WorkerAnswer);
    }
  });
  port.postMessage({ ready: true } satisfies WorkerAnswer);
}
