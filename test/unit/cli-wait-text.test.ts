import { describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/cli/io.js';
import { reportUnappliedWait } from '../../src/cli/wait-flag.js';

function captured() {
  const err: string[] = [];
  const ctx = { print: () => {}, warn: (text: string) => err.push(text) } as unknown as CommandContext;
  return { ctx, err };
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
});
