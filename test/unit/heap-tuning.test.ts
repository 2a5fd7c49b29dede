import { describe, expect, it } from 'vitest';
import { IdleCollection, v8Collector } from '../../src/heap-tuning.js';

/** Feeds one utilization per second; returns the seconds (1-based) at which a collection was due. */
const due = (utilizations: readonly number[], thresholds?: ConstructorParameters<typeof IdleCollection>[0]) => {
  const collection = new IdleCollection(thresholds);
  return utilizations.flatMap((u, i) => (collection.tick(u) ? [i + 1] : []));
};

describe('the collection after a burst (IdleCollection)', () => {
  it('is due once, after six quiet seconds that follow a busy one', () => {
    expect(due([0.9, 0.9, 0.002, 0.002, 0.002, 0.002, 0.002, 0.002, 0.002, 0.002])).toEqual([8]);
  });

  it('never while the server stays busy, and never on a server that was never busy', () => {
    expect(due(Array.from({ length: 30 }, () => 0.5))).toEqual([]);
    expect(due(Array.from({ length: 30 }, () => 0.003))).toEqual([]);
  });

  it('a busy second among the quiet ones starts the count again; a half-quiet one (between the thresholds) breaks it', () => {
    expect(due([0.9, 0, 0, 0, 0, 0, 0.3, 0, 0, 0, 0, 0, 0])).toEqual([13]);
    expect(due([0.9, 0, 0, 0, 0.02, 0, 0, 0, 0, 0, 0])).toEqual([11]);
  });

  it('once per burst: each new burst earns one more', () => {
    const burst = [0.8, 0, 0, 0, 0, 0, 0];
    expect(due([...burst, 0, 0, 0, ...burst])).toEqual([7, 17]);
  });

  it('is in a burst from its first busy second until the collection that ends it (what followLoad tells as begun and over)', () => {
    const collection = new IdleCollection();
    const seen = [0.003, 0.9, 0.5, 0, 0, 0, 0, 0, 0, 0, 0.7].map((u) => {
      const before = collection.inBurst;
      const collect = collection.tick(u);
      return !before && collection.inBurst ? 'begun' : collect ? 'over' : '-';
    });
    expect(seen).toEqual(['-', 'begun', '-', '-', '-', '-', '-', '-', 'over', '-', 'begun']);
  });

  it('takes its thresholds', () => {
    expect(due([0.2, 0.04, 0.04], { busy: 0.1, quiet: 0.05, quietTicks: 2 })).toEqual([3]);
  });
});

describe("V8's collector", () => {
  it('is taken without exposing globalThis.gc, and collects', async () => {
    const gc = v8Collector();
    expect(typeof gc).toBe('function');
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    const ref = (() => new WeakRef({ garbage: true }))();
    const nextJob = () => new Promise((resolve) => setImmediate(resolve));
    // A WeakRef's target lives at least until the end of the job that made it (or last deref'd it).
    await nextJob();
    expect(ref.deref()).toEqual({ garbage: true }); // nothing collected it yet (a young object, a quiet test)
    await nextJob();
    gc?.();
    expect(ref.deref()).toBeUndefined();
  });
});
