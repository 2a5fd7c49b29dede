import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { activateStrategy, updateConfig } from '../../src/config/changes.js';
import { ConfigFileError, ConfigWriteError, VersionConflictError } from '../../src/config/errors.js';
import { openFileConfigStore, UNAUDITED_GRACE_MS } from '../../src/config/file-store.js';
import { upsertPreset } from '../../src/config/preset-changes.js';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { faultyAuditFs } from '../helpers/faulty-audit-fs.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const by = { actor: 'test' };
const open = async (runtimeDir: string, options: { fs?: FileSystem; now?: () => Date; warn?: (m: string) => void } = {}) => {
  const store = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir, ...options });
  await store.start();
  return store;
};
const auditLines = async (dir: string) =>
  (await readFile(path.join(dir, 'audit.log'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('file config store', () => {
  it('writes nothing before start(): a missing config is served from defaults and written by start', async () => {
    const dir = await tempRuntimeDir();
    const store = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir });
    expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'momentum', version: 1 });
    expect(await readdir(dir)).toEqual([]);
    await store.start();
    expect((await readdir(dir)).sort()).toEqual(['audit.log', 'config.yaml']);
    expect((await auditLines(dir)).map((l) => l.operation)).toEqual(['baseline']);
    await store.close();
  });

  it('a config.yaml created between open and start is not written over: left as it is, judged as a hand edit', async () => {
    const dir = await tempRuntimeDir();
    const warnings: string[] = [];
    const store = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir, warn: (m) => warnings.push(m) });
    // A person (or a config tool) writes the file in the moment after the store found it missing.
    const theirs =
      'active_strategy_key: gold\ntrading_enabled: false\nscan_interval_seconds: 45\nversion: 1\nupdated_at: 2026-11-28T10:00:00.000Z\n';
    await writeFile(path.join(dir, 'config.yaml'), theirs);
    await store.start();
    expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toBe(theirs);
    expect(warnings.join('\n')).toMatch(/config\.yaml appeared while the server was starting: left as it is/);
    // Written in place a moment ago: taken once it has been still for the settle window.
    await vi.waitFor(
      () => expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'gold', scanIntervalSeconds: 45, version: 2 }),
      {
        timeout: 10_000,
        interval: 20,
      },
    );
    expect((await auditLines(dir)).map((l) => [l.version, l.operation])).toEqual([
      [1, 'baseline'],
      [2, 'handEdit'],
    ]);
    await store.close();
  });

  it('writes atomically: no temp file left, one writer at a time, version +1 and updated_at per change, each audited', async () => {
    const dir = await tempRuntimeDir();
    let clock = Date.parse('2026-11-28T10:00:00.000Z');
    const tick = () => {
      clock += 1000;
      return new Date(clock);
    };
    const store = await open(dir, { now: tick });
    const results = await Promise.all([
      store.commit(activateStrategy('gold', by)),
      store.commit(updateConfig({ scanIntervalSeconds: 10 }, by)),
    ]);
    expect(results.map((r) => r.current.config.version)).toEqual([2, 3]);
    expect(results[1]?.previous.config.version).toBe(2);
    expect((await readdir(dir)).sort()).toEqual(['audit.log', 'config.yaml']);
    const onDisk = parse(await readFile(path.join(dir, 'config.yaml'), 'utf8'));
    expect(onDisk).toMatchObject({ active_strategy_key: 'gold', scan_interval_seconds: 10, version: 3 });
    expect(onDisk.updated_at).toBe(results[1]?.current.config.updatedAt);
    expect(Date.parse(onDisk.updated_at)).toBeGreaterThan(Date.parse(results[0]?.current.config.updatedAt ?? ''));
    expect((await auditLines(dir)).map((l) => [l.version, l.operation, l.actor])).toEqual([
      [1, 'baseline', 'system'],
      [2, 'activateStrategy', 'test'],
      [3, 'updateConfig', 'test'],
    ]);
    await store.close();
  });

  it('a change that changes nothing writes nothing: no version, no audit entry', async () => {
    const dir = await tempRuntimeDir();
    const store = await open(dir);
    const before = await readFile(path.join(dir, 'config.yaml'));
    const result = await store.commit(activateStrategy('momentum', by));
    expect(result).toMatchObject({ changed: false, changedFields: [], audit: null });
    expect(result.current.config.version).toBe(1);
    expect(await readFile(path.join(dir, 'config.yaml'))).toEqual(before);
    expect(await auditLines(dir)).toHaveLength(1);
    // A no-op still answers a stale expectedVersion with a conflict: that check comes first.
    await expect(store.commit(activateStrategy('momentum', by), { expectedVersion: 7 })).rejects.toBeInstanceOf(VersionConflictError);
    await store.close();
  });

  it('builds on a hand edit made since the last load, keeping its comments and order; versions never go backwards', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    const store = await open(dir);
    await store.commit(activateStrategy('gold', by)); // version 2
    await writeFile(
      file,
      '# desk: keep it slow\nscan_interval_seconds: 120 # slow on purpose\nactive_strategy_key: range\ntrading_enabled: true\ntunable_overrides:\n  range:\n    band_std_dev: 2.5 # wider band this week\nversion: 1\nupdated_at: 2026-11-01T00:00:00Z\n',
    );
    const change = await store.commit(updateConfig({ tunableOverrides: { range: { band_period: 30 } } }, by));
    // The hand edit said version 1, below the trail's 2: it was in force as 3, so this change is 4.
    expect(change.previous.config).toMatchObject({ activeStrategyKey: 'range', scanIntervalSeconds: 120, version: 3 });
    expect(await readFile(file, 'utf8')).toBe(
      `# desk: keep it slow\nscan_interval_seconds: 120 # slow on purpose\nactive_strategy_key: range\ntrading_enabled: true\ntunable_overrides:\n  range:\n    band_std_dev: 2.5 # wider band this week\n    band_period: 30\nversion: 4\nupdated_at: ${change.current.config.updatedAt}\n`,
    );
    expect((await auditLines(dir)).map((l) => [l.version, l.operation])).toEqual([
      [1, 'baseline'],
      [2, 'activateStrategy'],
      [3, 'handEdit'],
      [4, 'updateConfig'],
    ]);
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
    expect(await readdir(dir)).toEqual(['config.yaml']);
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
    const store = await open(dir, { fs });
    const before = await readFile(path.join(dir, 'config.yaml'), 'utf8');
    failRename = true;
    const error = await store.commit(activateStrategy('gold', by)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigWriteError);
    expect(error).toMatchObject({ message: 'Config could not be written', step: 'rename', errno: 'ENOSPC' });
    expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toBe(before);
    expect((await readdir(dir)).sort()).toEqual(['audit.log', 'config.yaml']);
    expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'momentum', version: 1 });
    failRename = false;
    expect((await store.commit(activateStrategy('gold', by))).current.config.version).toBe(2);
    await store.close();
  });

  it('an audit append that fails puts the previous file back', async () => {
    const dir = await tempRuntimeDir();
    const faults = faultyAuditFs();
    const store = await open(dir, { fs: faults.fs });
    const before = await readFile(path.join(dir, 'config.yaml'), 'utf8');
    faults.fail('fsync', 'EIO');
    const error = await store.commit(activateStrategy('gold', by)).catch((e: unknown) => e);
    expect(error).toMatchObject({ message: 'Config could not be written', step: 'audit fsync', errno: 'EIO' });
    expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toBe(before);
    expect(store.state().config.config.version).toBe(1);
    await store.close();
  });

  it('a disk full at the audit append: the old file is put back without new blocks, never taken for a hand edit after', async () => {
    // Once full, no new data goes anywhere: not the audit line, not a temp file to write the old
    // text back with (the restore did that, failed, and left the refused change on disk, in force
    // 300 ms later as a hand edit by "file").
    const dir = await tempRuntimeDir();
    let full = false;
    const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const fs: FileSystem = {
      ...nodeFileSystem,
      async open(file, flags, mode) {
        const handle = await nodeFileSystem.open(file, flags, mode);
        const isConfigTemp = flags !== 'a' && path.basename(file).startsWith('.config.yaml.');
        return {
          ...handle,
          write: async (data) => {
            if (full && !(isConfigTemp && !configTempWritten)) throw enospc();
            if (full && isConfigTemp) configTempWritten = true;
            await handle.write(data);
          },
        };
      },
    };
    let configTempWritten = false;
    const store = await open(dir, { fs });
    const before = await readFile(path.join(dir, 'config.yaml'), 'utf8');
    const trail = (await readFile(path.join(dir, 'audit.log'), 'utf8')).trim().split('\n').length;
    full = true; // the new config's temp file still fits; nothing after it does
    const error = await store.commit(activateStrategy('gold', by)).catch((e: unknown) => e);
    expect(error).toMatchObject({ message: 'Config could not be written', step: 'audit append', errno: 'ENOSPC' });
    expect(configTempWritten).toBe(true);
    expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toBe(before);
    // The disk has room again; the next read finds the file the store wrote last, nothing to adopt.
    full = false;
    await store.refresh();
    expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'momentum', version: 1 });
    expect(await auditLines(dir)).toHaveLength(trail);
    // The old file's second name is gone (renamed back), and no temp file is left.
    await new Promise((resolve) => setImmediate(resolve));
    expect((await readdir(dir)).sort()).toEqual(['audit.log', 'config.yaml']);
    await store.close();
  });

  it("an audit append that fails undoes only the store's own write: a person's file that landed meanwhile is left as it is", async () => {
    // The audit append fails (EIO at its open) after a person put their own config.yaml in place:
    // by rename over the store's new file, or into the place of a file the store had found missing.
    const theirs =
      'active_strategy_key: range\ntrading_enabled: false\nscan_interval_seconds: 45\nversion: 1\nupdated_at: 2026-11-28T10:00:00.000Z\n';
    for (const missing of [true, false]) {
      const dir = await tempRuntimeDir();
      const file = path.join(dir, 'config.yaml');
      let person = false;
      const fs: FileSystem = {
        ...nodeFileSystem,
        async open(name, flags, mode) {
          if (person && flags === 'a' && path.basename(name) === 'audit.log') {
            person = false;
            await writeFile(`${file}.theirs`, theirs);
            await rename(`${file}.theirs`, file);
            throw Object.assign(new Error('EIO: injected at audit open'), { code: 'EIO' });
          }
          return nodeFileSystem.open(name, flags, mode);
        },
      };
      const store = await open(dir, { fs });
      if (missing) {
        await rm(file);
        await vi.waitFor(
          async () => {
            await store.refresh();
            expect(store.problem()?.message).toMatch(/missing/);
          },
          { timeout: 10_000, interval: 50 },
        );
      }
      person = true;
      const error = await store.commit(activateStrategy('gold', by)).catch((e: unknown) => e);
      expect(error, `missing: ${missing}`).toMatchObject({ message: 'Config could not be written', errno: 'EIO' });
      expect(await readFile(file, 'utf8'), `missing: ${missing}`).toBe(theirs);
      await store.close();
    }
  });

  it('a valid hand edit whose audit line cannot be written is not in force, reported, and goes in force once the line is written (the README helper session F6)', async () => {
    const dir = await tempRuntimeDir();
    const faults = faultyAuditFs();
    const warnings: string[] = [];
    const store = await open(dir, { fs: faults.fs, warn: (m) => warnings.push(m) });
    await store.start();
    const events: string[] = [];
    store.subscribe((e) => events.push(e.type));
    const file = path.join(dir, 'config.yaml');
    faults.fail('open', 'EACCES');
    await writeFile(file, (await readFile(file, 'utf8')).replace('active_strategy_key: momentum', 'active_strategy_key: gold'));
    await store.refresh();
    // The runner would have run gold with no line in the trail: the history skipped that version.
    expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'momentum', version: 1 });
    const why =
      'this hand edit is not in force: it could not be recorded in audit.log (audit open, EACCES): Config could not be written; it goes in force once its line can be written';
    expect(store.problem()?.problems).toEqual([{ message: why }]);
    expect(events).toEqual(['invalid']);
    expect(warnings).toContain(
      'could not record a hand edit in the audit trail, so it is not in force: it could not be recorded in audit.log (audit open, EACCES): Config could not be written; it goes in force once its line can be written',
    );
    // A change through the API is refused meanwhile (as for an invalid file): nothing written over the edit.
    await expect(store.commit(activateStrategy('range', by))).rejects.toMatchObject({ name: 'ConfigFileInvalidError' });
    // Each check tries again; once the line can be written, the edit is in force, recorded.
    await store.refresh();
    expect(store.state().config.config.activeStrategyKey).toBe('momentum');
    faults.heal();
    await store.refresh();
    expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'gold', version: 2 });
    expect(store.problem()).toBeNull();
    const lines = (await readFile(path.join(dir, 'audit.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.version, l.operation, l.actor, l.config.activeStrategyKey])).toEqual([
      [1, 'baseline', 'system', 'momentum'],
      [2, 'handEdit', 'file', 'gold'],
    ]);
    await store.close();
  });

  it('a runner beside the API numbers content by the trail entry that records it, not last + 1, when the API has recorded later changes since (the CLI helper session F1)', async () => {
    const dir = await tempRuntimeDir();
    const api = await open(dir);
    await api.start();
    const file = path.join(dir, 'config.yaml');
    // The runner's read of config.yaml can be held at one text: the file as it stood when an event fired.
    let frozen: string | null = null;
    const runnerFs: FileSystem = {
      ...nodeFileSystem,
      readFile: async (f, checks) => (frozen !== null && f === file ? Buffer.from(frozen) : nodeFileSystem.readFile(f, checks)),
    };
    let monotonic = 0;
    const runner = await openFileConfigStore({
      runtimeDir: dir,
      strategies: defaultRegistry,
      fs: runnerFs,
      auditHandEdits: false,
      monotonicNow: () => monotonic,
    });
    await runner.start();
    // Its checks run when this test says (no file event or poll in between).
    runner.watch?.pause();
    // A hand edit (the API records it as version 2), then a change through the API (version 3).
    const edited = (await readFile(file, 'utf8')).replace('active_strategy_key: momentum', 'active_strategy_key: gold');
    await writeFile(file, edited);
    await api.refresh();
    expect(api.state().config.config).toMatchObject({ activeStrategyKey: 'gold', version: 2 });
    await api.commit(activateStrategy('range', by));
    // The runner reads the hand edit's text only now, with both lines already in the trail. Not the
    // trail's newest line: held back like unrecorded content (a backup copied back has an older line's
    // bytes too, and the API may be keeping it out), the grace on the injected clock...
    frozen = edited;
    await runner.refresh();
    expect(runner.state().config.config).toMatchObject({ activeStrategyKey: 'momentum', version: 1 });
    // ... past which (no API process known to this store) it is taken, numbered by the line that records it.
    monotonic += UNAUDITED_GRACE_MS;
    await runner.refresh();
    expect(runner.state().config.config).toMatchObject({ activeStrategyKey: 'gold', version: 2 });
    frozen = null;
    await runner.refresh();
    expect(runner.state().config.config).toMatchObject({ activeStrategyKey: 'range', version: 3 });
    await runner.close();
    await api.close();
  });

  it('a file put back from a backup while stopped is a new version (last + 1, a hand edit), not its old one again: versions never go backwards', async () => {
    const dir = await tempRuntimeDir();
    const config = path.join(dir, 'config.yaml');
    const presets = path.join(dir, 'strategies.yaml');
    const first = await open(dir);
    await first.commit(activateStrategy('range', by)); // config 2
    await first.commit(upsertPreset({ key: 'gold_fast', base: 'gold', name: 'Gold fast' }, by)); // presets 1
    const backup = { config: await readFile(config, 'utf8'), presets: await readFile(presets, 'utf8') };
    await first.commit(activateStrategy('gold', by)); // config 3
    await first.commit(updateConfig({ scanIntervalSeconds: 12 }, by)); // config 4
    await first.commit(upsertPreset({ key: 'gold_fast', base: 'gold', name: 'Gold faster' }, by)); // presets 2
    await first.commit(upsertPreset({ key: 'gold_fast', base: 'gold', name: 'Gold fastest' }, by)); // presets 3
    await first.close();
    await writeFile(config, backup.config);
    await writeFile(presets, backup.presets);

    const warnings: string[] = [];
    const second = await open(dir, { warn: (m) => warnings.push(m) });
    expect(second.state().config.config).toMatchObject({ activeStrategyKey: 'range', scanIntervalSeconds: 30, version: 5 });
    expect(second.state().presets).toMatchObject({ version: 4, presets: [{ key: 'gold_fast', name: 'Gold fast' }] });
    expect((await auditLines(dir)).map((l) => `${l.subject} ${l.version} ${l.operation}`)).toEqual([
      'CONFIG 1 baseline',
      'CONFIG 2 activateStrategy',
      'PRESETS 1 upsertPreset',
      'CONFIG 3 activateStrategy',
      'CONFIG 4 updateConfig',
      'PRESETS 2 upsertPreset',
      'PRESETS 3 upsertPreset',
      'PRESETS 4 handEdit',
      'CONFIG 5 handEdit',
    ]);
    expect(warnings.join('\n')).not.toMatch(/version 2 had no audit entry|version 1 had no audit entry/);
    await second.close();

    // Started again on the same files: the newest entries record them, so nothing new is numbered or written.
    const third = await open(dir);
    expect(third.state().config.config.version).toBe(5);
    expect(third.state().presets.version).toBe(4);
    expect(await auditLines(dir)).toHaveLength(9);
    await third.close();
  });

  it('clears temp files a killed writer left (config, presets, the kept presets, tokens), but not those of a live writer, nor other files', async () => {
    const dir = await tempRuntimeDir();
    const dead = '.config.yaml.999999999.0123456789ab.tmp'; // no such pid
    const live = `.config.yaml.${process.pid}.ba9876543210.tmp`;
    const tokens = '.tokens.yaml.999999999.0123456789ab.tmp'; // token digests: a kill during `stratctl token create`
    const kept = '..strategies.kept.yaml.999999999.0123456789ab.tmp';
    const trail = '.audit.log.999999999.0123456789ab.tmp'; // a `store migrate` into this directory, killed
    const other = '.notes.txt.999999999.0123456789ab.tmp';
    for (const name of [dead, live, tokens, kept, trail, other]) await writeFile(path.join(dir, name), 'active_strategy_key: gol');
    const warnings: string[] = [];
    const store = await open(dir, { warn: (m) => warnings.push(m) });
    const left = await readdir(dir);
    for (const gone of [dead, tokens, kept, trail]) expect(left).not.toContain(gone);
    expect(left).toEqual(expect.arrayContaining([live, other, 'config.yaml']));
    expect(warnings).toEqual([
      `removed 1 temp file(s) left by an interrupted write: ${dead}`,
      `removed 1 temp file(s) left by an interrupted write: ${kept}`,
      `removed 1 temp file(s) left by an interrupted write: ${tokens}`,
      `removed 1 temp file(s) left by an interrupted write: ${trail}`,
    ]);
    await store.close();
  });
});

