import { describe, expect, it } from 'vitest';
import { RunnerFleet } from '../../src/runner/fleet.js';
import { logRunnerHealth } from '../../src/runner/health-log.js';
import type { RunnerState } from '../../src/runner/state.js';
import { fakeRunnerSource as fakeSource, iso, runnerState, T0 } from '../helpers/fake-runners.js';

function recordingLogger() {
  const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => lines.push({ level, fields, msg });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } as never };
}

describe('runner health in the log', () => {
  it('one line per change: STALE at WARN, ERROR at ERROR, back to RUNNING at INFO with how long it lasted; heartbeats say nothing', () => {
    let now = T0;
    const { source, publish } = fakeSource();
    const fleet = new RunnerFleet(source, { now: () => now, tickMs: 3_600_000 });
    const { lines, logger } = recordingLogger();
    const stop = logRunnerHealth(fleet, logger, () => now);
    try {
      publish([runnerState('r1', now)]);
      expect(lines).toEqual([{ level: 'info', fields: { runner: 'r1', state: 'RUNNING' }, msg: 'runner r1 is RUNNING' }]);
      for (let i = 0; i < 5; i++) {
        now += 1000;
        publish([runnerState('r1', now, { scanCount: i } as Partial<RunnerState>)]);
      }
      expect(lines).toHaveLength(1);

      const lastBeat = now;
      now += 10_000; // no heartbeat for 10 s: STALE (the fleet's clock notices; a source event makes it look)
      publish([runnerState('r1', lastBeat)]);
      expect(lines[1]).toEqual({
        level: 'warn',
        fields: { runner: 'r1', state: 'STALE', previous: 'RUNNING', heartbeatAt: iso(lastBeat) },
        msg: `runner r1 is STALE: no heartbeat since ${iso(lastBeat)}; its markets are not scanned, or its state cannot reach this process`,
      });
      publish([runnerState('r1', lastBeat)]);
      expect(lines).toHaveLength(2);

      now += 32_000;
      publish([runnerState('r1', now)]);
      expect(lines[2]).toEqual({
        level: 'info',
        fields: { runner: 'r1', state: 'RUNNING', previous: 'STALE' },
        msg: 'runner r1 is RUNNING again (STALE for 32 s)',
      });

      now += 1000;
      publish([runnerState('r1', now, { error: 'cannot read the config (EACCES), keeping what was applied' })]);
      expect(lines[3]).toMatchObject({
        level: 'error',
        fields: { runner: 'r1', state: 'ERROR', previous: 'RUNNING', error: 'cannot read the config (EACCES), keeping what was applied' },
        msg: 'runner r1 reports an error: cannot read the config (EACCES), keeping what was applied',
      });
      now += 5000;
      publish([runnerState('r1', now)]);
      expect(lines[4]).toMatchObject({ level: 'info', msg: 'runner r1 is RUNNING again (ERROR for 5 s)' });

      now += 1000;
      publish([runnerState('r1', now, { stopped: true })]);
      expect(lines[5]).toMatchObject({
        level: 'info',
        fields: { state: 'STOPPED', previous: 'RUNNING' },
        msg: 'runner r1 stopped (RUNNING for 1 s)',
      });
      publish([]);
      expect(lines[6]).toEqual({
        level: 'info',
        fields: { runner: 'r1', previous: 'STOPPED' },
        msg: 'runner r1 is no longer listed (it was STOPPED)',
      });
      expect(lines).toHaveLength(7);
    } finally {
      stop();
      fleet.close();
    }
  });

  it('a blip (a runner process waking from a freeze to its own old heartbeat) does not restart the spell it interrupted: its stop says how long it ran', () => {
    let now = T0;
    const { source, publish } = fakeSource();
    const fleet = new RunnerFleet(source, { now: () => now, tickMs: 3_600_000 });
    const { lines, logger } = recordingLogger();
    const stop = logRunnerHealth(fleet, logger, () => now);
    try {
      publish([runnerState('r1', now)]);
      for (let i = 0; i < 24; i++) {
        now += 1000;
        publish([runnerState('r1', now)]);
      }
      // Frozen 13 s: on waking, its last heartbeat is 13 s old (STALE), and it publishes at once.
      const lastBeat = now;
      now += 13_000;
      publish([runnerState('r1', lastBeat)]);
      publish([runnerState('r1', now)]);
      expect(lines.map((l) => l.msg)).toEqual([
        'runner r1 is RUNNING',
        expect.stringMatching(/^runner r1 is STALE/),
        'runner r1 is RUNNING again (STALE for 0 s)',
      ]);
      // Taken over while frozen, it stops 11 ms later: it had been RUNNING since this process first saw it so.
      now += 11;
      publish([runnerState('r1', now, { stopped: true })]);
      expect(lines[3]).toMatchObject({ fields: { state: 'STOPPED', previous: 'RUNNING' }, msg: 'runner r1 stopped (RUNNING for 37 s)' });

      // A spell of a second or more is no blip: the next one is measured from its own start.
      now += 1500;
      publish([runnerState('r1', now)]);
      now += 3000;
      publish([runnerState('r1', now, { stopped: true })]);
      expect(lines.slice(4).map((l) => l.msg)).toEqual([
        'runner r1 is RUNNING again (STOPPED for 2 s)',
        'runner r1 stopped (RUNNING for 3 s)',
      ]);
    } finally {
      stop();
      fleet.close();
    }
  });
});
