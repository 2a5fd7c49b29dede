const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** A subscription's result stream that the server can end from outside, optionally with one last payload. */
export interface Interruptible<T> extends AsyncIterableIterator<T> {
  /** Ends the stream: a pending `next()` gets `last` (if given) at once, then the stream completes. */
  interrupt(last?: T): void;
}

/**
 * Wraps a stream so it can be ended from outside (a revoked token, a limit) the way a stream ends in
 * GraphQL (SSE's `complete`), even while its source waits for an event that may never come.
 * `onEnd` runs once, however it ends (completed, returned by the client, interrupted, failed).
 */
export function interruptible<T>(source: AsyncIterable<T>, onEnd: () => void = () => {}): Interruptible<T> {
  const inner = source[Symbol.asyncIterator]();
  let ended = false;
  let last: { value: T } | null = null;
  let settlePending: ((step: IteratorResult<T>) => void) | null = null;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  const iterator: Interruptible<T> = {
    next() {
      if (ended) {
        if (last) {
          const { value } = last;
          last = null;
          return Promise.resolve({ done: false, value });
        }
        return Promise.resolve(DONE);
      }
      return new Promise<IteratorResult<T>>((resolve, reject) => {
        settlePending = resolve;
        inner.next().then(
          (step) => {
            if (settlePending !== resolve) return; // interrupted meanwhile: already answered
            settlePending = null;
            if (step.done) end();
            resolve(step);
          },
          (err: unknown) => {
            if (settlePending !== resolve) return;
            settlePending = null;
            end();
            reject(err);
          },
        );
      });
    },
    interrupt(value?: T) {
      if (ended) return;
      end();
      const pending = settlePending;
      settlePending = null;
      if (pending) pending(value === undefined ? DONE : { done: false, value });
      else if (value !== undefined) last = { value };
      void Promise.resolve(inner.return?.()).catch(() => {});
    },
    async return() {
      last = null;
      const pending = settlePending;
      settlePending = null;
      pending?.(DONE);
      end();
      await inner.return?.();
      return DONE;
    },
    async throw(error?: unknown) {
      end();
      if (inner.throw) return inner.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
