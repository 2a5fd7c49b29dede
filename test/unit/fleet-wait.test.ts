import { describe, expect, it } from 'vitest';
import { RunnerFleet } from '../../src/runner/fleet.js';
import type { AppliedConfig } from '../../src/runner/state.js';
import { fakeRunnerSource, iso, runnerState, T0 } from '../helpers/fake-runners.js';

const applied = (configVersion: number, configDigest: string): AppliedConfig => ({
  configVersion,
  configDigest,
  strategyKey: 'momentum',
  scanIntervalSeconds: 30,
  tradingEnabled: false,
  appliedAt: iso(T0),
});

describe('waiting for the runners to apply a change (waitForApplied)', () => {
  const fleetWith = (configVersion: number, digest: string) => {
    const { source, publish } = fakeRunnerSource();
    const fleet = new RunnerFleet(source, { now: () => T0, tickMs: 3_600_000 });
    publish([runnerState('r1', T0, { applied: applied(configVersion, digest) })]);
    return fleet;
  };

  it('the same content, or a later version the store has reached, is applied', async () => {
    const same = fleetWith(5, 'sha256:five');
    expect((await same.waitForApplied({ version: 5, digest: 'sha256:five', storeVersion: () => 5 }, 1)).applied).toBe(true);
    same.close();
    const later = fleetWith(7, 'sha256:seven');
    expect((await later.waitForApplied({ version: 5, digest: 'sha256:five', storeVersion: () => 7 }, 1)).applied).toBe(true);
    later.close();
  });

  it('a runner still at a version the store has not reached (the count started again at the bound) has not applied the change', async () => {
    // The way out at the version bound: audit.log moved away, config.yaml at version 1. A runner left
    // running reports 2147483647, "later" than every new version: it must not count as applied.
    const stale = fleetWith(2_147_483_647, 'sha256:old');
    const result = await stale.waitForApplied({ version: 2, digest: 'sha256:two', storeVersion: () => 2 }, 1);
    expect(result.applied).toBe(false);
    stale.close();
  });
});
