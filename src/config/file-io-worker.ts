// The file store's I/O thread (file-io.ts): reads and group writes on its own event loop, with the
// same functions the store uses in process, with synchronous file-system calls (this thread has
// nothing else to do; see syncNodeFileSystem).
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { syncNodeFileSystem } from '../fs/file-system.js';
import { collectWhenIdle } from '../heap-tuning.js';
import { ConfigWriteError } from './errors.js';
import { FileChangedError, type IoReply, type IoRequest, readStoreFiles, type SentError, sentRead, writeGroup } from './file-io.js';
import { WrittenTextMismatchError } from './read-back.js';

const sent = (err: unknown): SentError => {
  const e = err as Partial<ConfigWriteError> & { code?: unknown; name?: string; message?: string };
  return {
    name: err instanceof ConfigWriteError ? 'ConfigWriteError' : (e.name ?? 'Error'),
    message: e.message ?? String(err),
    ...(err instanceof ConfigWriteError && { step: err.step, errno: err.errno }),
    ...(err instanceof ConfigWriteError && err.cause instanceof WrittenTextMismatchError && { mismatch: err.cause.message }),
    ...(typeof e.code === 'string' && { code: e.code }),
    ...(err instanceof FileChangedError && { file: err.file }),
  };
};

// This thread's heap, grown under a burst of writes, is given back once the burst is over.
collectWhenIdle();

// Replies go on the port the store gave (it can take them between two requests of a long turn:
// turn-polls.ts); requests come on the thread's own port.
const replies = (workerData as { replies: MessagePort }).replies;
parentPort?.on('message', (request: IoRequest) => {
  const work =
    request.op === 'read'
      ? readStoreFiles(syncNodeFileSystem, request.files, request.checks).then((reads) => reads.map(sentRead))
      : writeGroup(syncNodeFileSystem, request.plan);
  work.then(
    (value) => replies.postMessage({ id: request.id, value } satisfies IoReply),
    (err: unknown) => replies.postMessage({ id: request.id, error: sent(err) } satisfies IoReply),
  );
});
replies.postMessage({ listening: true } satisfies IoReply);
