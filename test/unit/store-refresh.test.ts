import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FileSystem, nodeFileSystem } from '../../src/config/file-system.js';
import { openYamlConfigStore } from '../../src/config/yaml-store.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

describe('store refresh under a storm of hints', () => {
  it('coalesces refreshes waiting for the lock, so a save is not queued behind an unbounded line of them', async () => {
    let reads = 0;
    // A slow disk, as under load: each read takes longer than the hints take to arrive.
    const slow: FileSystem = {
      ...nodeFileSystem,
      readFile: async (file) => {
        reads += 1;
        await new Promise((r) => setTimeout(r, 20));
        return nodeFileSystem.readFile(file);
      },
    };
    const dir = await tempRuntimeDir();
    const store = await openYamlConfigStore({ registry: defaultRegistry, runtimeDir: dir, fs: slow });
    reads = 0;
    const hints = Array.from({ length: 20 }, () => store.refresh());
    const saved = store.save({ activeStrategyKey: 'gold' });
    await Promise.all([...hints, saved]);
    // One refresh for all twenty hints, one read for the save.
    expect(reads).toBe(2);

    // A hint after a hand edit still sees it: a coalesced refresh reads the disk when it runs.
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('active_strategy_key: gold', 'active_strategy_key: range'));
    await Promise.all([store.refresh(), store.refresh()]);
    expect(store.current().config.activeStrategyKey).toBe('range');
    await store.close();
  });
});
