import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { activateStrategy } from '../../src/config/changes.js';
import { openFileConfigStore } from '../../src/config/file-store.js';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

describe('store refresh under a storm of hints', () => {
  it('coalesces refreshes waiting for the lock, so a save is not queued behind an unbounded line of them', async () => {
    let reads = 0;
    // A slow disk, as under load: each read takes longer than the hints take to arrive.
    const slow: FileSystem = {
      ...nodeFileSystem,
      readFile: async (file) => {
        // Each refresh reads config.yaml and strategies.yaml: count one of them.
        if (file.endsWith('config.yaml')) reads += 1;
        await new Promise((r) => setTimeout(r, 20));
        return nodeFileSystem.readFile(file);
      },
    };
    const dir = await tempRuntimeDir();
    const store = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir, fs: slow });
    await store.start();
    store.watch?.pause(); // only the hints below: not the watch's own reaction to the write
    await store.refresh(); // a refresh a hint queued before the pause runs now, not among those counted
    reads = 0;
    const hints = Array.from({ length: 20 }, () => store.refresh());
    const saved = store.commit(activateStrategy('gold', { actor: 'test' }));
    await Promise.all([...hints, saved]);
    // One refresh for all twenty hints; for the save, only its check just before the rename (it is
    // judged on the files as that refresh left them, without reading them again).
    expect(reads).toBe(2);

    // A hint after a hand edit still sees it: a coalesced refresh reads the disk when it runs.
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('active_strategy_key: gold', 'active_strategy_key: range'));
    await Promise.all([store.refresh(), store.refresh()]);
    expect(store.state().config.config.activeStrategyKey).toBe('range');
    await store.close();
  });
});
