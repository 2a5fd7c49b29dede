import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigFileError, ConfigWriteError } from '../../src/config/errors.js';
import { type FileSystem, nodeFileSystem } from '../../src/config/file-system.js';
import { openYamlConfigStore } from '../../src/config/yaml-store.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const open = async (runtimeDir: string, fs?: FileSystem) => openYamlConfigStore({ registry: defaultRegistry, runtimeDir, fs });

describe('YAML config store', () => {
  it('writes atomically: no temp file left, one writer at a time, version +1 and updated_at per change', async () => {
    const dir = await tempRuntimeDir();
    const times = ['2026-11-28T10:00:00.000Z', '2026-11-28T10:00:01.000Z', '2026-11-28T10:00:02.000Z'];
    const store = await openYamlConfigStore({ registry: defaultRegistry, runtimeDir: dir, now: () => new Date(times.shift() ?? 0) });
    const results = await Promise.all([store.save({ activeStrategyKey: 'gold' }), store.save({ scanIntervalSeconds: 10 })]);
    expect(results.map((r) => r.current.config.version)).toEqual([2, 3]);
    expect(results[1]?.previous.config.version).toBe(2);
    expect(await readdir(dir)).toEqual(['config.yaml']);
    const onDisk = parse(await readFile(path.join(dir, 'config.yaml'), 'utf8'));
    expect(onDisk).toMatchObject({
      active_strategy_key: 'gold',
      scan_interval_seconds: 10,
      version: 3,
      updated_at: '2026-11-28T10:00:02.000Z',
    });
    await store.close();
  });

  it('builds on a hand edit made since the last load, keeping its comments and order', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    const store = await open(dir);
    await writeFile(
      file,
      '# desk: keep it slow\nscan_interval_seconds: 120 # slow on purpose\nactive_strategy_key: range\ntrading_enabled: true\ntunable_overrides:\n  range:\n    band_std_dev: 2.5 # wider band this week\nversion: 1\nupdated_at: 2026-11-01T00:00:00Z\n',
    );
    const change = await store.save({ tunableOverrides: { range: { band_period: 30 } } });
    expect(change.previous.config).toMatchObject({ activeStrategyKey: 'range', scanIntervalSeconds: 120 });
    expect(await readFile(file, 'utf8')).toBe(
      `# desk: keep it slow\nscan_interval_seconds: 120 # slow on purpose\nactive_strategy_key: range\ntrading_enabled: true\ntunable_overrides:\n  range:\n    band_std_dev: 2.5 # wider band this week\n    band_period: 30\nversion: 2\nupdated_at: ${change.current.config.updatedAt}\n`,
    );
    await store.close();
  });

  it('reports an invalid file with line and problem, and refuses to open it without touching it', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    const content =
      'active_strategy_key: gold\ntrading_enabled: true\nscan_interval_seconds: 30\nversion: 1\nupdated_at: 2026-11-01T00:00:00Z\nevil: !!python/object:os.system "rm -rf /"\n';
    await writeFile(file, content);
    const error = await open(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigFileError);
    expect((error as ConfigFileError).problems[0]).toMatchObject({ line: 6, message: expect.stringMatching(/Unresolved tag/) });
    expect(await readFile(file, 'utf8')).toBe(content);
  });

  it('refuses YAML aliases and merge keys in the file', async () => {
    const dir = await tempRuntimeDir();
    await writeFile(
      path.join(dir, 'config.yaml'),
      'base: &b\n  lookback_bars: 10\nactive_strategy_key: momentum\ntrading_enabled: true\nscan_interval_seconds: 30\ntunable_overrides:\n  momentum:\n    <<: *b\nversion: 1\nupdated_at: 2026-11-01T00:00:00Z\n',
    );
    const error = (await open(dir).catch((e: unknown) => e)) as ConfigFileError;
    expect(error).toBeInstanceOf(ConfigFileError);
    expect(error.message).toMatch(/Unrecognized key: "base"|alias/i);
  });

  it('a failing write leaves the previous file and the served config as they were', async () => {
    const dir = await tempRuntimeDir();
    let failRename = false;
    const fs: FileSystem = {
      ...nodeFileSystem,
      rename: async (from, to) => {
        if (failRename) throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
        return nodeFileSystem.rename(from, to);
      },
    };
    const store = await open(dir, fs);
    const before = await readFile(path.join(dir, 'config.yaml'), 'utf8');
    failRename = true;
    const error = await store.save({ activeStrategyKey: 'gold' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigWriteError);
    expect((error as Error).message).toBe(
      'Could not save the config (rename failed: ENOSPC); the previous config is unchanged and still in force',
    );
    expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toBe(before);
    expect(await readdir(dir)).toEqual(['config.yaml']);
    expect(store.current().config).toMatchObject({ activeStrategyKey: 'momentum', version: 1 });
    failRename = false;
    expect((await store.save({ activeStrategyKey: 'gold' })).current.config.version).toBe(2);
    await store.close();
  });

  it('a failing commit hook puts the previous file back', async () => {
    const dir = await tempRuntimeDir();
    const store = await openYamlConfigStore({
      registry: defaultRegistry,
      runtimeDir: dir,
      commitHooks: [
        async () => {
          throw Object.assign(new Error('audit disk gone'), { code: 'EIO' });
        },
      ],
    });
    const before = await readFile(path.join(dir, 'config.yaml'), 'utf8');
    await expect(store.save({ activeStrategyKey: 'gold' })).rejects.toThrow('Could not save the config (commit failed: EIO)');
    expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toBe(before);
    expect(store.current().config.version).toBe(1);
    await store.close();
  });

  it('clears temp files a killed writer left, but not those of a live writer, nor other files', async () => {
    const dir = await tempRuntimeDir();
    const dead = '.config.yaml.999999999.0123456789ab.tmp'; // no such pid
    const live = `.config.yaml.${process.pid}.ba9876543210.tmp`;
    const other = '.tokens.yaml.999999999.0123456789ab.tmp';
    for (const name of [dead, live, other]) await writeFile(path.join(dir, name), 'active_strategy_key: gol');
    const warnings: string[] = [];
    const store = await openYamlConfigStore({ registry: defaultRegistry, runtimeDir: dir, warn: (m) => warnings.push(m) });
    const left = await readdir(dir);
    expect(left).not.toContain(dead);
    expect(left).toEqual(expect.arrayContaining([live, other, 'config.yaml']));
    expect(warnings).toEqual([`removed 1 temp file(s) left by an interrupted write: ${dead}`]);
    await store.close();
  });
});
