import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

/** `source` without an event that reads exactly as the one before it; `return` reaches the source at once. */
export function withoutRepeats<T>(source: AsyncIterable<T>): AsyncIterableIterator<T> {
  const inner = source[Symbol.asyncIterator]();
  let last: string | undefined;
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      for (;;) {
        const step = await inner.next();
        if (step.done) return step;
        const text = JSON.stringify(step.value);
        if (text !== last) {
          last = text;
          return step;
        }
      }
    },
    // Not an async generator: its return() would wait for the source's next event before ending it.
    return: (value?: unknown) => inner.return?.(value) ?? Promise.resolve({ done: true, value: undefined }),
    throw: (error?: unknown) => inner.throw?.(error) ?? Promise.reject(error),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/**
 * A subscription never sends the same event twice in a row. The topics are hints to read again
 * (`statusChanged` reads the status when it delivers), and one change raises several: the config
 * written, the runner applying it, its next scan. A client that selected the config version saw 3-4
 * identical events per activation, and a bot that counts or alerts per event fired that often. An
 * event that reads exactly as the last one sent on that subscription is dropped; anything that
 * differs in what the client selected still goes out, in order.
 */
export function noRepeatedEventsPlugin(): Plugin {
  return {
    onSubscribe() {
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(withoutRepeats(result as AsyncIterable<ExecutionResult>));
        },
      };
    },
  };
}