describe('a runner-only store holding back content the trail does not record yet', () => {
  it('holds it UNAUDITED_GRACE_MS on the monotonic clock: a wall clock stepped back does not stretch the hold, one stepped forward does not cut it short', async () => {
    const dir = await tempRuntimeDir();
    // The API made the runtime dir, then stopped: no one records the hand edit below.
    await (await open(dir)).close();
    let wall = Date.parse('2026-12-01T10:00:00.000Z');
    let mono = 5_000;
    const runner = await openFileConfigStore({
      runtimeDir: dir,
      strategies: defaultRegistry,
      auditHandEdits: false,
      settle: { ms: 0 },
      now: () => new Date(wall),
      monotonicNow: () => mono,
    });
    await runner.start();
    // Its checks run when this test says (no file event or poll in between).
    runner.watch?.pause();
    const file = path.join(dir, 'config.yaml');
    const edit = async (from: string, to: string) => {
      await writeFile(file, (await readFile(file, 'utf8')).replace(`active_strategy_key: ${from}`, `active_strategy_key: ${to}`));
      await runner.refresh();
    };
    const inForce = () => runner.state().config.config.activeStrategyKey;
    await edit('momentum', 'gold');
    expect(inForce()).toBe('momentum'); // held back
    // The wall clock stepped an hour back (NTP), 1 ms short of the hold on the monotonic clock: still held.
    wall -= 3_600_000;
    mono += UNAUDITED_GRACE_MS - 1;
    await runner.refresh();
    expect(inForce()).toBe('momentum');
    // The hold's time passed: in force as it stands (on the wall clock it was an hour off yet).
    mono += 1;
    await runner.refresh();
    expect(inForce()).toBe('gold');

    // Another edit, and the wall clock stepped an hour forward: that does not cut the hold short.
    await edit('gold', 'range');
    expect(inForce()).toBe('gold');
    wall += 3_600_000;
    mono += UNAUDITED_GRACE_MS - 1;
    await runner.refresh();
    expect(inForce()).toBe('gold');
    mono += 1;
    await runner.refresh();
    expect(inForce()).toBe('range');
    await runner.close();
  });

  it('past the grace, keeps content out while an API process serves the directory (it may be keeping the edit out), config and presets alike; takes it once recorded, or once no API serves', async () => {
    const dir = await tempRuntimeDir();
    const api = await open(dir);
    await api.commit(upsertPreset({ key: 'gold_fast', base: 'gold', name: 'Gold fast' }, by));
    await api.close();
    let mono = 0;
    let serving: { pid: number; host: string } | null = { pid: 4242, host: 'api-host' };
    const warnings: string[] = [];
    const runner = await openFileConfigStore({
      runtimeDir: dir,
      strategies: defaultRegistry,
      auditHandEdits: false,
      settle: { ms: 0 },
      monotonicNow: () => mono,
      apiProcess: async () => serving,
      warn: (m) => warnings.push(m),
    });
    await runner.start();
    runner.watch?.pause();
    const config = path.join(dir, 'config.yaml');
    const presets = path.join(dir, 'strategies.yaml');
    await writeFile(config, (await readFile(config, 'utf8')).replace('active_strategy_key: momentum', 'active_strategy_key: gold_fast'));
    await writeFile(presets, (await readFile(presets, 'utf8')).replace('name: Gold fast', 'name: Gold faster'));
    await runner.refresh();
    mono += UNAUDITED_GRACE_MS;
    for (let check = 0; check < 3; check++) {
      await runner.refresh();
      expect(runner.state().config.config).toMatchObject({ activeStrategyKey: 'momentum', version: 1 });
      expect(runner.state().presets.presets[0]?.name).toBe('Gold fast');
      mono += 1_000;
    }
    const why =
      'this hand edit is not applied yet: waiting for the API to record this hand edit in audit.log (process 4242 on api-host serves this runtime directory); applied once its line is there';
    expect(runner.problem()?.problems).toEqual([{ message: why }]);
    expect(runner.strategiesProblem()?.problems).toEqual([{ message: why }]);
    // Said once, not at every check.
    expect(warnings).toEqual([
      'a hand edit of config.yaml and strategies.yaml is not applied: waiting for the API to record this hand edit in audit.log (process 4242 on api-host serves this runtime directory)',
    ]);
    // The API records them (started again, it audits both): in force here, numbered as the trail says.
    await (await open(dir)).close();
    await runner.refresh();
    expect(runner.state().config.config).toMatchObject({ activeStrategyKey: 'gold_fast', version: 2 });
    expect(runner.state().presets).toMatchObject({ version: 2 });
    expect(runner.problem()).toBeNull();
    expect(runner.strategiesProblem()).toBeNull();

    // No API serves: an unrecorded edit goes in force after the grace, as it stands.
    serving = null;
    await writeFile(config, (await readFile(config, 'utf8')).replace('active_strategy_key: gold_fast', 'active_strategy_key: range'));
    await runner.refresh();
    expect(runner.state().config.config.activeStrategyKey).toBe('gold_fast');
    mono += UNAUDITED_GRACE_MS;
    await runner.refresh();
    expect(runner.state().config.config).toMatchObject({ activeStrategyKey: 'range', version: 3 });
    await runner.close();
  });
});
