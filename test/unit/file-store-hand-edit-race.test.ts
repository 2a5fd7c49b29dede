import { readdirSync, readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { activateStrategy } from '../../src/config/changes.js';
import { openFileConfigStore } from '../../src/config/file-store.js';
import type { StoreEvent } from '../../src/config/store.js';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { fsError } from '../helpers/faulty-fs.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const by = { actor: 'race-test' };

const auditLines = (dir: string) =>
  readFileSync(path.join(dir, 'audit.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { version: number; operation: string; subject: string });

const isAside = (file: string) => file.endsWith('.aside.tmp');
/** A temp file of a write (tempPathFor), not an aside. */
const isTemp = (file: string) => path.basename(file).startsWith('.') && file.endsWith('.tmp') && !isAside(file);
const dotFiles = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('.') && name.endsWith('.tmp'));

/**
 * The real file system; `land(from, to)`, once armed, picks the call (a rename or a link) just before
 * which a hand edit is renamed into place, exactly once: the race made deterministic. The edit is the
 * file as it was when armed with scan_interval_seconds 45, written whole and renamed into place
 * (README's way; `sed -i` does the same).
 */
function raceFs(land: (from: string, to: string) => boolean) {
  const state = { edits: 0, edit: null as string | null };
  const arm = async (file: string) => {
    state.edit = (await readFile(file, 'utf8')).replace('scan_interval_seconds: 30', 'scan_interval_seconds: 45');
  };
  const maybeEdit = async (from: string, to: string) => {
    if (state.edit === null || state.edits > 0 || !land(from, to)) return;
    state.edits += 1;
    const file = path.join(path.dirname(to), 'config.yaml');
    await writeFile(`${file}.edit`, state.edit);
    await rename(`${file}.edit`, file);
  };
  const fs: FileSystem = {
    ...nodeFileSystem,
    async rename(from, to) {
      await maybeEdit(from, to);
      await nodeFileSystem.rename(from, to);
    },
    async link(from, to) {
      await maybeEdit(from, to);
      await nodeFileSystem.link(from, to);
    },
  };
  return { fs, state, arm };
}

async function openStore(dir: string, fs: FileSystem) {
  const store = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir, fs });
  await store.start();
  return store;
}

