import { describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/cli/io.js';
import { printNotApplied, reportUnappliedWait } from '../../src/cli/wait-flag.js';

function captured() {
  const err: string[] = [];
  const out: string[] = [];
  const ctx = { print: (text: string) => out.push(text), warn: (text: string) => err.push(text) } as unknown as CommandContext;
  return { ctx, err, out };
}

const timedOut = (runnerState: string) => ({
  applied: false,
  waitedMs: 1500,
  runnerState,
  waitedFor: ['vm:1'],
  notWaitedFor: [],
  message: `timed out after 1500 ms waiting for the runner (state ${runnerState}); the change is saved`,
});

describe('stratctl --wait timed out (exit 6): what to do next fits the runner state', () => {
  it('a RUNNING runner is not asked about ("is the runner running?"): wait longer, or see status', () => {
    const { ctx, err } = captured();
    expect(reportUnappliedWait(ctx, 'activated gold (config version 2)', timedOut('RUNNING'))).toBe(6);
    expect(err.join('\n')).not.toContain('is the runner running?');
    expect(err.join('\n')).toContain('The runner is running and has not picked the change up yet: wait longer with --timeout-ms');
  });

  it('a runner that is not RUNNING is named with its state, and the question stays', () => {
    const { ctx, err } = captured();
    expect(reportUnappliedWait(ctx, 'activated gold (config version 2)', timedOut('STOPPED'))).toBe(6);
    expect(err.join('\n')).toContain('Runner state STOPPED: check "stratctl status" (is the runner running?)');
  });

  it('no live runner (none RUNNING or ERROR): not "the runner has not applied it", but the server\'s sentence and how to get one', () => {
    const { ctx, err, out } = captured();
    const message =
      'timed out after 1500 ms: no live runner to wait for (vm:1 STOPPED, last applied version 2: this one); nothing changed (version 2 was already in force), and a runner applies it when one starts';
    const wait = { ...timedOut('STOPPED'), waitedFor: [], notWaitedFor: ['vm:1 STOPPED'], message };
    expect(reportUnappliedWait(ctx, 'momentum was already active (config version 2)', wait)).toBe(6);
    printNotApplied(ctx, wait);
    expect(err).toEqual([
      `error: momentum was already active (config version 2), but ${message}\nNo runner is live (RUNNING or ERROR) to apply it: start one ("stratctl runner", or "stratctl serve" without --no-runner), or see "stratctl status"; --timeout-ms waits longer for one that is starting.`,
    ]);
    expect(out).toEqual([message]);
  });

  it('the only runner STALE: not "start one" (its lock refuses a second: exit 75), but look at the one that is there', () => {
    const { ctx, err } = captured();
    const message =
      'timed out after 1500 ms: no live runner to wait for (vm:1 STALE, last applied version 1); the change is saved, and vm:1 applies it once it is heard from again (STALE: no heartbeat, it may be paused, stalled or cut off from the store), or a runner when one starts';
    const wait = { ...timedOut('STALE'), waitedFor: [], notWaitedFor: ['vm:1'], message };
    expect(reportUnappliedWait(ctx, 'activated gold (config version 2)', wait)).toBe(6);
    expect(err).toEqual([
      `error: activated gold (config version 2), but ${message}\nNo runner is live (RUNNING or ERROR) to apply it, and a STALE one is there, not heard from: look at that process ("stratctl status" names it; paused, stalled, its host or its store connection) rather than starting another beside it; --timeout-ms waits longer for it.`,
    ]);
  });
});
