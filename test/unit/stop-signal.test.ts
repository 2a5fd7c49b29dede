import { describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/cli/io.js';
import { SAME_STOP_MS, stopOnSignal } from '../../src/cli/serve.js';
import type { Logger } from '../../src/log.js';

/** A command's context whose stop signals the test sends, a logger that keeps its lines, and a clock the test sets. */
function harness() {
  const listeners = new Set<(signal: NodeJS.Signals) => void>();
  const ctx = {
    io: {
      onStopSignal: (listener: (signal: NodeJS.Signals) => void) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
  } as unknown as CommandContext;
  const lines: string[] = [];
  const log = (level: string) => (first: unknown, second?: unknown) => lines.push(`${level} ${typeof first === 'string' ? first : second}`);
  const logger = { info: log('info'), warn: log('warn'), error: log('error') } as unknown as Logger;
  let clock = 0;
  const stopping = stopOnSignal(ctx, logger, 'stopping', () => clock);
  return {
    stopping,
    lines,
    listeners,
    /** Moves the clock (a stop taking its time). */
    at: (ms: number) => {
      clock = ms;
    },
    /** Sends `signal` at `at` ms, then lets the command take it (one turn of the event loop). */
    signal: async (signal: NodeJS.Signals, at: number) => {
      clock = at;
      for (const listener of [...listeners]) listener(signal);
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

describe('stopping on a signal (stopOnSignal)', () => {
  it('the same signal twice within SAME_STOP_MS (npm start passing on a process-group signal) is one stop: it finishes, exit 0', async () => {
    const { stopping, lines, signal } = harness();
    let finish!: () => void;
    const stopped = new Promise<void>((resolve) => (finish = resolve));
    const code = stopping.afterSignal(() => stopped);
    await signal('SIGINT', 10_000);
    await signal('SIGINT', 10_001);
    await signal('SIGINT', 10_000 + SAME_STOP_MS - 1);
    finish();
    expect(await code).toBe(0);
    expect(lines[0]).toBe('info SIGINT: stopping');
    expect(lines.filter((l) => l.includes('the same stop'))).toHaveLength(2);
    expect(lines.join('\n')).not.toContain('exiting now');
  });

  it('a signal after the stop is over (npm passing a Ctrl-C on, late) is taken and let go: not left to its default, which kills', async () => {
    const { stopping, lines, listeners, signal } = harness();
    const code = stopping.afterSignal(() => Promise.resolve());
    await signal('SIGINT', 10_000);
    expect(await code).toBe(0);
    const before = [...lines];
    // Still handled until the process exits: with no listener left, the signal's default action ends it.
    expect(listeners.size).toBe(1);
    await signal('SIGINT', 10_000 + 3 * SAME_STOP_MS);
    expect(lines).toEqual(before);
    expect(lines.join('\n')).not.toContain('exiting now');
  });

  it('a signal SAME_STOP_MS or more after the first gives up the stop: exit 1 at once', async () => {
    const { stopping, lines, signal } = harness();
    const code = stopping.afterSignal(() => new Promise<void>(() => {}));
    await signal('SIGTERM', 5_000);
    await signal('SIGTERM', 5_000 + SAME_STOP_MS);
    expect(await code).toBe(1);
    expect(lines).toContain('warn SIGTERM again: exiting now');
  });

  it('says when the stop is over, how long it took and the exit code: the last line of a clean stop', async () => {
    const { stopping, lines, signal, at } = harness();
    let finish!: () => void;
    const code = stopping.afterSignal(() => new Promise<void>((resolve) => (finish = resolve)));
    await signal('SIGTERM', 10_000);
    at(12_500);
    finish();
    expect(await code).toBe(0);
    expect(lines).toEqual(['info SIGTERM: stopping', 'info stopped after 2.50 s (exit 0)']);
  });

  it("a stop of the process's own (stopBecause: its runtime-dir lock or runner id lost) says how long it took too, counted from then", async () => {
    const { stopping, lines, at } = harness();
    let finish!: () => void;
    const code = stopping.afterSignal(() => new Promise<void>((resolve) => (finish = resolve)));
    at(10_000);
    stopping.stopBecause('lost .lock', 75);
    await new Promise((resolve) => setImmediate(resolve));
    at(12_500);
    finish();
    expect(await code).toBe(75);
    // It said "stopped after 0.00 s (exit 75)" however long the drain took: the clock started only at a signal.
    expect(lines).toEqual(['error lost .lock: stopping', 'info stopped after 2.50 s (exit 75)']);
  });
});
