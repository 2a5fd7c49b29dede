import { describe, expect, it } from 'vitest';
import type { RuntimeFileStat } from '../../src/fs/runtime-file.js';
import {
  EMPTY_SETTLE_FACTOR,
  MISSING_LOOK_MS,
  readSettledFiles,
  type SettleClock,
  type SettleEntry,
  systemSettleClock,
} from '../../src/fs/settle.js';

const MS = 200;
const MAX_MS = 1500;
const STEP_MS = 10_000;

/**
 * Injected clocks: a monotonic one that only sleeps move, and a wall clock that follows it until it
 * is stepped (by `stepAt` ms of the loop, by `stepBy` ms), as an NTP step or a VM resume does.
 */
function steppedClock(stepAt: number, stepBy: number) {
  const start = 5_000;
  let mono = start;
  let offset = 1_760_000_000_000;
  let stepped = false;
  const clock: SettleClock = {
    wall: () => mono + offset,
    now: () => mono,
    sleep: async (ms) => {
      mono += ms;
      if (!stepped && mono - start >= stepAt) {
        stepped = true;
        offset += stepBy;
      }
    },
  };
  return { clock, elapsed: () => mono - start, stepped: () => stepped };
}

const statAt = (ctimeMs: number, size = 64): RuntimeFileStat =>
  ({ ino: 7, size, mtimeMs: ctimeMs, ctimeMs, mode: 0o100644, uid: 0 }) as RuntimeFileStat;

/** A file rewritten in place without a pause: every look finds its last change 50 ms before the read (not empty: a read between two writes). */
function keptWriting(clock: SettleClock) {
  let reads = 0;
  return {
    reads: () => reads,
    read: async () => {
      reads += 1;
      const readAt = clock.wall();
      const look = { stat: statAt(readAt - 50), readAt, at: clock.now() };
      return { value: reads, files: [{ look }] as SettleEntry[] };
    },
  };
}

