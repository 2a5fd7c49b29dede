import { writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RunnerState } from '../../src/runner/state.js';
import { fileRunnerStatePublisher, fileRunnerStateSource, RUNNER_STATE_FILE } from '../../src/runner/state-file.js';
import { iso, runnerState, T0 } from '../helpers/fake-runners.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const state = (scanCount: number, stopped = false) => ({ id: 'test', scanCount, stopped }) as unknown as RunnerState;

const onDisk = async (dir: string) => ({
  state: JSON.parse(await readFile(path.join(dir, RUNNER_STATE_FILE), 'utf8')) as { scanCount: number; stopped: boolean },
  // Each write is a new file renamed into place: a new inode per write.
  ino: (await stat(path.join(dir, RUNNER_STATE_FILE))).ino,
  temps: (await readdir(dir)).filter((n) => n.endsWith('.tmp')),
});

/** Lets real file-system work (not timers) finish: several round trips through libuv. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await readdir('/');
};

afterEach(() => {
  vi.useRealTimers();
});

describe('runner state file beside an API: written at most once per interval, the latest state wins', () => {
  it('the first state goes at once; states within the interval wait for it and only the latest is written', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const dir = await tempRuntimeDir();
    const publisher = fileRunnerStatePublisher(dir, { minIntervalMs: 2000 });
    await publisher.publish(state(1));
    const first = await onDisk(dir);
    expect(first.state.scanCount).toBe(1);

    let written = 0;
    const second = publisher.publish(state(2)).then(() => written++);
    const third = publisher.publish(state(3)).then(() => written++);
    await settle();
    await vi.advanceTimersByTimeAsync(1999);
    await settle();
    // Not yet: the file is still the first state, the same file (no write since), nobody answered.
    expect(await onDisk(dir)).toEqual(first);
    expect(written).toBe(0);

    await vi.advanceTimersByTimeAsync(1);
    await Promise.all([second, third]);
    const after = await onDisk(dir);
    expect(after.state.scanCount).toBe(3);
    expect(after.temps).toEqual([]);
    expect(written).toBe(2);
    await publisher.close();
  });

  it('a stopped state, or close(), does not wait for the interval', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const dir = await tempRuntimeDir();
    const publisher = fileRunnerStatePublisher(dir, { minIntervalMs: 60_000 });
    await publisher.publish(state(1));
    const waiting = publisher.publish(state(2));
    await settle();
    expect((await onDisk(dir)).state.scanCount).toBe(1);
    // The runner's stop: its final state, then close(); no timer is advanced.
    await publisher.publish(state(3, true));
    await waiting;
    expect((await onDisk(dir)).state).toEqual({ id: 'test', scanCount: 3, stopped: true });

    const again = fileRunnerStatePublisher(dir, { minIntervalMs: 60_000 });
    await again.publish(state(4));
    const pending = again.publish(state(5));
    await settle();
    await again.close();
    await pending;
    expect((await onDisk(dir)).state.scanCount).toBe(5);
  });

  it('without an interval (a runner in its own process: the file is how the API hears it) every state is written as it comes', async () => {
    const dir = await tempRuntimeDir();
    const publisher = fileRunnerStatePublisher(dir);
    await publisher.publish(state(1));
    const first = await onDisk(dir);
    await publisher.publish(state(2));
    const second = await onDisk(dir);
    expect(second.state.scanCount).toBe(2);
    expect(second.ino).not.toBe(first.ino);
    await publisher.close();
  });
});

describe('runner state file that cannot be written', () => {
  it('says so once (not every heartbeat), and again when it is written once more; publishing never fails', async () => {
    const parent = await tempRuntimeDir();
    const dir = path.join(parent, 'rt');
    await writeFile(dir, 'a file where the runtime dir should be'); // ENOTDIR for every write under it (root ignores modes)
    const warnings: string[] = [];
    const infos: string[] = [];
    const publisher = fileRunnerStatePublisher(dir, { warn: (m) => warnings.push(m), info: (m) => infos.push(m) });
    await publisher.publish(state(1));
    await publisher.publish(state(2));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^runner state could not be written to .*\/rt\/runner-state\.json \(.*ENOTDIR\): the API will show this runner STALE until it can; the runner scans on$/,
    );
    await rm(dir);
    await mkdir(dir);
    await publisher.publish(state(3));
    // The end of the spell is INFO: a WARN line saying all is well kept a log alert firing.
    expect(warnings).toHaveLength(1);
    expect(infos).toEqual([`runner state is written to ${path.join(dir, RUNNER_STATE_FILE)} again`]);
    expect((await onDisk(dir)).state.scanCount).toBe(3);
    await publisher.close();
  });

  it("beside the API that reads the runner in process (serve's own runner) it does not say the API will show it STALE", async () => {
    const parent = await tempRuntimeDir();
    const dir = path.join(parent, 'rt');
    await writeFile(dir, 'a file where the runtime dir should be');
    const warnings: string[] = [];
    const publisher = fileRunnerStatePublisher(dir, { readInProcess: true, warn: (m) => warnings.push(m) });
    await publisher.publish(state(1));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).not.toContain('STALE');
    expect(warnings[0]).toMatch(
      /^runner state could not be written to .*\/rt\/runner-state\.json \(.*ENOTDIR\): this process's API reads the runner directly and shows it as it is; only the file, and whoever reads it directly, is behind until it can be written; the runner scans on$/,
    );
    await publisher.close();
  });
});

describe('runner state file that cannot be read (the API following a runner in another process)', () => {
  it('says so once at WARN, and once at INFO when it is read again', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, RUNNER_STATE_FILE);
    await mkdir(file); // refused: "runner-state.json is a directory" (root ignores modes)
    const warnings: string[] = [];
    const infos: string[] = [];
    const source = await fileRunnerStateSource(dir, { pollMs: 20, warn: (m) => warnings.push(m), info: (m) => infos.push(m) });
    try {
      // The first read (before the source exists) is silent; a change of the file is what is reported.
      await rm(file, { recursive: true });
      await mkdir(file);
      await vi.waitFor(() => expect(warnings).toHaveLength(1), { timeout: 5_000, interval: 20 });
      expect(warnings[0]).toMatch(/^runner state .*runner-state\.json refused: .*is a directory/);
      await rm(file, { recursive: true });
      await writeFile(file, `${JSON.stringify({ id: 'r' })}\n`);
      await vi.waitFor(() => expect(infos).toEqual([`runner state ${file} is read again`]), { timeout: 5_000, interval: 20 });
      // Read, but not a runner's state: that is said too (once; after the info when the poll saw the file gone first), and it shows no runner.
      await vi.waitFor(() => expect(warnings).toHaveLength(2), { timeout: 5_000, interval: 20 });
      expect(warnings[1]).toMatch(
        /^runner state .*runner-state\.json is not a runner's state \(host: .*\); no runner is shown from it until it is$/,
      );
      expect(source.list()).toEqual([]);
      await new Promise((r) => setTimeout(r, 100)); // five polls
      expect(warnings).toHaveLength(2);
      expect(infos).toHaveLength(1);
    } finally {
      source.close();
    }
  });
});

describe('runner state file read afresh on demand (refresh)', () => {
  it('after refresh() the source holds what the file holds, without waiting for a watch event or the poll', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, RUNNER_STATE_FILE);
    await writeFile(file, `${JSON.stringify(runnerState('r1', T0))}\n`);
    // No poll within the test: only the watch, or refresh, can read the file again.
    const source = await fileRunnerStateSource(dir, { pollMs: 3_600_000 });
    try {
      expect(source.list().map((s) => s.heartbeatAt)).toEqual([iso(T0)]);
      writeFileSync(file, `${JSON.stringify(runnerState('r1', T0 + 1000))}\n`);
      await source.refresh?.();
      expect(source.list().map((s) => s.heartbeatAt)).toEqual([iso(T0 + 1000)]);
      // Asked again while nothing changed: the same state object (a fleet compares states by identity).
      const held = source.list()[0];
      await source.refresh?.();
      expect(source.list()[0]).toBe(held);
    } finally {
      source.close();
    }
  });
});
