import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterEach, expect, it } from 'vitest';
import { machineIdentity, pidNamespace, processStart } from '../../src/lock.js';
import type { RunnerState } from '../../src/runner/state.js';
import type { RunnerIdHolder } from '../../src/store-etcd/runners.js';
import { describeWithEtcd, type EtcdCluster, startEtcd } from '../helpers/etcd.js';
import { freshPrefix, openReplica, rawClient } from '../helpers/etcd-stores.js';

let shared: EtcdCluster | null = null;
const cluster = async () => {
  shared ??= await startEtcd({ lifetime: 'file' });
  return shared;
};

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** A process that runs until the test ends; its pid and start. */
async function liveProcess(): Promise<{ pid: number; started: string | undefined }> {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  children.push(child);
  await new Promise((resolve) => child.once('spawn', resolve));
  const pid = child.pid as number;
  return { pid, started: processStart(pid) };
}

/** The pid and start of a process that has exited (killed -9, as a crashed runner is). */
async function deadProcess(): Promise<{ pid: number; started: string | undefined }> {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('spawn', resolve));
  const pid = child.pid as number;
  const started = processStart(pid);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return { pid, started };
}

/**
 * A zombie: a process killed that its parent has not reaped (yet). `kill(pid, 0)` still succeeds
 * and /proc still lists it, with its start: only its state (Z) says it is dead.
 */
async function zombieProcess(): Promise<{ pid: number; started: string | undefined }> {
  // The shell starts a child, then becomes `sleep`, which never reaps it.
  const parent = spawn('sh', ['-c', 'sleep 600 & echo $!; exec sleep 600'], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(parent);
  const pid = Number(await new Promise<string>((resolve) => parent.stdout?.once('data', (d: Buffer) => resolve(d.toString()))));
  const started = processStart(pid);
  // Killed while the shell itself still ran (before its exec), the child was reaped by it, and its
  // /proc entry was gone ("ENOENT: ... /proc/<pid>/stat", a loaded run): wait for the exec first.
  const execed = () => readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim() === 'sleep';
  for (let i = 0; i < 200 && !execed(); i += 1) await new Promise((r) => setTimeout(r, 10));
  expect(execed()).toBe(true);
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 200 && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); i += 1) await new Promise((r) => setTimeout(r, 10));
  expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).toMatch(/\) Z /);
  return { pid, started };
}

/** A state as a runner publishes it, heartbeating every minute: a claim that waits 3 heartbeats waits 3 minutes. */
function published(patch: Partial<RunnerState>): RunnerState {
  const now = new Date().toISOString();
  return {
    id: 'acct-fx',
    host: hostname(),
    pid: 1,
    instruments: null,
    feed: 'sim',
    startedAt: now,
    heartbeatAt: now,
    heartbeatIntervalMs: 60_000,
    stopped: false,
    applied: null,
    lastScanAt: null,
    lastSignals: [],
    error: null,
    ...patch,
  };
}

/** What claim did within `ms`: resolved, rejected (with the error), or still waiting. */
async function outcomeWithin(claim: Promise<void>, ms: number): Promise<'resolved' | 'waiting' | Error> {
  return Promise.race([
    claim.then(
      () => 'resolved' as const,
      (err: Error) => err,
    ),
    new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), ms)),
  ]);
}

/** Linux: pids, their starts and namespaces can be checked (/proc). */
const onLinux = process.platform === 'linux' && pidNamespace() !== undefined;

