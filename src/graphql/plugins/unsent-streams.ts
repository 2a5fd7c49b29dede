import { isAsyncIterable, type Plugin } from 'graphql-yoga';

/**
 * A subscription asked for with an Accept that no event-stream processor serves (JSON only): yoga
 * runs it, finds nothing to send its stream with, and answers 406, leaving the stream open for no
 * one (its event listener, its per-client count and its token recheck with it). Any client could
 * pile them up with `curl -H 'accept: application/json'`. Here (after yoga's own processors chose,
 * or not) a stream without a processor is ended.
 */
export function unsentStreamsPlugin(): Plugin {
  return {
    onResultProcess({ result, resultProcessor }) {
      if (resultProcessor || !isAsyncIterable(result)) return;
      void result[Symbol.asyncIterator]()
        .return?.()
        ?.catch(() => {});
    },
  };
}
