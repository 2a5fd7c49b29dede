import { setMaxListeners } from 'node:events';
import { Repeater, SlidingBuffer } from '@repeaterjs/repeater';
import type { ScanSignals } from '../runner/signal-history.js';
import { turns } from './turns.js';

/**
 * What subscribers can hear. Payloads are hints to look again (the state in force is read when
 * the event is delivered), so a slow subscriber that misses some loses nothing.
 */
export type ControlPlaneTopics = {
  /** The config, the store's health or a runner changed. */
  status: [];
  /** A runner finished a scan: its signals (signalsEmitted). */
  signals: [ScanSignals];
  /** The set of strategies in force changed (a preset added, edited or removed). */
  strategies: [];
};

export interface ControlPlaneEvents {
  publish<T extends keyof ControlPlaneTopics>(topic: T, ...payload: ControlPlaneTopics[T]): void;
  /** Ends when the caller stops iterating or the events close; a slow reader keeps the newest `buffer` events. */
  subscribe<T extends keyof ControlPlaneTopics>(topic: T): AsyncIterableIterator<ControlPlaneTopics[T][0] | undefined>;
  /** Ends every open subscription (so responses streaming them finish). */
  close(): void;
}

export interface EventsOptions {
  /** Where events travel: in-process by default; another EventTarget can carry them further. */
  eventTarget?: EventTarget;
  /** Events kept for a slow subscriber before the oldest are dropped (default 64). */
  buffer?: number;
}

/**
 * `source`, each event delivered in a loop turn of its own: one change fans out to every open
 * subscription, each delivery a GraphQL execution, and taking turns keeps a fan-out to hundreds of
 * streams from holding the event loop (and `/health`) for all of them at once.
 */
function takingTurns<T>(source: AsyncIterableIterator<T>, nextTurn: () => Promise<void>): AsyncIterableIterator<T> {
  const iterator: AsyncIterableIterator<T> = {
    next: () => source.next().then((step) => (step.done ? step : nextTurn().then(() => step))),
    return: (value?: unknown) => source.return?.(value) ?? Promise.resolve({ done: true, value: undefined }),
    throw: (error?: unknown) => source.throw?.(error) ?? Promise.reject(error),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/** The control plane's events: a CustomEvent per topic on an EventTarget, each subscription a repeater of its own. */
export function createEvents(options: EventsOptions = {}): ControlPlaneEvents {
  const eventTarget = options.eventTarget ?? new EventTarget();
  // One listener per open subscription: Node warns of a "possible memory leak" past 10, which here
  // is just an eleventh subscriber. Their number is bounded by the connection caps and the
  // subscriptions-per-client limit instead.
  setMaxListeners(0, eventTarget);
  // Each subscription reads through a repeater with a buffer of its own. yoga's createPubSub, used
  // before, takes one buffer for every repeater it makes, so the events one subscriber had not read
  // yet went to whichever read next, any topic's (a status event read on signalsEmitted as an empty
  // scan; two tabs' scans split between them).
  const buffer = options.buffer ?? 64;
  const listen = (topic: string): AsyncIterator<never> =>
    new Repeater<never>((push, stop) => {
      const listener = (event: Event) => void push((event as CustomEvent).detail as never);
      eventTarget.addEventListener(topic, listener);
      void stop.then(() => eventTarget.removeEventListener(topic, listener));
    }, new SlidingBuffer(buffer))[Symbol.asyncIterator]();
  const nextTurn = turns();
  // The subscriptions open now, so close() can end them. (Each raced a process-long "closed"
  // promise before: Repeater.race queued a request on it for every event delivered, and kept
  // every subscription ever opened, until shutdown.)
  const open = new Set<AsyncIterator<unknown>>();
  let closed = false;
  const ended = (): Promise<IteratorResult<never>> => Promise.resolve({ done: true, value: undefined });
  return {
    // A topic without a payload (status, strategies) is heard as null, as createPubSub delivered it.
    publish: (topic, ...payload) => void eventTarget.dispatchEvent(new CustomEvent(topic, { detail: payload[0] ?? null })),
    subscribe: (topic) => {
      const source = listen(topic);
      const subscription: AsyncIterableIterator<never> = {
        next: () => (closed ? ended() : source.next()),
        return: (value?: unknown) => {
          open.delete(subscription);
          return source.return?.(value) ?? ended();
        },
        throw: (error?: unknown) => {
          open.delete(subscription);
          return source.throw?.(error) ?? Promise.reject(error);
        },
        [Symbol.asyncIterator]: () => subscription,
      };
      if (!closed) open.add(subscription);
      return takingTurns(subscription, nextTurn);
    },
    close: () => {
      closed = true;
      for (const subscription of [...open]) void subscription.return?.();
    },
  };
}
