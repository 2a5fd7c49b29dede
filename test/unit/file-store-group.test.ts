import { readFileSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { activateStrategy, updateConfig } from '../../src/config/changes.js';
import { ConfigValidationError, ConfigWriteError, VersionConflictError } from '../../src/config/errors.js';
import { openFileConfigStore } from '../../src/config/file-store.js';
import { deletePreset, upsertPreset } from '../../src/config/preset-changes.js';
import type { CommitResult } from '../../src/config/store.js';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { faultyAuditFs } from '../helpers/faulty-audit-fs.js';
import { faultyFileSystem } from '../helpers/faulty-fs.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const by = { actor: 'group-test' };

/** The real file system, counting config placements (a link into the empty place) and audit appends (the two durable writes of a commit). */
function countingFs(base: FileSystem = nodeFileSystem) {
  const counts = { configWrites: 0, auditAppends: 0 };
  const fs: FileSystem = {
    ...base,
    async link(from, to) {
      if (path.basename(to) === 'config.yaml') counts.configWrites++;
      return base.link(from, to);
    },
    async open(file, flags, mode) {
      if (flags === 'a' && path.basename(file) === 'audit.log') counts.auditAppends++;
      return base.open(file, flags, mode);
    },
  };
  return { fs, counts };
}

const auditLines = (dir: string) =>
  readFileSync(path.join(dir, 'audit.log'), 'utf8')
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as { version: number; operation: string; subject: string; digest: string; config: { activeStrategyKey: string } },
    );

async function openStore(dir: string, fs: FileSystem) {
  const store = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir, fs });
  await store.start();
  return store;
}

const KEYS = ['gold', 'range', 'momentum', 'eur_usd_5m_safe', 'momentum_v2'];

