import { isAsyncIterable, type Plugin } from 'graphql-yoga';

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * Ends every open subscription on request (server shutdown): each completes the way a stream
 * completes in GraphQL (SSE's `complete` event), so clients see an orderly end, not a reset. A
 * pending `next()` is answered at once, even when the source (an async generator) would make
 * `return()` wait for its next event.
 */
export function endableSubscriptions(): { plugin: Plugin; endAll(): void; openCount(): number } {
  const open = new Set<() => void>();
  let ended = false;

  const endable = <T>(source: AsyncIterable<T>): AsyncIterableIterator<T> => {
    const inner = source[Symbol.asyncIterator]();
    let settlePending: ((step: IteratorResult<T>) => void) | null = null;
    let done = false;
    const stop = () => {
      done = true;
      open.delete(stop);
      settlePending?.(DONE);
      settlePending = null;
      void Promise.resolve(inner.return?.()).catch(() => {});
    };
    open.add(stop);
    const iterator: AsyncIterableIterator<T> = {
      next() {
        if (done || ended) {
          if (!done) stop();
          return Promise.resolve(DONE);
        }
        return new Promise<IteratorResult<T>>((resolve, reject) => {
          settlePending = resolve;
          inner.next().then(
            (step) => {
              settlePending = null;
              if (step.done) open.delete(stop);
              resolve(step);
            },
            (err: unknown) => {
              settlePending = null;
              open.delete(stop);
              reject(err);
            },
          );
        });
      },
      async return() {
        done = true;
        open.delete(stop);
        await inner.return?.();
        return DONE;
      },
      async throw(error?: unknown) {
        open.delete(stop);
        if (inner.throw) return inner.throw(error);
        throw error;
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  };

  return {
    /** Subscriptions open now (a client gone, or a stream ended, is no longer one). */
    openCount: () => open.size,
    endAll() {
      ended = true;
      for (const stop of [...open]) stop();
    },
    plugin: {
      onSubscribe() {
        return {
          onSubscribeResult({ result, setResult }) {
            if (isAsyncIterable(result)) setResult(endable(result));
          },
        };
      },
    },
  };
}
