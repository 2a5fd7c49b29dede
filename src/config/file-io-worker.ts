// The file store's I/O thread (file-io.ts): reads and group writes on its own event loop, with the
// same functions the store uses in process.
import { parentPort } from 'node:worker_threads';
import { nodeFileSystem } from '../fs/file-system.js';
import { readRuntimeFile } from '../fs/runtime-file.js';
import { ConfigWriteError } from './errors.js';
import { type IoReply, type IoRequest, type SentError, writeGroup } from './file-io.js';

const sent = (err: unknown): SentError => {
  const e = err as Partial<ConfigWriteError> & { code?: unknown; name?: string; message?: string };
  return {
    name: err instanceof ConfigWriteError ? 'ConfigWriteError' : (e.name ?? 'Error'),
    message: e.message ?? String(err),
    ...(err instanceof ConfigWriteError && { step: err.step, errno: err.errno }),
    ...(typeof e.code === 'string' && { code: e.code }),
  };
};

parentPort?.on('message', (request: IoRequest) => {
  const work =
    request.op === 'read'
      ? Promise.all(request.files.map((file) => readRuntimeFile(nodeFileSystem, file)))
      : writeGroup(nodeFileSystem, request.plan);
  work.then(
    (value) => parentPort?.postMessage({ id: request.id, value } satisfies IoReply),
    (err: unknown) => parentPort?.postMessage({ id: request.id, error: sent(err) } satisfies IoReply),
  );
});
