import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { activateStrategy } from '../../src/config/changes.js';
import { ConfigWriteError } from '../../src/config/errors.js';
import { inProcessIo, workerIo } from '../../src/config/file-io.js';
import { openFileConfigStore } from '../../src/config/file-store.js';
import { nodeFileSystem } from '../../src/fs/file-system.js';
import type { LoadListener } from '../../src/heap-tuning.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { runTurnPolls, turnPollsDue } from '../../src/turn-polls.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { ROOT } from '../helpers/server.js';

const by = { actor: 'io-test' };
const KEYS = ['gold', 'range', 'momentum', 'eur_usd_5m_safe'];
const auditVersions = async (dir: string) =>
  (await readFile(path.join(dir, 'audit.log'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { version: number }).version);

describe('the file store I/O worker', () => {
  it('serves reads and group writes once started (the default file system), with the same results', async () => {
    const dir = await tempRuntimeDir();
    const store = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir });
    expect(store.ioKind).toBe('in-process'); // nothing written before start(), and start's own writes in process
    await store.start();
    expect(store.ioKind).toBe('worker');
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => store.commit(activateStrategy(KEYS[i % KEYS.length]!, by))));
    expect(results.map((r) => r.current.config.version)).toEqual(Array.from({ length: 12 }, (_, i) => i + 2));
    expect(await auditVersions(dir)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toContain('version: 13\n');
    // A hand edit is read through the worker too.
    await writeFile(
      path.join(dir, 'config.yaml'),
      'active_strategy_key: range\ntrading_enabled: false\nscan_interval_seconds: 30\nversion: 40\nupdated_at: 2026-11-01T00:00:00Z\n',
    );
    await store.refresh();
    expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'range', tradingEnabled: false, version: 40 });
    expect(store.ioKind).toBe('worker');
    await store.close();
  });

  it('a failure in the worker refuses the group, puts the config back and names the step', async () => {
    const dir = await tempRuntimeDir();
    const store = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir });
    await store.start();
    expect(store.ioKind).toBe('worker');
    const before = await readFile(path.join(dir, 'config.yaml'), 'utf8');
    const audit = path.join(dir, 'audit.log');
    const trail = await readFile(audit);
    // The trail cannot be appended to (a directory where the file was): the config written first must go back.
    await rm(audit);
    await mkdir(audit);
    const results = await Promise.all(['gold', 'range'].map((k) => store.commit(activateStrategy(k, by)).catch((e: unknown) => e)));
    for (const r of results) {
      expect(r).toBeInstanceOf(ConfigWriteError);
      expect(r).toMatchObject({ step: 'audit open', errno: 'EISDIR' });
    }
    expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toBe(before);
    expect(store.state().config.config.version).toBe(1);
    await rm(audit, { recursive: true });
    await writeFile(audit, trail);
    expect((await store.commit(activateStrategy('gold', by))).current.config.version).toBe(2);
    expect(await auditVersions(dir)).toEqual([1, 2]);
    await store.close();
  });

  it('its thread is let go once a burst is over, with nothing waiting on it; reads then run in process, writes too while the loop is quiet, and load or a write starts it again', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    const audit = path.join(dir, 'audit.log');
    await writeFile(file, 'version: 1\n');
    let listener: LoadListener | undefined;
    const followLoad = (l: LoadListener) => {
      listener = l;
      return () => {
        listener = undefined;
      };
    };
    // The in-process I/O, counting the writes it makes; the loop's load as the test says.
    const inProcess = inProcessIo(nodeFileSystem);
    let writesInProcess = 0;
    const fallback = {
      ...inProcess,
      writeGroup: (plan: Parameters<typeof inProcess.writeGroup>[0]) => {
        writesInProcess += 1;
        return inProcess.writeGroup(plan);
      },
    };
    let busy = false;
    // The restart after a write made in process, on the test's clock: it fires when the test says.
    const restarts: { start: () => void; ms: number }[] = [];
    const later = (start: () => void, ms: number) => {
      const due = { start, ms };
      restarts.push(due);
      return () => {
        const at = restarts.indexOf(due);
        if (at >= 0) restarts.splice(at, 1);
      };
    };
    const fireRestarts = () => {
      for (const due of restarts.splice(0)) due.start();
    };
    const io = workerIo(fallback, { followLoad, loopBusy: () => busy, later });
    const load = () => listener ?? expect.unreachable('workerIo follows the load');
    let version = 1;
    const write = async () => {
      version += 1;
      await io.writeGroup({
        writes: [{ file, text: `version: ${version}\n`, previous: `version: ${version - 1}\n` }],
        audit: { file: audit, text: `{"version":${version}}\n`, knownSize: 0 },
        checks: {},
      });
      expect(await readFile(file, 'utf8')).toBe(`version: ${version}\n`);
    };
    // Until the thread says it listens, writes on a quiet loop run in process: then they go to it.
    const listening = () =>
      expect
        .poll(
          async () => {
            const before = writesInProcess;
            await write();
            return writesInProcess === before;
          },
          { timeout: 10_000 },
        )
        .toBe(true);

    expect(io.threadRunning).toBe(true);
    // A write while the thread is still starting, on a quiet loop, does not wait for it.
    await write();
    expect(writesInProcess).toBe(1);
    expect(restarts.map((due) => due.ms)).toEqual([100]);
    fireRestarts();
    await listening();
    fireRestarts();
    // A read in flight keeps the thread: nothing waiting on it is dropped.
    const inFlight = io.read([file], {});
    load().over?.();
    expect(io.threadRunning).toBe(true);
    expect(await inFlight).toEqual([`version: ${version}\n`]);
    load().over?.();
    expect(io.threadRunning).toBe(false);
    expect(io.kind).toBe('worker');
    // Reads (the store's check for hand edits, every second) run in process and leave it let go.
    expect(await io.read([file], {})).toEqual([`version: ${version}\n`]);
    expect(io.threadRunning).toBe(false);
    // A write on a quiet loop runs in process at once; the thread is started a little after it.
    const inProcessBefore = writesInProcess;
    await write();
    expect(writesInProcess).toBe(inProcessBefore + 1);
    expect(io.threadRunning).toBe(false);
    expect(restarts.map((due) => due.ms)).toEqual([100]);
    fireRestarts();
    await expect.poll(() => io.threadRunning).toBe(true);
    await listening();
    fireRestarts();
    // A write on a busy loop starts a let-go thread and waits for it (in process it would wait behind the load).
    load().over?.();
    expect(io.threadRunning).toBe(false);
    busy = true;
    const inProcessThen = writesInProcess;
    await write();
    expect(writesInProcess).toBe(inProcessThen);
    expect(io.threadRunning).toBe(true);
    // Load beginning starts it before any write needs it (here while the one let go is still ending: once it has).
    load().over?.();
    expect(io.threadRunning).toBe(false);
    busy = false;
    load().begun?.();
    await expect.poll(() => io.threadRunning).toBe(true);
    // A restart still due when the store closes is cancelled.
    load().over?.();
    await write();
    expect(restarts).toHaveLength(1);
    await io.close();
    expect(restarts).toHaveLength(0);
    expect(listener).toBeUndefined();
    expect(io.kind).toBe('in-process');
    expect(io.threadRunning).toBe(false);
  });

  it("takes a write's reply between two requests of the same turn when the adapter polls for it, not only on the event loop's next turn", async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    const audit = path.join(dir, 'audit.log');
    await writeFile(file, 'version: 1\n');
    const io = workerIo(inProcessIo(nodeFileSystem), { loopBusy: () => true });
    let version = 1;
    const plan = () => {
      version += 1;
      return {
        writes: [{ file, text: `version: ${version}\n`, previous: `version: ${version - 1}\n` }],
        audit: { file: audit, text: `{"version":${version}}\n`, knownSize: 0 },
        checks: {},
      };
    };
    // The first write on a busy loop waits for the thread to listen: after it, replies come on the thread's port.
    await io.writeGroup(plan());
    expect(turnPollsDue()).toBe(false);
    let answered = false;
    const written = io.writeGroup(plan()).then((done) => {
      answered = true;
      return done;
    });
    // A reply is due: the adapter polls for it as each request arrives.
    expect(turnPollsDue()).toBe(true);
    // One long turn: the test never yields to the event loop, and polls as the adapter would between requests.
    const deadline = Date.now() + 10_000;
    while (turnPollsDue() && Date.now() < deadline) runTurnPolls();
    // Taken by a poll within the turn (the event loop has not run since): nothing is due any more.
    expect(turnPollsDue()).toBe(false);
    expect(answered).toBe(false); // its promise settles as the turn's callback returns (the microtasks)
    await expect(written).resolves.toMatchObject({ auditSize: expect.any(Number) });
    expect(answered).toBe(true);
    expect(await readFile(file, 'utf8')).toBe(`version: ${version}\n`);
    // The poll is gone with the thread.
    const last = io.writeGroup(plan());
    expect(turnPollsDue()).toBe(true);
    await last;
    expect(turnPollsDue()).toBe(false);
    await io.close();
    expect(turnPollsDue()).toBe(false);
  });

  it('a write waiting for the thread keeps the process alive (nothing else does while a server stops)', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, 'version: 1\n');
    const module = (name: string) => JSON.stringify(pathToFileURL(path.join(ROOT, name)).href);
    // The thread and its ports are unref'd; the write is all that is left. Were the reply port not
    // ref'd while it is due, the event loop would end first: exit 13, the top-level await unsettled.
    const script = `
      const { inProcessIo, workerIo } = await import(${module('src/config/file-io.ts')});
      const { nodeFileSystem } = await import(${module('src/fs/file-system.ts')});
      const io = workerIo(inProcessIo(nodeFileSystem), { loopBusy: () => true });
      const done = await io.writeGroup({
        writes: [{ file: ${JSON.stringify(file)}, text: 'version: 2\\n', previous: 'version: 1\\n' }],
        audit: { file: ${JSON.stringify(path.join(dir, 'audit.log'))}, text: '{"version":2}\\n', knownSize: 0 },
        checks: {},
      });
      console.log('written', done.auditSize);
      await io.close();`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect({ code, out: out.trim() }).toEqual({ code: 0, out: 'written 14' });
    expect(await readFile(file, 'utf8')).toBe('version: 2\n');
  });

  it('an injected file system (fault tests) keeps everything in process', async () => {
    const dir = await tempRuntimeDir();
    const store = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir, fs: { ...nodeFileSystem } });
    await store.start();
    expect(store.ioKind).toBe('in-process');
    expect((await store.commit(activateStrategy('gold', by))).current.config.version).toBe(2);
    await store.close();
  });
});
