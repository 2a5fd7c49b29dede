import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AuditEntry, AuditLog } from '../../src/audit/audit-log.js';
import { type AuditFileSystem, nodeAuditFileSystem } from '../../src/audit/file-system.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const config = (version: number) => ({
  activeStrategyKey: 'gold',
  tradingEnabled: true,
  scanIntervalSeconds: 30,
  tunableOverrides: {},
  version,
  updatedAt: '2026-11-28T10:00:00.000Z',
});
const entry = (version: number): AuditEntry => ({
  time: '2026-11-28T10:00:00.000Z',
  actor: 'admin',
  operation: 'activateStrategy',
  version,
  digest: `sha256:${version}`,
  changes: {},
  config: config(version),
});

describe('AuditLog', () => {
  it('skips a line in the middle that is not an entry (with a warning) and keeps the rest', async () => {
    const dir = await tempRuntimeDir();
    await writeFile(path.join(dir, 'audit.log'), `${JSON.stringify(entry(1))}\nnot json\n{"version":2}\n${JSON.stringify(entry(3))}\n`);
    const warnings: string[] = [];
    const log = await AuditLog.open({ runtimeDir: dir, warn: (m) => warnings.push(m) });
    expect(log.last(10).map((e) => e.version)).toEqual([1, 3]);
    expect(warnings).toEqual([
      expect.stringContaining('line 2 is not an audit entry'),
      expect.stringContaining('line 3 is not an audit entry'),
    ]);
    expect(log.setAside).toBeNull();
  });

  it('a torn tail that cannot be set aside is left in place, and the next line starts on a new line', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'audit.log');
    await writeFile(file, `${JSON.stringify(entry(1))}\n{"time":"2026`);
    const noAside: AuditFileSystem = {
      ...nodeAuditFileSystem,
      open: (f, flags) =>
        flags === 'wx' ? Promise.reject(Object.assign(new Error('EACCES'), { code: 'EACCES' })) : nodeAuditFileSystem.open(f, flags),
    };
    const warnings: string[] = [];
    const log = await AuditLog.open({ runtimeDir: dir, fs: noAside, warn: (m) => warnings.push(m) });
    expect(warnings[0]).toContain('could not be set aside (EACCES)');
    await log.append(entry(2));
    const reopened = await AuditLog.open({ runtimeDir: dir, warn: () => {} });
    expect(reopened.last(10).map((e) => e.version)).toEqual([1, 2]);
    expect(await readFile(file, 'utf8')).toContain('{"time":"2026\n');
  });

  it('an append that fails half-way is cut back, so the file holds only complete lines', async () => {
    const dir = await tempRuntimeDir();
    let fail = true;
    const flaky: AuditFileSystem = {
      ...nodeAuditFileSystem,
      async open(f, flags) {
        const real = await nodeAuditFileSystem.open(f, flags);
        return {
          ...real,
          write: async (data) => {
            if (!fail) return real.write(data);
            await real.write(data.slice(0, 10));
            throw Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
          },
        };
      },
    };
    const log = await AuditLog.open({ runtimeDir: dir, fs: flaky });
    await expect(log.append(entry(1))).rejects.toThrow('Could not record the change in the audit log (append failed: ENOSPC)');
    expect(await readFile(path.join(dir, 'audit.log'), 'utf8')).toBe('');
    fail = false;
    await log.append(entry(1));
    expect((await AuditLog.open({ runtimeDir: dir })).last(5).map((e) => e.version)).toEqual([1]);
  });
});
