import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditFile } from '../../src/config/audit-file.js';
import { ConfigWriteError } from '../../src/config/errors.js';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';
import { auditEntry } from '../helpers/audit-entries.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const entry = (version: number) => auditEntry(version);

type Handle = Awaited<ReturnType<FileSystem['open']>>;

/** The real file system, its opened files' calls replaced by `patch` (a disk that fails on cue). */
const withHandles = (patch: (real: Handle) => Partial<Handle>): FileSystem => ({
  ...nodeFileSystem,
  async open(f, flags, mode) {
    const real = await nodeFileSystem.open(f, flags, mode);
    return { ...real, ...patch(real) };
  },
});

describe('AuditFile', () => {
  it('follow() takes in the complete lines another process appended, and reads a file rotated under it again', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'audit.log');
    await writeFile(file, `${JSON.stringify(entry(1))}\n`);
    const reader = await AuditFile.open({ runtimeDir: dir });
    const writer = await AuditFile.open({ runtimeDir: dir });
    await writer.append([entry(2), entry(3)]);
    expect(reader.lastVersion('CONFIG')).toBe(1);
    await reader.follow();
    expect(reader.lastVersion('CONFIG')).toBe(3);
    expect(reader.last(5).map((e) => e.version)).toEqual([3, 2, 1]);
    // A line still being written (no newline yet) waits for its newline.
    await writeFile(file, `${await readFile(file, 'utf8')}${JSON.stringify(entry(4)).slice(0, 20)}`);
    await reader.follow();
    expect(reader.lastVersion('CONFIG')).toBe(3);
    // Rotated: a shorter file is read again from its start.
    await writeFile(file, `${JSON.stringify(entry(7))}\n`);
    await reader.follow();
    expect(reader.last(5).map((e) => e.version)).toEqual([7]);
    expect(reader.lastVersion('CONFIG')).toBe(7);
  });

  it('follow() after the file was cut short and written past its old end meanwhile reads it again: not from the old offset, mid-line', async () => {
    // A runner beside the API: audit.log cut short by hand (40 bytes), then the API's next change
    // appended to what was there, the file longer than the runner had read. Read from its old
    // offset, the new line was read from its middle, did not parse, and the runner waited for an
    // audit line that was there (ERROR, the change not applied).
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'audit.log');
    await writeFile(file, `${JSON.stringify(entry(1))}\n`);
    const reader = await AuditFile.open({ runtimeDir: dir });
    const writer = await AuditFile.open({ runtimeDir: dir, warn: () => {} });
    await writer.append([entry(2), entry(3)]);
    await reader.follow();
    expect(reader.lastVersion('CONFIG')).toBe(3);
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(file));
    await truncate(file, size - 40);
    await writer.append([entry(4)]);
    await reader.follow();
    expect(reader.lastVersion('CONFIG')).toBe(4);
    expect(reader.last(5).map((e) => e.version)).toContain(4);
    // Its last line replaced by another of the same length: the size alone says nothing changed.
    const text = await readFile(file, 'utf8');
    const lastLine = text.slice(text.lastIndexOf('\n', text.length - 2) + 1);
    const line5 = `${JSON.stringify(entry(5))}\n`;
    expect(line5.length).toBe(lastLine.length);
    await writeFile(file, text.slice(0, text.length - lastLine.length) + line5);
    expect((await readFile(file)).length).toBe(text.length);
    await reader.follow();
    expect(reader.lastVersion('CONFIG')).toBe(5);
  });

  it('skips a line in the middle that is not an entry (with a warning) and keeps the rest', async () => {
    const dir = await tempRuntimeDir();
    await writeFile(path.join(dir, 'audit.log'), `${JSON.stringify(entry(1))}\nnot json\n{"version":2}\n${JSON.stringify(entry(3))}\n`);
    const warnings: string[] = [];
    const log = await AuditFile.open({ runtimeDir: dir, warn: (m) => warnings.push(m) });
    expect(log.last(10).map((e) => e.version)).toEqual([3, 1]);
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
    const noAside: FileSystem = {
      ...nodeFileSystem,
      open: (f, flags, mode) =>
        flags === 'wx' ? Promise.reject(Object.assign(new Error('EACCES'), { code: 'EACCES' })) : nodeFileSystem.open(f, flags, mode),
    };
    const warnings: string[] = [];
    const log = await AuditFile.open({ runtimeDir: dir, fs: noAside, warn: (m) => warnings.push(m) });
    await log.repair();
    expect(warnings[0]).toContain('could not be set aside (EACCES)');
    await log.append([entry(2)]);
    const reopened = await AuditFile.open({ runtimeDir: dir, warn: () => {} });
    expect(reopened.last(10).map((e) => e.version)).toEqual([2, 1]);
    expect(await readFile(file, 'utf8')).toContain('{"time":"2026\n');
  });

  it('an append that fails half-way is cut back, so the file holds only complete lines', async () => {
    const dir = await tempRuntimeDir();
    let fail = true;
    const flaky = withHandles((real) => ({
      write: async (data) => {
        if (!fail) return real.write(data);
        await real.write(data.slice(0, 10));
        throw Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
      },
    }));
    const log = await AuditFile.open({ runtimeDir: dir, fs: flaky });
    const failed = await log.append([entry(1)]).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(ConfigWriteError);
    expect(failed).toMatchObject({ step: 'audit append', errno: 'ENOSPC' });
    expect(await readFile(path.join(dir, 'audit.log'), 'utf8')).toBe('');
    fail = false;
    await log.append([entry(1)]);
    expect((await AuditFile.open({ runtimeDir: dir })).last(5).map((e) => e.version)).toEqual([1]);
  });

  it('an audit log removed or cut short since this process wrote it is warned about, once per loss, and appended to cleanly', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'audit.log');
    const warnings: string[] = [];
    const log = await AuditFile.open({ runtimeDir: dir, warn: (m) => warnings.push(m) });
    await log.append([entry(1), entry(2)]);
    await log.append([entry(3)]);
    expect(warnings).toEqual([]);

    await rm(file); // an operator's rm, a rotation that moves it away
    await log.append([entry(4)]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${file} was missing (removed or rotated away since this process last wrote it): a new one was started`);
    expect(warnings[0]).toContain('history and rollback answer from the entries this process still holds in memory');
    expect(
      (await readFile(file, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).version),
    ).toEqual([4]);
    await log.append([entry(5)]);
    expect(warnings).toHaveLength(1);

    await truncate(file, 0); // a copytruncate rotation
    await log.append([entry(6)]);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toContain('was shorter than this process had written it (truncated, or replaced by another file)');
    expect((await AuditFile.open({ runtimeDir: dir })).last(10).map((e) => e.version)).toEqual([6]);
    // In memory, the history this process saw stays.
    expect(log.last(10).map((e) => e.version)).toEqual([6, 5, 4, 3, 2, 1]);
  });

  it('an append that fails after the file was removed cuts the new file back to nothing, not to the old size (no NUL padding)', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'audit.log');
    let fail = false;
    const flaky = withHandles((real) => ({
      sync: async () => {
        if (fail) throw Object.assign(new Error('EIO'), { code: 'EIO' });
        return real.sync();
      },
    }));
    const log = await AuditFile.open({ runtimeDir: dir, fs: flaky, warn: () => {} });
    await log.append([entry(1), entry(2), entry(3)]);
    await rm(file);
    fail = true;
    await expect(log.append([entry(4)])).rejects.toMatchObject({ step: 'audit fsync', errno: 'EIO' });
    // Cut back to the 0 bytes the new file had, not extended with zeros to the old file's size.
    expect(await readFile(file, 'utf8')).toBe('');
    fail = false;
    await log.append([entry(4)]);
    expect((await AuditFile.open({ runtimeDir: dir })).last(10).map((e) => e.version)).toEqual([4]);
  });

  it('an append after someone else wrote a torn line starts on a new line, so no real entry is swallowed', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'audit.log');
    const log = await AuditFile.open({ runtimeDir: dir });
    await log.append([entry(1)]);
    await writeFile(file, `${await readFile(file, 'utf8')}{"torn":`); // another writer, mid-line
    await log.append([entry(2)]);
    expect((await AuditFile.open({ runtimeDir: dir, warn: () => {} })).last(5).map((e) => e.version)).toEqual([2, 1]);
  });
});
