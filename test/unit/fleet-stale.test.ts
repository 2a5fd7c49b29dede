import { describe, expect, it } from 'vitest';
import { Listeners } from '../../src/listeners.js';
import { RunnerFleet } from '../../src/runner/fleet.js';
import type { RunnerHealth, RunnerState, RunnerStateSource } from '../../src/runner/state.js';
import { fakeRunnerSource, runnerState, T0 } from '../helpers/fake-runners.js';

/**
 * A source that follows a file (as `stratctl runner`'s state file is followed): it holds what it read
 * last, and `refresh` reads again, settled when the test says (the file's newer state, or none).
 */
function followedSource(first: RunnerState) {
  const listeners = new Listeners();
  let held = first;
  const asked: ((fileHolds?: RunnerState) => void)[] = [];
  const source: RunnerStateSource = {
    list: () => [held],
    subscribe: (l) => listeners.add(l),
    refresh: () =>
      new Promise<void>((resolve) =>
        asked.push((fileHolds) => {
          if (fileHolds) {
            held = fileHolds;
            listeners.emit();
          }
          resolve();
        }),
      ),
    close: () => listeners.clear(),
  };
  return { source, asked };
}

/** Lets the promise callbacks of a settled refresh run. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('a runner is called STALE on its newest published state (RunnerFleet)', () => {
  // runnerState heartbeats every 1 s: STALE once its heartbeat is over 3 s old.
  const stale = T0 + 3_001;

  it('asks the source to read afresh first, and calls it STALE once the state it held is still the newest', async () => {
    const { source, asked } = followedSource(runnerState('r1', T0));
    let now = T0;
    const fleet = new RunnerFleet(source, { now: () => now, tickMs: 3_600_000 });
    const told: RunnerHealth[] = [];
    fleet.subscribe(() => told.push(fleet.summary().health));
    expect(fleet.views().map((v) => v.health)).toEqual(['RUNNING']);
    expect(asked).toHaveLength(0);
    now = stale;
    // Old by the clock, not read afresh yet: as it was, and the read is asked for once.
    expect(fleet.views().map((v) => v.health)).toEqual(['RUNNING']);
    const running: RunnerHealth[] = [];
    fleet.forEach((_, health) => {
      running.push(health);
    });
    expect(running).toEqual(['RUNNING']);
    expect(asked).toHaveLength(1);
    asked[0]!();
    await settled();
    expect(fleet.views().map((v) => v.health)).toEqual(['STALE']);
    const staleNow: RunnerHealth[] = [];
    fleet.forEach((_, health) => {
      staleNow.push(health);
    });
    expect(staleNow).toEqual(['STALE']);
    expect(told).toEqual(['STALE']);
    expect(asked).toHaveLength(1);
    fleet.close();
  });

  it('a newer heartbeat the fresh read finds keeps it RUNNING: a runner is never told STALE, then RUNNING, on news it had not read yet', async () => {
    const { source, asked } = followedSource(runnerState('r1', T0));
    let now = stale;
    const fleet = new RunnerFleet(source, { now: () => now, tickMs: 3_600_000 });
    const told: RunnerHealth[] = [];
    fleet.subscribe(() => told.push(fleet.summary().health));
    expect(fleet.views().map((v) => v.health)).toEqual(['RUNNING']);
    // The file held a heartbeat written just before the runner died.
    asked[0]!(runnerState('r1', T0 + 2_500));
    await settled();
    expect(fleet.views().map((v) => v.health)).toEqual(['RUNNING']);
    expect(told).not.toContain('STALE');
    // That one grows old in its turn: read afresh again, nothing newer: STALE, once.
    now = T0 + 2_500 + 3_001;
    expect(fleet.views().map((v) => v.health)).toEqual(['RUNNING']);
    expect(asked).toHaveLength(2);
    asked[1]!();
    await settled();
    expect(fleet.views().map((v) => v.health)).toEqual(['STALE']);
    expect(told.filter((h) => h === 'STALE')).toHaveLength(1);
    fleet.close();
  });

  it('a fresh read that never ends (a stalled disk) keeps a dead runner RUNNING for one heartbeat interval at most', () => {
    const { source, asked } = followedSource(runnerState('r1', T0));
    let now = stale;
    const fleet = new RunnerFleet(source, { now: () => now, tickMs: 3_600_000 });
    expect(fleet.views().map((v) => v.health)).toEqual(['RUNNING']);
    now = stale + 999;
    expect(fleet.views().map((v) => v.health)).toEqual(['RUNNING']);
    now = stale + 1_000;
    expect(fleet.views().map((v) => v.health)).toEqual(['STALE']);
    now = stale + 1_001;
    expect(fleet.views().map((v) => v.health)).toEqual(['STALE']);
    expect(asked).toHaveLength(1);
    fleet.close();
  });

  it('a source that cannot read afresh (the embedded runner) is judged by the clock alone, as before', () => {
    const { source, publish } = fakeRunnerSource();
    let now = T0;
    const fleet = new RunnerFleet(source, { now: () => now, tickMs: 3_600_000 });
    publish([runnerState('r1', T0), runnerState('r2', T0, { error: 'cannot read the config', stopped: false })]);
    now = stale;
    expect(fleet.views().map((v) => v.health)).toEqual(['STALE', 'STALE']);
    fleet.close();
  });
});
