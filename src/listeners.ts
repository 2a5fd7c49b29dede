/**
 * The listeners of one kind of event: `add` returns the unsubscribe; `emit` tells each in turn, and
 * one that throws neither stops the others nor reaches the emitter (its failure is its own: the
 * emitter's state is already settled), unless `onError` is given to hear about it (with the value).
 */
export class Listeners<T = void> {
  private readonly set = new Set<(value: T) => void>();

  constructor(private readonly onError?: (err: unknown, value: T) => void) {}

  add(listener: (value: T) => void): () => void {
    this.set.add(listener);
    return () => {
      this.set.delete(listener);
    };
  }

  emit(value: T): void {
    for (const listener of this.set) {
      try {
        listener(value);
      } catch (err) {
        this.onError?.(err, value);
      }
    }
  }

  get size(): number {
    return this.set.size;
  }

  clear(): void {
    this.set.clear();
  }
}
