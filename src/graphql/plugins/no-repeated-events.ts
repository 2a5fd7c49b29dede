import { type DocumentNode, type ExecutionResult, type FragmentDefinitionNode, type GraphQLSchema, getOperationAST, Kind } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { rootFieldNodes } from '../root-fields.js';

/**
 * In a subscription field's `extensions`: its events are "the state now" (each one a hint to read
 * again, resolved when it is delivered), so one that reads as the last one sent says nothing new.
 */
export const EVENTS_READ_STATE_NOW = 'eventsReadStateNow';
export const stateNowEvents = { [EVENTS_READ_STATE_NOW]: true } as const;

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
 * Whether the operation subscribes only to fields whose events read the state now: judged by the
 * fields' names (an alias changes only the key the client reads), through fragments. A document
 * that names any other field (signalsEmitted: each event a scan of its own) keeps every event.
 */
export function subscribesToStateNow(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null): boolean {
  const operation = getOperationAST(document, operationName ?? undefined);
  const root = operation?.operation === 'subscription' ? schema.getSubscriptionType() : undefined;
  if (!operation || !root) return false;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const fields = root.getFields();
  const nodes = rootFieldNodes(operation.selectionSet, (name) => fragments.get(name));
  return nodes.length > 0 && nodes.every((node) => fields[node.name.value]?.extensions?.[EVENTS_READ_STATE_NOW] === true);
}

/**
 * A subscription to "the state now" never sends the same event twice in a row. `statusChanged` and
 * `strategiesChanged` are hints to read again (each reads the state when it delivers), and one
 * change raises several: the config written, the runner applying it, its next scan. A client that
 * selected the config version saw 3-4 identical events per activation, and a bot that counts or
 * alerts per event fired that often. On those, an event that reads exactly as the last one sent on
 * that subscription is dropped; anything that differs in what the client selected still goes out,
 * in order. `signalsEmitted` is not filtered: each event is a scan of its own ("one event per
 * scan"), and two scans that read the same (a bot selecting only `direction`) are still two scans.
 */
export function noRepeatedEventsPlugin(): Plugin {
  return {
    onSubscribe({ args }) {
      if (!subscribesToStateNow(args.schema, args.document, args.operationName)) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(withoutRepeats(result as AsyncIterable<ExecutionResult>));
        },
      };
    },
  };
}