describe('file store: group commit', () => {
  it('concurrent writers share one config write and one audit append, each with its own version and line, durable before any answer', async () => {
    const dir = await tempRuntimeDir();
    const { fs, counts } = countingFs();
    const store = await openStore(dir, fs);
    counts.configWrites = 0;
    counts.auditAppends = 0;
    const writers = 24;
    // Each writer, when answered, reads the trail from disk: its own line must already be there.
    const seenAtAnswer: boolean[] = [];
    const answers = await Promise.all(
      Array.from({ length: writers }, (_, i) =>
        store.commit(activateStrategy(KEYS[i % KEYS.length]!, by)).then((result) => {
          seenAtAnswer[i] = auditLines(dir).some((l) => l.version === result.current.config.version);
          return result;
        }),
      ),
    );
    expect(counts).toEqual({ configWrites: 1, auditAppends: 1 });
    // momentum is in force at first, so writer 2 (momentum after range) still changes something: all accepted.
    expect(answers.map((a) => a.changed)).toEqual(Array(writers).fill(true));
    expect(answers.map((a) => a.current.config.version)).toEqual(Array.from({ length: writers }, (_, i) => i + 2));
    expect(seenAtAnswer).toEqual(Array(writers).fill(true));
    const lines = auditLines(dir);
    expect(lines.map((l) => l.version)).toEqual(Array.from({ length: writers + 1 }, (_, i) => i + 1));
    expect(lines.slice(1).map((l) => l.config.activeStrategyKey)).toEqual(answers.map((a) => a.current.config.activeStrategyKey));
    // Each answer is its own audit line; the file on disk is the last one's.
    for (const [i, a] of answers.entries()) expect(a.audit).toEqual(lines[i + 1]);
    const text = await readFile(path.join(dir, 'config.yaml'), 'utf8');
    expect(text).toContain(`version: ${writers + 1}\n`);
    expect(store.state().config).toEqual(answers.at(-1)?.current);
    expect(lines.at(-1)?.digest).toBe(store.state().config.digest);
    await store.close();
  });

  it('judges each change in order against the state the previous ones left: expectedVersion first, no-ops skipped, refusals alone', async () => {
    const dir = await tempRuntimeDir();
    const { fs, counts } = countingFs();
    const store = await openStore(dir, fs);
    counts.configWrites = 0;
    const outcome = (p: Promise<CommitResult>) =>
      p.then(
        (r) => ({ changed: r.changed, version: r.current.config.version, active: r.current.config.activeStrategyKey }),
        (e: Error) => e,
      );
    const results = await Promise.all([
      outcome(store.commit(activateStrategy('gold', by), { expectedVersion: 1 })), // v2
      outcome(store.commit(activateStrategy('gold', by))), // no-op against v2 (gold already active)
      outcome(store.commit(activateStrategy('range', by), { expectedVersion: 1 })), // stale: v2 is in force in the group
      outcome(store.commit(activateStrategy('range', by), { expectedVersion: 2 })), // v3
      outcome(store.commit(activateStrategy('range', by), { expectedVersion: 9 })), // a no-op, but expectedVersion is checked first
      outcome(store.commit(activateStrategy('no_such_strategy', by))), // refused alone
      outcome(store.commit(updateConfig({ scanIntervalSeconds: 15 }, by))), // v4
    ]);
    expect(results[0]).toEqual({ changed: true, version: 2, active: 'gold' });
    expect(results[1]).toEqual({ changed: false, version: 2, active: 'gold' });
    expect(results[2]).toBeInstanceOf(VersionConflictError);
    expect(results[2]).toMatchObject({ expectedVersion: 1, currentVersion: 2 });
    expect(results[3]).toEqual({ changed: true, version: 3, active: 'range' });
    expect(results[4]).toBeInstanceOf(VersionConflictError);
    expect(results[5]).toBeInstanceOf(ConfigValidationError);
    expect(results[5]).toMatchObject({ message: 'Invalid strategy key: no_such_strategy' });
    expect(results[6]).toEqual({ changed: true, version: 4, active: 'range' });
    expect(counts.configWrites).toBe(1);
    expect(auditLines(dir).map((l) => [l.version, l.operation])).toEqual([
      [1, 'baseline'],
      [2, 'activateStrategy'],
      [3, 'activateStrategy'],
      [4, 'updateConfig'],
    ]);
    await store.close();
  });

  it.each(['open', 'write', 'fsync', 'rename'] as const)(
    'a config write failing at %s refuses every writer of the group and writes nothing',
    async (step) => {
      const dir = await tempRuntimeDir();
      const fs = faultyFileSystem();
      const store = await openStore(dir, fs);
      const before = { config: await readFile(path.join(dir, 'config.yaml'), 'utf8'), audit: auditLines(dir) };
      fs.inject(step, 'EIO');
      const results = await Promise.all(
        ['gold', 'range', 'gold', 'momentum'].map((k) => store.commit(activateStrategy(k, by)).catch((e: unknown) => e)),
      );
      for (const r of results) expect(r).toBeInstanceOf(ConfigWriteError);
      expect(fs.fired).toBe(1); // one write for the whole group
      expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toBe(before.config);
      expect(auditLines(dir)).toEqual(before.audit);
      expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'momentum', version: 1 });
      fs.heal();
      // The next group starts from the state in force, not from the failed one's judgements.
      const next = await Promise.all(['gold', 'range'].map((k) => store.commit(activateStrategy(k, by))));
      expect(next.map((r) => r.current.config.version)).toEqual([2, 3]);
      await store.close();
    },
  );

  it.each(['open', 'append', 'fsync'] as const)(
    'an audit append failing at %s puts the previous file back and refuses every writer of the group',
    async (step) => {
      const dir = await tempRuntimeDir();
      const faults = faultyAuditFs();
      const store = await openStore(dir, faults.fs);
      await store.commit(activateStrategy('gold', by));
      const before = { config: await readFile(path.join(dir, 'config.yaml'), 'utf8'), audit: auditLines(dir) };
      faults.fail(step, 'ENOSPC');
      const results = await Promise.all(
        ['range', 'momentum', 'range'].map((k) => store.commit(activateStrategy(k, by)).catch((e: unknown) => e)),
      );
      for (const r of results) expect(r).toMatchObject({ message: 'Config could not be written', step: `audit ${step}`, errno: 'ENOSPC' });
      expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toBe(before.config);
      expect(auditLines(dir)).toEqual(before.audit);
      expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'gold', version: 2 });
      faults.heal();
      expect((await store.commit(activateStrategy('range', by))).current.config.version).toBe(3);
      expect(auditLines(dir).map((l) => l.version)).toEqual([1, 2, 3]);
      await store.close();
    },
  );

  it('presets and config changes share a group: a preset added earlier in the group can be activated, one write per file', async () => {
    const dir = await tempRuntimeDir();
    const { fs, counts } = countingFs();
    const store = await openStore(dir, fs);
    counts.configWrites = 0;
    counts.auditAppends = 0;
    const results = await Promise.all([
      store.commit(upsertPreset({ key: 'gold_fast', base: 'gold', name: 'Gold fast', tunables: { fast_ma_period: 8 } }, by)),
      store.commit(activateStrategy('gold_fast', by)),
      store.commit(upsertPreset({ key: 'gold_fast', base: 'gold', name: 'Gold fast', tunables: { fast_ma_period: 8 } }, by)), // no-op
      store.commit(deletePreset('gold_fast', by)).catch((e: Error) => e), // in use by the config the group left: refused alone
      store.commit(upsertPreset({ key: 'range_wide', base: 'range', name: 'Range wide' }, by), { expectedVersion: 1 }),
    ]);
    expect(
      results.map((r) => (r instanceof Error ? r.name : [r.changed, 'config' in r.current ? r.current.config.version : r.current.version])),
    ).toEqual([[true, 1], [true, 2], [false, 1], 'PresetInUseError', [true, 2]]);
    expect(counts).toEqual({ configWrites: 1, auditAppends: 1 });
    expect(auditLines(dir).map((l) => [l.subject, l.version, l.operation])).toEqual([
      ['CONFIG', 1, 'baseline'],
      ['PRESETS', 1, 'upsertPreset'],
      ['CONFIG', 2, 'activateStrategy'],
      ['PRESETS', 2, 'upsertPreset'],
    ]);
    expect(await readFile(path.join(dir, 'strategies.yaml'), 'utf8')).toMatch(/^version: 2\n/m);
    expect(store.state().config.config.activeStrategyKey).toBe('gold_fast');
    expect(store.state().strategies.has('range_wide')).toBe(true);
    await store.close();
  });

  it('a config write failing after the presets file was written puts the presets file back too', async () => {
    const dir = await tempRuntimeDir();
    let failConfigRename = false;
    const fs: FileSystem = {
      ...nodeFileSystem,
      // The new config linked into the place the old one was taken from (replaceChecked): refused.
      link: async (from, to) => {
        if (failConfigRename && path.basename(to) === 'config.yaml' && !from.endsWith('.aside.tmp'))
          throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
        return nodeFileSystem.link(from, to);
      },
    };
    const store = await openStore(dir, fs);
    const before = auditLines(dir);
    failConfigRename = true;
    const results = await Promise.all([
      store.commit(upsertPreset({ key: 'gold_fast', base: 'gold', name: 'Gold fast' }, by)).catch((e: unknown) => e),
      store.commit(activateStrategy('gold_fast', by)).catch((e: unknown) => e),
    ]);
    for (const r of results) expect(r).toMatchObject({ message: 'Config could not be written', step: 'rename', errno: 'ENOSPC' });
    await expect(readFile(path.join(dir, 'strategies.yaml'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(auditLines(dir)).toEqual(before);
    expect(store.state().strategies.has('gold_fast')).toBe(false);
    expect(store.state().presets.version).toBe(0);
    await store.close();
  });

  it('a hand edit landing while a change is being written is not renamed over: applied and audited first, the change built on it', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    let edits = 0;
    let armed = false;
    // The hand edit lands once, as the change's temp file is fsync'd (after the read, before the rename).
    const fs: FileSystem = {
      ...nodeFileSystem,
      async open(target, flags, mode) {
        const handle = await nodeFileSystem.open(target, flags, mode);
        if (!armed || flags !== 'wx' || !path.basename(target).startsWith('.config.yaml.') || edits > 0) return handle;
        return {
          ...handle,
          sync: async () => {
            await handle.sync();
            edits += 1;
            const text = (await readFile(file, 'utf8')).replace('scan_interval_seconds: 30', 'scan_interval_seconds: 45');
            await writeFile(`${file}.edit`, text);
            await rename(`${file}.edit`, file);
          },
        };
      },
    };
    const store = await openStore(dir, fs);
    armed = true;
    const result = await store.commit(activateStrategy('gold', by));
    expect(edits).toBe(1);
    expect(result.changed).toBe(true);
    // Both are in force and on disk: the person's edit and the change.
    expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'gold', scanIntervalSeconds: 45 });
    const text = await readFile(file, 'utf8');
    expect(text).toContain('scan_interval_seconds: 45');
    expect(text).toContain('active_strategy_key: gold');
    // The trail says what happened, in order: the hand edit, then the activation on top of it.
    expect(auditLines(dir).map((l) => [l.operation, l.version])).toEqual([
      ['baseline', 1],
      ['handEdit', 2],
      ['activateStrategy', 3],
    ]);
    await store.close();
  });

  it('a group is judged on the files as last known (no read first); a hand edit not seen yet is caught before the rename, applied, and judged on', async () => {
    const dir = await tempRuntimeDir();
    let reads = 0;
    const fs: FileSystem = {
      ...nodeFileSystem,
      readFile: async (file, checks) => {
        reads += 1;
        return nodeFileSystem.readFile(file, checks);
      },
    };
    const store = await openStore(dir, fs);
    store.watch?.pause(); // the store learns of the edit below only through its own writes' checks
    await store.refresh();
    await store.commit(upsertPreset({ key: 'gold_fast', base: 'gold', name: 'Gold fast' }, by));
    reads = 0;
    await store.commit(activateStrategy('gold', by));
    // No read before judging: strategies.yaml checked unchanged, config.yaml checked just before its rename.
    expect(reads).toBe(2);

    // Someone removes the presets file (no presets: a real change) and the store has not seen it.
    await rm(path.join(dir, 'strategies.yaml'));
    await expect(store.commit(activateStrategy('gold_fast', by))).rejects.toThrow(/gold_fast/);
    expect(store.state().strategies.has('gold_fast')).toBe(false);
    expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toContain('active_strategy_key: gold\n');
    expect(auditLines(dir).map((l) => [l.subject, l.operation])).toEqual([
      ['CONFIG', 'baseline'],
      ['PRESETS', 'upsertPreset'],
      ['CONFIG', 'activateStrategy'],
      ['PRESETS', 'handEdit'],
    ]);
    await store.close();
  });

  it('a no-op judged on known texts is judged again on the disk: an unseen hand edit can make it a change', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    const store = await openStore(dir, nodeFileSystem);
    store.watch?.pause();
    await store.refresh();
    await store.commit(activateStrategy('gold', by));
    await writeFile(file, (await readFile(file, 'utf8')).replace('active_strategy_key: gold', 'active_strategy_key: range'));
    // In force (as last known): gold. On disk: range. Activating gold is a change, not a no-op.
    const result = await store.commit(activateStrategy('gold', by));
    expect(result).toMatchObject({ changed: true, previous: { config: { activeStrategyKey: 'range' } } });
    expect(await readFile(file, 'utf8')).toContain('active_strategy_key: gold\n');
    expect(auditLines(dir).map((l) => [l.operation, l.config.activeStrategyKey])).toEqual([
      ['baseline', 'momentum'],
      ['activateStrategy', 'gold'],
      ['handEdit', 'range'],
      ['activateStrategy', 'gold'],
    ]);
    await store.close();
  });

  it('subscribers hear every version of a group, in order; state() is the last', async () => {
    const dir = await tempRuntimeDir();
    const store = await openStore(dir, nodeFileSystem);
    const heard: [number, number, number][] = [];
    store.subscribe((event) => {
      if (event.type === 'changed')
        heard.push([event.previous.config.version, event.current.config.version, store.state().config.config.version]);
    });
    await Promise.all(['gold', 'range', 'gold'].map((k) => store.commit(activateStrategy(k, by))));
    expect(heard).toEqual([
      [1, 2, 4],
      [2, 3, 4],
      [3, 4, 4],
    ]);
    await store.close();
  });
});