describe('a hand edit renamed into place while a change is written is never replaced', () => {
  it.each([
    // After the check that the file still holds what the change was built on, just before the new
    // file goes in place: a check-then-rename renamed over it (never in force, never audited).
    [
      'just before the new file is put in place (after the check)',
      (from: string, to: string) => isTemp(from) && path.basename(to) === 'config.yaml',
    ],
    // Just before the file in place is taken away to be judged: what is taken is the edit, put back.
    ['just before the file in place is taken away to be judged', (_from: string, to: string) => isAside(to)],
  ])('%s: applied and audited first, the change built on it', async (_when, land) => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    const { fs, state, arm } = raceFs(land);
    const store = await openStore(dir, fs);
    await arm(file);
    const result = await store.commit(activateStrategy('gold', by));
    expect(state.edits).toBe(1);
    expect(result.changed).toBe(true);
    // Both in force and on disk: the person's edit and the change.
    expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'gold', scanIntervalSeconds: 45 });
    const text = await readFile(file, 'utf8');
    expect(text).toContain('scan_interval_seconds: 45');
    expect(text).toContain('active_strategy_key: gold');
    expect(auditLines(dir).map((l) => [l.operation, l.version])).toEqual([
      ['baseline', 1],
      ['handEdit', 2],
      ['activateStrategy', 3],
    ]);
    expect(dotFiles(dir)).toEqual([]);
    await store.close();
  });

  it('nor by the failed change put back: the audit append refused, the edit renamed in as the old file goes back stays, and is judged', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    let appendFails = false;
    let appendFailed = false;
    // After the audit append failed, the restore puts the old config back: the edit lands just before.
    const { fs: racing, state, arm } = raceFs((_from, to) => appendFailed && path.basename(to) === 'config.yaml');
    const fs: FileSystem = {
      ...racing,
      async open(target, flags, mode) {
        if (flags === 'a' && appendFails) {
          appendFailed = true;
          throw fsError('EIO', 'open', target);
        }
        return racing.open(target, flags, mode);
      },
    };
    const store = await openStore(dir, fs);
    await arm(file);
    appendFails = true;
    await expect(store.commit(activateStrategy('gold', by))).rejects.toMatchObject({ step: 'audit open', errno: 'EIO' });
    appendFails = false;
    expect(state.edits).toBe(1);
    // The person's file, as they wrote it: not the old one put back over it.
    const text = await readFile(file, 'utf8');
    expect(text).toContain('scan_interval_seconds: 45');
    expect(text).toContain('active_strategy_key: momentum');
    await store.refresh();
    expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'momentum', scanIntervalSeconds: 45 });
    expect(auditLines(dir).map((l) => l.operation)).toEqual(['baseline', 'handEdit']);
    expect(dotFiles(dir)).toEqual([]);
    await store.close();
  });

  it('a runner reading in the moment the file is taken away waits it out: no missing config reported, the new file taken', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    let runnerSawMissing: () => void = () => {};
    const sawMissing = new Promise<void>((resolve) => {
      runnerSawMissing = resolve;
    });
    const runnerFs: FileSystem = {
      ...nodeFileSystem,
      readFile: (target, checks) =>
        nodeFileSystem.readFile(target, checks).catch((err: unknown) => {
          if (target === file && (err as { code?: string }).code === 'ENOENT') runnerSawMissing();
          throw err;
        }),
    };
    let runnerRead: Promise<void> | null = null;
    // The API's write: the old file taken away, and before the new one is linked in, the runner reads.
    let runner: Awaited<ReturnType<typeof openFileConfigStore>> | null = null;
    const apiFs: FileSystem = {
      ...nodeFileSystem,
      async link(from, to) {
        if (runner && runnerRead === null && isTemp(from) && to === file) {
          runnerRead = runner.refresh();
          await sawMissing;
        }
        await nodeFileSystem.link(from, to);
      },
    };
    const api = await openStore(dir, apiFs);
    runner = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir, fs: runnerFs, auditHandEdits: false });
    await runner.start();
    const events: StoreEvent[] = [];
    runner.subscribe((event) => events.push(event));
    await api.commit(activateStrategy('gold', by));
    expect(runnerRead).not.toBeNull();
    await runnerRead;
    expect(events.filter((e) => e.type === 'invalid')).toEqual([]);
    expect(runner.problem()).toBeNull();
    // Its next look (the change answered: audited) takes the new file.
    await runner.refresh();
    expect(events.filter((e) => e.type === 'invalid')).toEqual([]);
    expect(runner.state().config.config.activeStrategyKey).toBe('gold');
    await runner.close();
    await api.close();
  });

  it('a runner starting in that moment waits it out too, rather than report config.yaml missing', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    const api = await openStore(dir, nodeFileSystem);
    await api.close();
    const text = await readFile(file, 'utf8');
    // Taken away (the directory changed just now), and back 50 ms later.
    const aside = path.join(dir, `.config.yaml.${process.pid}.000000000000.aside.tmp`);
    await rename(file, aside);
    const back = new Promise<void>((resolve) => setTimeout(() => void rename(aside, file).then(resolve), 50));
    const runner = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir, auditHandEdits: false });
    await back;
    expect(runner.problem()).toBeNull();
    expect(runner.state().config.digest).toBe(api.state().config.digest);
    expect(await readFile(file, 'utf8')).toBe(text);
    await runner.close();
  });

  it('a start finding config.yaml taken away by a write that was killed puts it back before reading it', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    const first = await openStore(dir, nodeFileSystem);
    await first.commit(activateStrategy('gold', by));
    const digest = first.state().config.digest;
    await first.close();
    const text = await readFile(file, 'utf8');
    // Killed between the take-away and the link: the file under its aside name, of a process long
    // gone, beside the new file under the paired temp name, not yet linked.
    await rename(file, path.join(dir, '.config.yaml.999999999.0123456789ab.aside.tmp'));
    await writeFile(path.join(dir, '.config.yaml.999999999.0123456789ab.tmp'), text.replace('gold', 'range'));
    const warnings: string[] = [];
    const store = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir, warn: (m) => warnings.push(m) });
    await store.start();
    expect(await readFile(file, 'utf8')).toBe(text);
    expect(store.state().config).toMatchObject({ digest, config: { activeStrategyKey: 'gold', version: 2 } });
    expect(warnings).toEqual([expect.stringContaining('put back from .config.yaml.999999999.0123456789ab.aside.tmp')]);
    // As if the write had stopped before it: no recovery line, nothing written again.
    expect(auditLines(dir).map((l) => l.operation)).toEqual(['baseline', 'activateStrategy']);
    expect(dotFiles(dir)).toEqual([]);
    await store.close();
  });
});