describeWithEtcd('claiming a runner id whose state was published from this host (real etcd)', () => {
  const self = { host: hostname(), pid: process.pid };
  const pidns = pidNamespace();
  const { bootId, machineId, bootedAt } = machineIdentity();
  /** Another machine's boot: a machine that shares this one's host name (and, in the default pid namespace, its pidns). */
  const otherBoot = '00000000-0000-4000-8000-000000000001';

  async function claimOver(state: RunnerState) {
    const c = await cluster();
    const prefix = freshPrefix();
    const key = `/${prefix}/runners/acct-fx`;
    await rawClient(c).put(key).value(JSON.stringify(state));
    const warnings: string[] = [];
    const replica = await openReplica(c, prefix, { warn: (message) => warnings.push(message) });
    const publisher = replica.runnerPublisher('acct-fx', () => {});
    return { claim: publisher.claim?.(self) ?? Promise.resolve(), warnings, key, raw: rawClient(c) };
  }

  it.runIf(onLinux)(
    "a holder killed -9 (its pid gone), a zombie, or a pid now another process's: the id is taken over at once, saying why",
    async () => {
      const dead = await deadProcess();
      const zombie = await zombieProcess();
      const other = await liveProcess();
      const cases = [
        ['gone', published({ pid: dead.pid, processStart: dead.started, pidns })],
        ['zombie', published({ pid: zombie.pid, processStart: zombie.started, pidns })],
        // The pid runs, but a process that started at another time: the holder is gone, its pid reused.
        ['reused', published({ pid: other.pid, processStart: `${other.started}0`, pidns })],
      ] as const;
      for (const [what, state] of cases) {
        const { claim, warnings } = await claimOver(state);
        // Without the pid check each of these waited 3 heartbeats (3 minutes here).
        expect([what, await outcomeWithin(claim, 5000)]).toEqual([what, 'resolved']);
        expect(warnings).toEqual([
          `etcd store: runner id acct-fx is published by process ${state.pid} on ${hostname()}, which is not running (its pid is gone or another process's now); taking the id over`,
        ]);
      }
    },
  );

  it.runIf(onLinux)(
    'a holder whose pid runs the process that published and that beat within 3 heartbeats: refused at once, saying how it is known',
    async () => {
      const live = await liveProcess();
      // Its last heartbeat 90 s ago, at 60 s heartbeats: within the 3 (180 s) a reader calls it RUNNING.
      const state = published({
        pid: live.pid,
        processStart: live.started,
        pidns,
        heartbeatAt: new Date(Date.now() - 90_000).toISOString(),
      });
      const { claim, warnings } = await claimOver(state);
      // Without the check it was watched for 3 heartbeats (3 minutes here) before the refusal.
      const outcome = await outcomeWithin(claim, 5000);
      expect(outcome).toEqual(expect.objectContaining({ name: 'RunnerIdInUseError' }));
      expect((outcome as Error).message).toMatch(
        new RegExp(
          `^runner id acct-fx is in use by process ${live.pid} on ${hostname()}, which is running \\(its pid runs on this host, and it published a heartbeat 9\\d\\.\\d s ago\\)$`,
        ),
      );
      expect(warnings).toEqual([]);
    },
  );

  it.runIf(onLinux)(
    'a holder that runs but has stopped beating (frozen), one on another host, on another machine with this host name (another boot id) or in another pid namespace, and an older state with no namespace or start: watched as before',
    async () => {
      const live = await liveProcess();
      const dead = await deadProcess();
      // Silent for 4 heartbeats: a runner frozen (SIGSTOP, a debugger) is taken over after the watch, and stops when it resumes.
      const silent = new Date(Date.now() - 240_000).toISOString();
      const cases = [
        ['alive, silent', published({ pid: live.pid, processStart: live.started, pidns, heartbeatAt: silent })],
        ['alive, no start recorded', published({ pid: live.pid, pidns })],
        ['another host', published({ pid: dead.pid, processStart: dead.started, pidns, host: 'elsewhere.example' })],
        ['another pid namespace', published({ pid: dead.pid, processStart: dead.started, pidns: 'pid:[1]' })],
        ['no namespace recorded', published({ pid: dead.pid, processStart: dead.started })],
        // Another machine with this host name, in the default pid namespace as this process: its pid
        // is gone here (it runs there). Without the boot id this was "not running", taken over at once.
        [
          'another machine with this host name',
          published({ pid: dead.pid, processStart: `${otherBoot}:1`, pidns, bootId: otherBoot, machineId: 'f'.repeat(32) }),
        ],
        // ... with this process's own pid there: not "the previous process of this pid".
        [
          'another machine with this host name and pid',
          published({ pid: process.pid, processStart: `${otherBoot}:1`, pidns, bootId: otherBoot, machineId: 'f'.repeat(32) }),
        ],
        // A clone (same machine id, another boot) beating since this machine booted: not an earlier boot of this one.
        ['a clone of this machine', published({ pid: dead.pid, processStart: `${otherBoot}:1`, pidns, bootId: otherBoot, machineId })],
        // An older version's state (no bootId, no machineId) from another machine with this host name:
        // the boot id in its process start tells. Without it, its pid (gone here, or this process's
        // own) had it "not running", taken over at once while it ran there.
        ['an older state from another machine with this host name', published({ pid: dead.pid, processStart: `${otherBoot}:1`, pidns })],
        [
          'an older state from another machine with this host name and pid',
          published({ pid: process.pid, processStart: `${otherBoot}:1`, pidns }),
        ],
      ] as const;
      for (const [what, state] of cases) {
        const { claim, warnings, key, raw } = await claimOver(state);
        expect([what, await outcomeWithin(claim, 1000)]).toEqual([what, 'waiting']);
        expect(warnings).toEqual([
          `etcd store: runner id acct-fx is published by process ${state.pid} on ${state.host}; waiting up to 3 heartbeats to see whether it still runs`,
        ]);
        // A heartbeat from it: it runs, the id is refused.
        await raw.put(key).value(JSON.stringify({ ...state, heartbeatAt: new Date(Date.now() + 1000).toISOString() }));
        expect([what, await outcomeWithin(claim, 5000)]).toEqual([what, expect.objectContaining({ name: 'RunnerIdInUseError' })]);
      }
    },
  );

  it.runIf(onLinux)(
    "another container's state with this host name and this pid (each is pid 1): another process's, watched and refused, never taken for ours",
    async () => {
      const mine = processStart(process.pid);
      // Its own namespace (and start): a container beside this one, sharing the host name.
      const container = published({ pid: process.pid, processStart: `${mine}7`, pidns: 'pid:[4026532999]' });
      const { claim, warnings, key, raw } = await claimOver(container);
      // Without the pidns check this resolved at once, silently: both then ran under one id.
      expect(await outcomeWithin(claim, 1000)).toBe('waiting');
      expect(warnings).toEqual([
        `etcd store: runner id acct-fx is published by process ${process.pid} on ${hostname()}; waiting up to 3 heartbeats to see whether it still runs`,
      ]);
      await raw.put(key).value(JSON.stringify({ ...container, heartbeatAt: new Date(Date.now() + 1000).toISOString() }));
      expect(await outcomeWithin(claim, 5000)).toEqual(expect.objectContaining({ name: 'RunnerIdInUseError' }));
      // This very process's own state (a restart of its runner, a lost answer): ours, no wait, no warning.
      const own = await claimOver(published({ pid: process.pid, processStart: mine, pidns }));
      expect(await outcomeWithin(own.claim, 1000)).toBe('resolved');
      expect(own.warnings).toEqual([]);
      // This pid in this namespace with another start: the process that had this pid before, gone.
      const previous = await claimOver(published({ pid: process.pid, processStart: `${mine}7`, pidns }));
      expect(await outcomeWithin(previous.claim, 1000)).toBe('resolved');
      expect(previous.warnings).toEqual([
        `etcd store: runner id acct-fx is published by process ${process.pid} on ${hostname()}, which is not running (its pid is gone or another process's now); taking the id over`,
      ]);
    },
  );

  it.runIf(onLinux)(
    "a runner whose key another container with this host name and pid took over stops publishing: its state is not taken for the runner's own",
    async () => {
      const c = await cluster();
      const prefix = freshPrefix();
      const key = `/${prefix}/runners/acct-fx`;
      const told: RunnerIdHolder[] = [];
      const publisher = (await openReplica(c, prefix)).runnerPublisher('acct-fx', (holder) => told.push(holder));
      await publisher.publish(published({ pid: process.pid }));
      // The other container (pid 1 there as here) takes the id over while this runner is not heard from.
      const container = published({ pid: process.pid, processStart: `${processStart(process.pid)}7`, pidns: 'pid:[4026532999]' });
      await rawClient(c).put(key).value(JSON.stringify(container));
      await publisher.publish(published({ pid: process.pid, scanCount: 1 }));
      // Without the check this runner adopted the other's state as its own and wrote over it.
      expect(told).toEqual([{ pid: process.pid, host: hostname(), how: 'taken-over' }]);
      expect(await rawClient(c).get(key).json()).toEqual(container);
      await publisher.close();
    },
  );

  it.runIf(onLinux && machineId !== undefined && bootedAt !== undefined)(
    'a state published from an earlier boot of this machine (its machine id, another boot id, last heartbeat before this boot) is taken over at once, whatever its pid namespace',
    async () => {
      // A container's runner (its own pid namespace, not checkable by pid) before the machine rebooted.
      const before = published({
        pid: 1,
        processStart: `${otherBoot}:1`,
        pidns: 'pid:[4026532999]',
        bootId: otherBoot,
        machineId,
        heartbeatAt: new Date((bootedAt as number) - 60_000).toISOString(),
      });
      const { claim, warnings } = await claimOver(before);
      // Without the boot and machine ids it was watched for 3 heartbeats (3 minutes here).
      expect(await outcomeWithin(claim, 5000)).toBe('resolved');
      expect(warnings).toEqual([
        `etcd store: runner id acct-fx is published by process 1 on ${hostname()}, which is not running (it published before this machine last booted); taking the id over`,
      ]);
    },
  );

  it.runIf(onLinux)('a runner publishes its process start, pid namespace, boot and machine with its state', async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    const publisher = (await openReplica(c, prefix)).runnerPublisher('acct-fx', () => {});
    await publisher.publish(published({ pid: process.pid }));
    const stored = (await rawClient(c).get(`/${prefix}/runners/acct-fx`).json()) as RunnerState;
    expect(stored).toMatchObject({ pid: process.pid, processStart: processStart(process.pid), pidns, bootId });
    expect(stored.bootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(stored.machineId).toBe(machineId);
    await publisher.close();
  });
});
