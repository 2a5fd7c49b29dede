import type { Later } from '../../src/log.js';

/**
 * A clock and timers moved by hand, for code that takes `now` and `later` (src/log.ts): `advance`
 * moves the clock and runs the timers that are due; `pending` counts those still waiting.
 */
export function manualClock(start = 0) {
  let current = start;
  const timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  const later: Later = (fn, ms) => {
    const timer = { at: current + ms, fn, cancelled: false };
    timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  };
  return {
    now: () => current,
    later,
    advance(ms: number) {
      current += ms;
      for (const timer of timers.splice(0)) {
        if (timer.cancelled) continue;
        if (timer.at <= current) timer.fn();
        else timers.push(timer);
      }
    },
    pending: () => timers.filter((t) => !t.cancelled).length,
  };
}
