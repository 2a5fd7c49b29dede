import { spawnSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openYamlConfigStore } from '../../src/config/yaml-store.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

describe('stale temp files', () => {
  it('opening the store removes temp files a killed writer left, and only those', async () => {
    const dir = await tempRuntimeDir();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const alive = process.ppid;
    const names = [`.config.yaml.${dead}.0a1b2c3d4e5f.tmp`, `.config.yaml.${alive}.0a1b2c3d4e5f.tmp`, '.tokens.yaml.tmp', 'notes.tmp'];
    for (const name of names) await writeFile(path.join(dir, name), 'partial');
    const store = await openYamlConfigStore({ registry: defaultRegistry, runtimeDir: dir });
    await store.close();
    expect((await readdir(dir)).sort()).toEqual([names[1], names[2], 'config.yaml', 'notes.tmp'].sort());
  });
});
