import { describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/cli/io.js';
import { printApplied } from '../../src/cli/wait-flag.js';
import { type RunnerWaitView, waitMessage } from '../../src/graphql/schema/runner-wait.js';
import type { RunnerState } from '../../src/runner/state.js';

/** A runner in ERROR: every instrument's feed failing (a runner covering none of a strategy's instruments is RUNNING). */
const COVERS_NONE = 'scan failed: csv feed: no candles for XAU_USD';

const state = (error: string | null) => ({ id: 'acct-gold', error }) as RunnerState;

const view = (over: Partial<RunnerWaitView>): RunnerWaitView => ({
  applied: true,
  waitedMs: 12,
  view: { health: 'RUNNING', state: state(null) },
  waitedFor: ['acct-gold'],
  notWaitedFor: [],
  inError: [],
  timeoutMs: 1000,
  changed: true,
  version: 3,
  ...over,
});

describe('runnerWait.message', () => {
  it('a runner that took the change but is in ERROR (its feed fails) is not said to have applied it', () => {
    expect(waitMessage(view({}))).toBe('runner applied it in 12 ms');
    const erring = { health: 'ERROR' as const, state: state(COVERS_NONE) };
    expect(waitMessage(view({ view: erring, inError: [{ id: 'acct-gold', error: COVERS_NONE }] }))).toBe(
      `runner took it in 12 ms, but it reports an error: ${COVERS_NONE}`,
    );
    expect(
      waitMessage(view({ view: erring, waitedFor: ['acct-fx', 'acct-gold'], inError: [{ id: 'acct-gold', error: COVERS_NONE }] })),
    ).toBe(`2 runners (acct-fx, acct-gold) took it in 12 ms, but acct-gold reports an error: ${COVERS_NONE}`);
  });

  it('a wait that ran out on a runner in ERROR names its error rather than promising it applies the change at its next read', () => {
    const timedOut = { applied: false, waitedMs: 1000 };
    expect(waitMessage(view({ ...timedOut, view: { health: 'RUNNING', state: state(null) } }))).toBe(
      'timed out after 1000 ms waiting for the runner (state RUNNING); the change is saved, and the runner will apply it when it next reads the config',
    );
    const error = 'strategy gold_fast is not in force; keeping momentum';
    expect(waitMessage(view({ ...timedOut, view: { health: 'ERROR', state: state(error) } }))).toBe(
      `timed out after 1000 ms waiting for the runner (state ERROR: ${error}); the change is saved, and the runner applies it when it next reads the config unless that error keeps it from it`,
    );
  });

  it('no live runner: says there was none to wait for, naming each listed one with its state and the version it last applied', () => {
    const none = { applied: false, waitedMs: 1000, waitedFor: [], view: { health: 'STOPPED' as const, state: state(null) } };
    // A no-op (version 3 in force) with only a STOPPED runner that applied version 3 before it stopped.
    expect(
      waitMessage(
        view({
          ...none,
          changed: false,
          notWaitedFor: [{ id: 'acct-gold', health: 'STOPPED', appliedVersion: 3, appliedTarget: true }],
        }),
      ),
    ).toBe(
      'timed out after 1000 ms: no live runner to wait for (acct-gold STOPPED, last applied version 3: this one); nothing changed (version 3 was already in force), and a runner applies it when one starts',
    );
    expect(
      waitMessage(
        view({
          ...none,
          notWaitedFor: [
            { id: 'acct-fx', health: 'STALE', appliedVersion: 2, appliedTarget: false },
            { id: 'acct-gold', health: 'STOPPED', appliedVersion: null, appliedTarget: false },
          ],
        }),
      ),
    ).toBe(
      // A STALE runner is there, not heard from: it applies it when it runs again (a paused process, one cut off from the store).
      'timed out after 1000 ms: no live runner to wait for (acct-fx STALE, last applied version 2; acct-gold STOPPED, applied none); the change is saved, and acct-fx applies it once it is heard from again (STALE: no heartbeat, it may be paused, stalled or cut off from the store), or a runner when one starts',
    );
    expect(waitMessage(view({ ...none, notWaitedFor: [] }))).toBe(
      'timed out after 1000 ms: no live runner to wait for (none has reported); the change is saved, and a runner applies it when one starts',
    );
  });
});

describe("stratctl --wait printing the server's runnerWait", () => {
  const printed = (wait: Parameters<typeof printApplied>[1]) => {
    const lines: string[] = [];
    printApplied({ print: (line: string) => lines.push(line) } as unknown as CommandContext, wait, true);
    return lines;
  };

  it("names the runners not waited for once: in the server's sentence for a runner in ERROR, on a line of its own otherwise", () => {
    const base = { applied: true, waitedMs: 12, waitedFor: ['a', 'b'], notWaitedFor: ['c STALE'] };
    expect(
      printed({
        ...base,
        runnerState: 'ERROR',
        message: `2 runners (a, b) took it in 12 ms, but a reports an error: ${COVERS_NONE}; not waited for, not running: c STALE`,
      }),
    ).toEqual([
      `2 runners (a, b) took it in 12 ms, but a reports an error: ${COVERS_NONE}; not waited for, not running: c STALE (see stratctl status)`,
    ]);
    expect(printed({ ...base, runnerState: 'RUNNING', message: 'ignored' })).toEqual([
      'the 2 runners applied it (12 ms): a, b',
      'not waited for, not running: c STALE (see stratctl status)',
    ]);
  });
});
