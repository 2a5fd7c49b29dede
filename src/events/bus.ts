/**
 * Change events inside one process: the API publishes, subscriptions listen. The first
 * implementation is in-process; a later one (etcd watch) carries them across replicas.
 */
export interface EventBus<T> {
  publish(event: T): void;
  subscribe(listener: (event: T) => void): () => void;
  /**
   * Async iteration for GraphQL subscriptions: ends when `signal` aborts or the bus closes. A slow
   * reader keeps at most `maxQueued` events (the oldest are dropped): fine for events that only say
   * "look again", like statusChanged's.
   */
  iterate(signal?: AbortSignal, maxQueued?: number): AsyncIterableIterator<T>;
  close(): void;
}

export function createInProcessEventBus<T>(): EventBus<T> {
  const listeners = new Set<(event: T) => void>();
  const enders = new Set<() => void>();
  let closed = false;
  const bus: EventBus<T> = {
    publish(event) {
      for (const listener of [...listeners]) {
        try {
          listener(event);
        } catch {
          // A listener's failure is its own.
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    iterate(signal, maxQueued = 64) {
      const queue: T[] = [];
      let wake: ((r: IteratorResult<T>) => void) | null = null;
      let done = false;
      const end = () => {
        if (done) return;
        done = true;
        unsubscribe();
        enders.delete(end);
        signal?.removeEventListener('abort', end);
        wake?.({ value: undefined, done: true });
        wake = null;
      };
      const unsubscribe = bus.subscribe((event) => {
        if (wake) {
          wake({ value: event, done: false });
          wake = null;
        } else {
          queue.push(event);
          if (queue.length > maxQueued) queue.shift();
        }
      });
      enders.add(end);
      signal?.addEventListener('abort', end, { once: true });
      if (closed) end();
      const iterator: AsyncIterableIterator<T> = {
        next: () => {
          if (queue.length) return Promise.resolve({ value: queue.shift()!, done: false });
          if (done) return Promise.resolve({ value: undefined, done: true });
          return new Promise((resolve) => {
            wake = resolve;
          });
        },
        return: () => {
          end();
          return Promise.resolve({ value: undefined, done: true });
        },
        [Symbol.asyncIterator]: () => iterator,
      };
      return iterator;
    },
    close() {
      closed = true;
      for (const end of [...enders]) end();
      listeners.clear();
    },
  };
  return bus;
}
