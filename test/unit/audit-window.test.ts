import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUDIT_MEMORY } from '../../src/config/audit-file.js';
import { activateStrategy } from '../../src/config/changes.js';
import { openFileConfigStore } from '../../src/config/file-store.js';
import { upsertPreset } from '../../src/config/preset-changes.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const by = { actor: 'window-test' };
const auditLines = async (dir: string) =>
  (await readFile(path.join(dir, 'audit.log'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('the audit trail at open, longer than the entries kept in memory', () => {
  it('a preset set changed before the last AUDIT_MEMORY config changes is still known as audited: no recovery line, same version', async () => {
    const dir = await tempRuntimeDir();
    const first = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir });
    await first.start();
    await first.commit(upsertPreset({ key: 'gold_fast', base: 'gold', name: 'Gold fast', tunables: { fast_ma_period: 8 } }, by));
    const keys = ['gold', 'momentum'];
    for (let i = 0; i < AUDIT_MEMORY + 5; i++) await first.commit(activateStrategy(keys[i % 2]!, by));
    const before = await auditLines(dir);
    // What the writing process holds in memory slid with the writes: the newest AUDIT_MEMORY config
    // entries, newest first, and the preset change (older than all of them) still there.
    const newestConfig = before
      .filter((e) => e.subject === 'CONFIG')
      .slice(-AUDIT_MEMORY)
      .reverse()
      .map((e) => e.version);
    expect(newestConfig).toHaveLength(AUDIT_MEMORY);
    expect((await first.audit({ last: AUDIT_MEMORY, subject: 'CONFIG' })).map((e) => e.version)).toEqual(newestConfig);
    expect((await first.audit({ last: AUDIT_MEMORY, subject: 'PRESETS' })).map((e) => e.version)).toEqual([1]);
    await first.close();

    const warnings: string[] = [];
    const second = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir, warn: (m) => warnings.push(m) });
    await second.start();
    expect(second.state().presets.version).toBe(1);
    expect(await auditLines(dir)).toEqual(before);
    expect(warnings).toEqual([]);
    await second.close();
  });
});
