import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileConfigStore } from '../../src/config/file-store.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

const STATUS = `{ status {
  activeStrategyKey configVersion configDigest
  configError { message problems { line message } }
  runner { state inSync appliedConfigVersion appliedConfigDigest appliedStrategyKey appliedAt lastScanAt error staleAfterMs
    lastSignals { instrument strategyKey direction reason values candleTime error } }
} }`;

type Status = Record<string, any>;
const status = async (server: TestServer): Promise<Status> => (await server.gql(STATUS)).body.data?.status;

const ACTIVATE = `mutation($key: String!, $wait: Boolean, $timeoutMs: Int) {
  activateStrategy(strategyKey: $key, waitForRunner: $wait, timeoutMs: $timeoutMs) {
    configVersion activeStrategyKey changed
    runnerWait { applied timedOut waitedMs runnerState message }
    status { configVersion runner { state inSync appliedConfigVersion appliedStrategyKey } }
  }
}`;

/** Writes config.yaml the way an editor that saves atomically does. */
async function handEdit(dir: string, edit: (text: string) => string): Promise<void> {
  const file = path.join(dir, 'config.yaml');
  const text = edit(await readFile(file, 'utf8'));
  await writeFile(`${file}.edit`, text);
  await rename(`${file}.edit`, file);
}

const startWithRunner = () => startTestServer({ runner: { heartbeatMs: 200 } });

