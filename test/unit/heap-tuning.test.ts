import { describe, expect, it } from 'vitest';
import { BUSY_SHARE, busyOver, followLoad, IdleCollection, loadTicker, v8Collector } from '../../src/heap-tuning.js';

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

describe('the load ticker (what collectWhenIdle runs each second)', () => {
  it('tells a burst begun and over, collects once at its end, and does not take its own collection for load', () => {
    // A fake event loop: active and idle milliseconds so far, as performance.eventLoopUtilization counts them.
    let active = 0;
    let idle = 0;
    type Sample = { active: number; idle: number; utilization: number };
    const sample = (now?: Sample, before?: Sample): Sample =>
      now && before
        ? { active: 0, idle: 0, utilization: (now.active - before.active) / (now.active + now.idle - before.active - before.idle) }
        : { active, idle, utilization: 0 };
    const events: string[] = [];
    const stop = followLoad({ begun: () => events.push('begun'), over: () => events.push('over') });
    try {
      // The collection pauses the loop for 80 ms (a large heap): that second would read 7% busy.
      const tick = loadTicker(sample as never, () => {
        events.push('collect');
        active += 80;
      });
      for (const busyMs of [600, 300, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 400]) {
        active += busyMs;
        idle += 1000 - busyMs;
        tick();
        events.push('|');
      }
    } finally {
      stop();
    }
    expect(events.join(' ')).toBe('begun | | | | | | | over collect | | | | | | begun |');
  });
});

describe("whether the event loop is busy now (busyOver: the last tick's second and the time since)", () => {
  const span = (active: number, idle: number) => ({ active, idle });
  it("is the ticks' measure: a share of the time at work, at least BUSY_SHARE", () => {
    expect(BUSY_SHARE).toBe(0.05);
    expect(busyOver(span(49, 951))).toBe(false);
    expect(busyOver(span(50, 950))).toBe(true);
  });
  it("over the whole stretch: a quiet second and an operator's activation on cold code are quiet, a read storm 100 ms old is busy", () => {
    // Measured on a quiet server: 20-60 ms at work over the 1.6 s before a write, the activation's own included.
    expect(busyOver(span(12, 988), span(20, 600))).toBe(false);
    // A tick just past: the time since is mostly the request itself, but the second before weighs it.
    expect(busyOver(span(5, 995), span(3, 1))).toBe(false);
    expect(busyOver(span(5, 995), span(100, 5))).toBe(true);
    expect(busyOver(span(1000, 0), span(0, 10))).toBe(true);
  });
  it('nothing measured is not busy', () => {
    expect(busyOver()).toBe(false);
    expect(busyOver(span(0, 0))).toBe(false);
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