describe('the settle loop runs its bound on the monotonic clock, compares file times with the wall clock', () => {
  it.each([
    ['back', -STEP_MS],
    ['forward', STEP_MS],
  ])('a file that keeps changing is taken as it stands at the bound, when the wall clock steps %s 10 s mid-loop', async (_way, stepBy) => {
    const { clock, elapsed, stepped } = steppedClock(500, stepBy);
    const file = keptWriting(clock);
    const said: number[][] = [];
    const result = await readSettledFiles({
      read: file.read,
      times: { ms: MS, maxMs: MAX_MS },
      clock,
      keptChanging: (files) => said.push([...files]),
    });
    expect(stepped()).toBe(true);
    expect(result.settled).toBe(false);
    expect(said).toEqual([[0]]);
    // Not 10 s more (stepped back), not at once (stepped forward): the bound, on the monotonic clock.
    expect(elapsed()).toBeGreaterThanOrEqual(MAX_MS);
    expect(elapsed()).toBeLessThan(MAX_MS + MS);
    expect(file.reads()).toBeGreaterThan(MAX_MS / MS);
  });

  it('a file gone missing is taken once it stayed missing for the window, though the wall clock stepped back 10 s meanwhile', async () => {
    const { clock, elapsed, stepped } = steppedClock(MS / 2, -STEP_MS);
    const said: number[][] = [];
    let reads = 0;
    const result = await readSettledFiles({
      // Its directory could not be looked at: only the time it stayed missing decides.
      read: async () => {
        reads += 1;
        return { value: null, files: [{ missing: { readAt: clock.wall(), dirChangedAt: null } }] };
      },
      times: { ms: MS, maxMs: MAX_MS },
      clock,
      keptChanging: (files) => said.push([...files]),
    });
    expect(stepped()).toBe(true);
    expect(result.settled).toBe(true);
    expect(said).toEqual([]);
    expect(elapsed()).toBeGreaterThanOrEqual(MS);
    expect(elapsed()).toBeLessThan(2 * MS);
    // Looked at again soon at first (MISSING_LOOK_MS), then ever further apart: a few reads of the files, not one every 2 ms.
    expect(reads).toBeGreaterThan(3);
    expect(reads).toBeLessThanOrEqual(10);
  });

  it('a file missing for a moment (a replace: taken away, then linked) is looked at again within MISSING_LOOK_MS, not after the window', async () => {
    const { clock, elapsed } = steppedClock(0, 0);
    let reads = 0;
    const result = await readSettledFiles({
      // Missing at the first read only; whole at the next (renamed into place, as the API's replace leaves it).
      read: async () => {
        reads += 1;
        if (reads === 1) return { value: null, files: [{ missing: { readAt: clock.wall(), dirChangedAt: clock.wall() } }] };
        return { value: 'text', files: [{ look: { stat: statAt(clock.wall()), readAt: clock.wall(), at: clock.now() }, whole: true }] };
      },
      times: { ms: MS, maxMs: MAX_MS },
      clock,
      keptChanging: () => {},
    });
    expect(result).toMatchObject({ value: 'text', settled: true });
    expect(reads).toBe(2);
    expect(MISSING_LOOK_MS).toBeLessThan(MS / 4);
    expect(elapsed()).toBe(MISSING_LOOK_MS);
  });

  it.each([
    ['written 300 ms after its truncate (a writer held up): the whole content, not the empty file', 300, 'whole'],
    ['left empty: taken empty once still for EMPTY_SETTLE_FACTOR windows', Number.POSITIVE_INFINITY, 'empty'],
  ])('an empty file changed in place, %s', async (_, writtenAt, taken) => {
    const { clock, elapsed } = steppedClock(Number.POSITIVE_INFINITY, 0);
    const truncatedAt = clock.wall();
    const read = async () => {
      const readAt = clock.wall();
      const whole = elapsed() >= writtenAt;
      const stat = whole ? statAt(truncatedAt + writtenAt, 64) : statAt(truncatedAt, 0);
      return { value: whole ? 'whole' : 'empty', files: [{ look: { stat, readAt, at: clock.now() } }] as SettleEntry[] };
    };
    const result = await readSettledFiles({ read, times: { ms: MS, maxMs: MAX_MS }, clock, keptChanging: () => {} });
    expect(result).toMatchObject({ value: taken, settled: true });
    // Whole: once still for the window after its write; empty: once still for 5 windows (it took 1 window before).
    const settledAt = taken === 'whole' ? writtenAt + MS : EMPTY_SETTLE_FACTOR * MS;
    expect(elapsed()).toBeGreaterThanOrEqual(settledAt);
    expect(elapsed()).toBeLessThan(settledAt + MS);
  });

  it.each([
    ['a file', 64, 1],
    ['an empty file', 0, EMPTY_SETTLE_FACTOR],
  ])(
    '%s whose last change is ahead of the wall clock (stepped back after it) is taken once unchanged for its window',
    async (_, size, windows) => {
      const { clock, elapsed } = steppedClock(0, 0);
      // Written 10 s "in the future": the wall clock was stepped back after the write.
      const stat = statAt(clock.wall() + STEP_MS, size);
      const said: number[][] = [];
      const result = await readSettledFiles({
        read: async () => ({ value: 'text', files: [{ look: { stat, readAt: clock.wall(), at: clock.now() } }] }),
        times: { ms: MS, maxMs: MAX_MS },
        clock,
        keptChanging: (files) => said.push([...files]),
      });
      expect(result.settled).toBe(true);
      expect(said).toEqual([]);
      // Unchanged since the first look for the window (an empty file's five): looked at every window meanwhile.
      expect(elapsed()).toBeGreaterThanOrEqual(windows * MS);
      expect(elapsed()).toBeLessThan(windows * MS + MS);
    },
  );

  it("the system clock's durations do not follow Date.now (the wall clock)", () => {
    const realNow = Date.now;
    const before = systemSettleClock.now();
    Date.now = () => realNow() - STEP_MS;
    try {
      expect(systemSettleClock.now()).toBeGreaterThanOrEqual(before);
      expect(systemSettleClock.wall()).toBeLessThan(realNow() - STEP_MS / 2);
    } finally {
      Date.now = realNow;
    }
  });
});

describe('a spell carried across calls (the config store, the token store)', () => {
  it('a call made long into the spell still takes the file from a read between two writes, not a torn one', async () => {
    const { clock, elapsed } = steppedClock(Number.POSITIVE_INFINITY, 0);
    // Changing for 10 s already, taken as it stands by earlier calls (and said): this call is past the bound at once.
    const spell = { changingSince: clock.now() - 10_000, said: true, missingSince: new Map<number, number>() };
    let reads = 0;
    const said: number[][] = [];
    const result = await readSettledFiles({
      // The first three reads come just after a truncate (empty: no tokens, no presets), then one between two writes.
      read: async () => {
        reads += 1;
        const readAt = clock.wall();
        const look = { stat: statAt(readAt - 50, reads <= 3 ? 0 : 64), readAt, at: clock.now() };
        return { value: reads, files: [{ look }] as SettleEntry[] };
      },
      times: { ms: MS, maxMs: MAX_MS },
      clock,
      spell,
      keptChanging: (files) => said.push([...files]),
    });
    expect(result.value).toBe(4);
    expect(result.settled).toBe(false);
    expect(said).toEqual([]); // said once per spell: by the call that began it
    expect(elapsed()).toBeLessThan(MS); // past the bound already: no wait beyond the few ms between reads
  });
});