describe('embedded runner', () => {
  it('applies an activation made over HTTP; waitForRunner answers once applied and status shows the applied version', async () => {
    const server = await startWithRunner();
    // RUNNING as well: a heartbeat late on a loaded machine (200 ms here) reads STALE for a moment.
    const first = await waitUntil(
      () => status(server),
      (s) => s.runner.lastScanAt !== null && s.runner.state === 'RUNNING',
      { what: 'first scan' },
    );
    expect(first.runner).toMatchObject({ state: 'RUNNING', inSync: true, appliedConfigVersion: 1, appliedStrategyKey: 'momentum' });
    expect(first.runner.lastSignals.map((s: { instrument: string }) => s.instrument)).toEqual(['EUR_USD', 'GBP_USD', 'USD_JPY']);

    const res = await server.gql(ACTIVATE, { key: 'gold', wait: true });
    expect(res.body.errors).toBeUndefined();
    const payload = res.body.data?.activateStrategy;
    expect(payload.configVersion).toBe(2);
    expect(payload.runnerWait).toMatchObject({ applied: true, timedOut: false, runnerState: 'RUNNING' });
    expect(payload.status.runner).toEqual({ state: 'RUNNING', inSync: true, appliedConfigVersion: 2, appliedStrategyKey: 'gold' });

    // Applied, then rescanned promptly (not a whole 30 s interval later) with the new strategy.
    const after = await waitUntil(
      () => status(server),
      (s) => s.runner.lastSignals[0]?.strategyKey === 'gold',
      { what: 'a scan with gold', timeoutMs: 10_000 }, // well inside the 30 s interval,
    );
    expect(after.runner.appliedConfigDigest).toBe(after.configDigest);
    expect(after.runner.lastSignals).toHaveLength(1);
    expect(after.runner.lastSignals[0]).toMatchObject({ instrument: 'XAU_USD', strategyKey: 'gold', error: null });
    expect(['LONG', 'SHORT', 'FLAT']).toContain(after.runner.lastSignals[0].direction);
    expect(after.runner.lastSignals[0].values).toHaveProperty('fastMa');
  });

  it('picks up a valid hand edit that left the version alone: in force as the next version, shown by the applied digest', async () => {
    const server = await startWithRunner();
    const before = await waitUntil(
      () => status(server),
      (s) => s.runner.appliedConfigVersion === 1,
      { what: 'runner' },
    );
    await handEdit(server.runtimeDir, (t) => t.replace('active_strategy_key: momentum', 'active_strategy_key: range'));
    const after = await waitUntil(
      () => status(server),
      (s) => s.runner.appliedStrategyKey === 'range',
      { what: 'hand edit applied' },
    );
    // The file still says version 1; versions never go backwards, so the hand edit is in force (and applied) as 2.
    expect(after.configVersion).toBe(2);
    expect(after.runner.appliedConfigVersion).toBe(2);
    expect(after.runner.appliedConfigDigest).not.toBe(before.runner.appliedConfigDigest);
    expect(after.runner.appliedConfigDigest).toBe(after.configDigest);
    expect(after.runner.inSync).toBe(true);
  });

  it('keeps the last good config on an invalid edit, reports it (status, runner, /ready), and recovers when fixed', async () => {
    const server = await startWithRunner();
    await server.gql('mutation { updateConfig(input: { activeStrategyKey: "gold", scanIntervalSeconds: 1 }) { config { version } } }');
    await waitUntil(
      () => status(server),
      (s) => s.runner.appliedStrategyKey === 'gold',
      { what: 'gold applied' },
    );
    await handEdit(server.runtimeDir, (t) => t.replace('active_strategy_key: gold', 'active_strategy_key: golden'));
    const broken = await waitUntil(
      () => status(server),
      (s) => s.runner.state === 'ERROR',
      { what: 'runner ERROR' },
    );
    expect(broken.configError.message).toMatch(/Invalid strategy key: golden/);
    expect(broken.runner.error).toMatch(/config file invalid, keeping version 2/);
    expect(broken.runner.error).not.toContain(server.runtimeDir); // API clients are not told server paths
    expect(broken.runner).toMatchObject({ appliedStrategyKey: 'gold', appliedConfigVersion: 2, inSync: true });
    const ready = await fetch(`${server.origin}/ready`);
    expect(ready.status).toBe(503);
    expect((await ready.json()).reasons.join('\n')).toMatch(/runner reports an error/);
    // Scans go on with the last good config.
    const scanning = await waitUntil(
      () => status(server),
      (s) => s.runner.lastScanAt !== broken.runner.lastScanAt,
      {
        what: 'a scan while broken',
      },
    );
    expect(scanning.runner.lastSignals[0].strategyKey).toBe('gold');
    expect(scanning.runner.state).toBe('ERROR');

    await handEdit(server.runtimeDir, (t) => t.replace('active_strategy_key: golden', 'active_strategy_key: range'));
    const fixed = await waitUntil(
      () => status(server),
      (s) => s.runner.appliedStrategyKey === 'range',
      { what: 'recovery' },
    );
    expect(fixed.configError).toBeNull();
    expect(fixed.runner).toMatchObject({ state: 'RUNNING', error: null, inSync: true });
    expect((await fetch(`${server.origin}/ready`)).status).toBe(200);
  });

  it('applies a change whose watch event was missed (watcher paused) on the next scan', async () => {
    const server = await startWithRunner();
    await server.gql('mutation { updateConfig(input: { scanIntervalSeconds: 1 }) { config { version } } }');
    await waitUntil(
      () => status(server),
      (s) => s.runner.appliedConfigVersion === 2,
      { what: 'interval applied' },
    );
    (server.store as FileConfigStore).watch!.pause(); // no fs.watch hint and no store poll: only the runner's per-scan check is left
    await server.store.refresh(); // a refresh a hint queued before the pause runs now, before the edit
    await handEdit(server.runtimeDir, (t) => t.replace('active_strategy_key: momentum', 'active_strategy_key: momentum_v2'));
    // The store's watch and poll are paused, so only the runner's per-scan check can see the edit: the
    // wait failing (its timeout, several 1 s scan intervals) is what catches a runner that never looks.
    const after = await waitUntil(
      () => status(server),
      (s) => s.runner.appliedStrategyKey === 'momentum_v2',
      { what: 'periodic check', timeoutMs: 8_000 },
    );
    expect(after.activeStrategyKey).toBe('momentum_v2');
    expect(after.runner.inSync).toBe(true);
  });

  it('says clearly when the runner did not apply in time', async () => {
    const server = await startTestServer({ runner: false });
    const res = await server.gql(ACTIVATE, { key: 'range', wait: true, timeoutMs: 150 });
    expect(res.body.errors).toBeUndefined();
    const payload = res.body.data?.activateStrategy;
    expect(payload.configVersion).toBe(2);
    expect(payload.runnerWait).toMatchObject({ applied: false, timedOut: true, runnerState: 'STOPPED' });
    expect(payload.runnerWait.waitedMs).toBeGreaterThanOrEqual(140);
    expect(payload.runnerWait.message).toBe(
      'timed out after 150 ms: no live runner to wait for (none has reported); the change is saved, and a runner applies it when one starts',
    );
    // The same activation again is a no-op: nothing was written, and the wait must not say a change was saved.
    const again = (await server.gql(ACTIVATE, { key: 'range', wait: true, timeoutMs: 50 })).body.data?.activateStrategy;
    expect(again).toMatchObject({ configVersion: 2, changed: false });
    expect(again.runnerWait.message).toBe(
      'timed out after 50 ms: no live runner to wait for (none has reported); nothing changed (version 2 was already in force), and a runner applies it when one starts',
    );
    const bad = await server.gql(ACTIVATE, { key: 'gold', wait: true, timeoutMs: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.body.errors?.[0]?.message).toBe('Invalid timeoutMs: must be 1 to 300000');
    expect((await status(server)).configVersion).toBe(2); // refused before anything was written
  });

  it('updateConfig can wait for the runner too', async () => {
    const server = await startWithRunner();
    const res = await server.gql(
      `mutation { updateConfig(input: { activeStrategyKey: "range", tunableOverrides: { range: { band_period: 30 } } }, waitForRunner: true) {
        config { version } runnerWait { applied timedOut } status { runner { appliedConfigVersion appliedStrategyKey inSync } } } }`,
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.updateConfig).toEqual({
      config: { version: 2 },
      runnerWait: { applied: true, timedOut: false },
      status: { runner: { appliedConfigVersion: 2, appliedStrategyKey: 'range', inSync: true } },
    });
    const plain = await server.gql('mutation { updateConfig(input: { tradingEnabled: false }) { runnerWait { applied } } }');
    expect(plain.body.data?.updateConfig.runnerWait).toBeNull();
    // A no-op with a wait: nothing was written, and the answer says so (it said "runner applied it in 0 ms").
    const noop = await server.gql(
      'mutation { updateConfig(input: { tradingEnabled: false }, waitForRunner: true) { changed config { version } runnerWait { applied message } } }',
    );
    expect(noop.body.data?.updateConfig).toEqual({
      changed: false,
      config: { version: 3 },
      runnerWait: { applied: true, message: 'runner applied version 3 (nothing changed: it was already in force)' },
    });
  });
});
