/**
 * A bounded cache: at most `maxEntries` entries and, when sizes are given, at most `maxSize` in
 * total. Eviction is second-chance (CLOCK): a hit only sets a flag, so a hit costs one lookup, and
 * an entry used since it was last passed over is moved to the back instead of evicted; what goes
 * is an entry not used since. Close to LRU, without reordering the map on every hit.
 */
export class Lru<K, V> {
  private readonly map = new Map<K, { value: V; size: number; used: boolean }>();
  private total = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxSize = Number.POSITIVE_INFINITY,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    entry.used = true;
    return entry.value;
  }

  set(key: K, value: V, size = 0): void {
    const old = this.map.get(key);
    if (old) {
      this.total -= old.size;
      this.map.delete(key);
    }
    if (size > this.maxSize) return; // would evict everything else and still not fit
    this.map.set(key, { value, size, used: false });
    this.total += size;
    // Each pass over an entry clears its flag, so this ends within two rounds of the map.
    while (this.map.size > this.maxEntries || this.total > this.maxSize) {
      const [oldest, entry] = this.map.entries().next().value as [K, { value: V; size: number; used: boolean }];
      this.map.delete(oldest);
      if (entry.used && oldest !== key) {
        entry.used = false;
        this.map.set(oldest, entry);
      } else {
        this.total -= entry.size;
      }
    }
  }

  clear(): void {
    this.map.clear();
    this.total = 0;
  }
}
