import { readFileSync, watch, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { activateStrategy } from '../../src/config/changes.js';
import { type FileConfigStore, openFileConfigStore } from '../../src/config/file-store.js';
import { upsertPreset } from '../../src/config/preset-changes.js';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { tempRuntimeDir, writeWhole } from '../helpers/runtime-dir.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * The watch event of the store's own write (every change renames config.yaml into place) used to
 * start a refresh that read both files under the store's lock, so the next change waited behind it
 * (issue 10: activation -> runner applied, p99). The store now passes over an event whose file is
 * still exactly as its last write put it there; every other event, and the periodic check, refresh.
 */

/** Reads of `name` (config.yaml unless said) made through the store's file-system seam. */
function countingFs(name = 'config.yaml'): { fs: FileSystem; reads: () => number } {
  let reads = 0;
  const fs: FileSystem = {
    ...nodeFileSystem,
    readFile: (file, checks) => {
      if (path.basename(file) === name) reads += 1;
      return nodeFileSystem.readFile(file, checks);
    },
  };
  return { fs, reads: () => reads };
}

/** The next fs.watch event naming config.yaml in `dir`: the store's own watch is handed the same event in the same turn. */
function nextConfigEvent(dir: string): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watch(dir, (_event, name) => {
      if (name !== 'config.yaml') return;
      watcher.close();
      resolve();
    });
  });
}

/** Opens and starts a store on a fresh runtime dir; the periodic check far away, so only watch events refresh. */
async function startedStore(fs: FileSystem): Promise<{ store: FileConfigStore; dir: string; file: string }> {
  const dir = await tempRuntimeDir();
  const store = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir, fs, pollMs: 60_000 });
  await store.start();
  return { store, dir, file: path.join(dir, 'config.yaml') };
}

/** A change through the store, then its rename's watch event handled (and a turn after it, where a refresh would have read). */
async function activate(store: FileConfigStore, dir: string, key: string): Promise<void> {
  const seen = nextConfigEvent(dir);
  const result = await store.commit(activateStrategy(key, { actor: 'test' }));
  expect(result.changed).toBe(true);
  await seen;
  await new Promise((r) => setImmediate(r));
}

describe("the file store and its own write's watch event", () => {
  it('reads nothing for the event of its own rename: a change reads config.yaml once, for its check before the rename', async () => {
    const counting = countingFs();
    const { store, dir } = await startedStore(counting.fs);
    // The first change reads the files (nothing is known of them yet).
    await activate(store, dir, 'range');
    const before = counting.reads();
    const keys = ['gold', 'range', 'gold', 'range', 'gold'];
    for (const key of keys) await activate(store, dir, key);
    // One read per change (its check that the file still holds what it was judged on); none for the events.
    expect(counting.reads() - before).toBe(keys.length);
    expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'gold', version: 7 });
    await store.close();
  });

  it('looks at what each write wrote only: a file it wrote long ago and a person edited since is not read again after every write', async () => {
    const counting = countingFs('strategies.yaml');
    const { store, dir } = await startedStore(counting.fs);
    try {
      const presetsFile = path.join(dir, 'strategies.yaml');
      await store.commit(upsertPreset({ key: 'gold_fast', base: 'gold', name: 'Gold fast' }, { actor: 'test' }));
      await store.watch?.reopened();
      const written = store.state().presets.digest;
      // A person's edit (a comment) of the file the store wrote: no longer as the store placed it.
      await writeWhole(presetsFile, `${await readFile(presetsFile, 'utf8')}# kept for the desk\n`);
      await waitUntil(
        async () => store.state().presets.digest,
        (digest) => digest !== written,
        { what: 'the hand edit of strategies.yaml read (the periodic check is 60 s away)', timeoutMs: 5_000 },
      );
      const before = counting.reads();
      const keys = ['range', 'gold', 'range', 'gold'];
      for (const key of keys) {
        await activate(store, dir, key);
        await store.watch?.reopened();
        await new Promise((r) => setImmediate(r));
      }
      // Once per change (its check that strategies.yaml still holds what it was judged on); no look
      // at it when the watch opens again, which would have found it not as placed and read both files.
      expect(counting.reads() - before).toBe(keys.length);
    } finally {
      await store.close();
    }
  });

  it('still sees a hand edit renamed into place right after its own write, by the edit’s own event', async () => {
    const { store, file } = await startedStore(nodeFileSystem);
    await store.commit(activateStrategy('range', { actor: 'test' }));
    // Written before the store has looked at its own rename's event.
    await writeWhole(file, (await readFile(file, 'utf8')).replace('trading_enabled: true', 'trading_enabled: false'));
    await waitUntil(
      async () => store.state().config.config.tradingEnabled,
      (enabled) => enabled === false,
      { what: 'the hand edit in force (the periodic check is 60 s away)', timeoutMs: 5_000 },
    );
    expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'range', version: 3 });
    await store.close();
  });

  it('sees a hand edit made before its watch is open again (no event for it) when the watch opens, not at the periodic check', async () => {
    const { store, file } = await startedStore(nodeFileSystem);
    try {
      await store.commit(activateStrategy('range', { actor: 'test' }));
      // In the turn the change is answered in: the watch, closed for the write, is not open yet (it
      // opens at the next timers phase), so this edit makes no event the store hears.
      writeFileSync(file, readFileSync(file, 'utf8').replace(/scan_interval_seconds: \d+/, 'scan_interval_seconds: 17'));
      await store.watch?.reopened();
      await waitUntil(
        async () => store.state().config.config.scanIntervalSeconds,
        (seconds) => seconds === 17,
        { what: 'the hand edit in force (the periodic check is 60 s away)', timeoutMs: 5_000 },
      );
      expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'range', scanIntervalSeconds: 17 });
    } finally {
      await store.close();
    }
  });

  it('still sees a hand edit written in place right after its own write (same inode, another size)', async () => {
    const { store, file } = await startedStore(nodeFileSystem);
    await store.commit(activateStrategy('range', { actor: 'test' }));
    await writeFile(file, `${(await readFile(file, 'utf8')).replace(/scan_interval_seconds: \d+/, 'scan_interval_seconds: 15')}\n`);
    await waitUntil(
      async () => store.state().config.config.scanIntervalSeconds,
      (seconds) => seconds === 15,
      { what: 'the hand edit in force (the periodic check is 60 s away)', timeoutMs: 5_000 },
    );
    await store.close();
  });
});
