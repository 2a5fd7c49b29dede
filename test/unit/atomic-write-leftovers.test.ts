import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { AtomicWriteError, leftoverTempCount, writeFileAtomic } from '../../src/fs/atomic-write.js';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';
import { fsError } from '../helpers/faulty-fs.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/**
 * The directory turns unwritable after a write's temp file was made (the runtime dir chmod 000 by
 * an operator, mid-heartbeat): renames and removals are refused (EACCES) until `writable()`.
 */
function directoryTurnsUnwritable(): FileSystem & { writable(): void } {
  let unwritable = false;
  let restored = false;
  const refuse = (syscall: string, file: string) => {
    if (unwritable) throw fsError('EACCES', syscall, file);
  };
  return {
    ...nodeFileSystem,
    async rename(from, to) {
      unwritable ||= !restored;
      refuse('rename', from);
      await nodeFileSystem.rename(from, to);
    },
    async unlink(file) {
      refuse('unlink', file);
      await nodeFileSystem.unlink(file);
    },
    writable() {
      unwritable = false;
      restored = true;
    },
  };
}

it("a failed write's temp file that could not be removed then is removed by the next write that succeeds in its directory", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atomic-leftovers-'));
  dirs.push(dir);
  const file = path.join(dir, 'runner-state.json');
  const fs = directoryTurnsUnwritable();
  const failure = await writeFileAtomic(file, 'first\n', { fs, durable: false }).catch((err: unknown) => err);
  expect(failure).toBeInstanceOf(AtomicWriteError);
  expect(failure).toMatchObject({ step: 'rename', errno: 'EACCES' });
  // Left, as the runner left it in a clean-clone CI run (removed only by the next start, before).
  const temps = async () => (await readdir(dir)).filter((name) => name.startsWith('.'));
  expect(await temps()).toHaveLength(1);
  expect(leftoverTempCount()).toBe(1);
  // Still unwritable: the next write fails too, and its own temp is kept for later with the first.
  expect(await writeFileAtomic(file, 'second\n', { fs, durable: false }).catch((err: unknown) => err)).toBeInstanceOf(AtomicWriteError);
  expect(await temps()).toHaveLength(2);
  // Writable again: the next write puts its file in place and removes both.
  fs.writable();
  await writeFileAtomic(file, 'third\n', { fs, durable: false });
  expect(await readFile(file, 'utf8')).toBe('third\n');
  expect(await temps()).toEqual([]);
  expect(leftoverTempCount()).toBe(0);
});

it('a write in another directory leaves them be; a temp already gone is forgotten', async () => {
  const [a, b] = [await mkdtemp(path.join(os.tmpdir(), 'atomic-leftovers-')), await mkdtemp(path.join(os.tmpdir(), 'atomic-leftovers-'))];
  dirs.push(a, b);
  const fs = directoryTurnsUnwritable();
  await expect(writeFileAtomic(path.join(a, 'state.json'), 'x\n', { fs, durable: false })).rejects.toBeInstanceOf(AtomicWriteError);
  expect(leftoverTempCount()).toBe(1);
  fs.writable();
  await writeFileAtomic(path.join(b, 'state.json'), 'y\n', { fs, durable: false });
  expect((await readdir(a)).filter((name) => name.startsWith('.'))).toHaveLength(1);
  expect(leftoverTempCount()).toBe(1);
  // Removed by someone else meanwhile (a start's sweep of stray temp files): nothing to do, and not kept.
  for (const name of await readdir(a)) if (name.startsWith('.')) await rm(path.join(a, name));
  await writeFileAtomic(path.join(a, 'state.json'), 'z\n', { fs, durable: false });
  expect(leftoverTempCount()).toBe(0);
});

/** The temp files it is asked to create (`open` with 'wx'), in order; renames and removals refused while `refusing`. */
function recordingTemps(): FileSystem & { temps: string[]; refusing: boolean } {
  const fs = {
    ...nodeFileSystem,
    temps: [] as string[],
    refusing: false,
    async open(file: string, flags: string, mode?: number) {
      if (flags === 'wx') fs.temps.push(path.basename(file));
      return nodeFileSystem.open(file, flags, mode);
    },
    async rename(from: string, to: string) {
      if (fs.refusing) throw fsError('EACCES', 'rename', from);
      await nodeFileSystem.rename(from, to);
    },
    async unlink(file: string) {
      if (fs.refusing) throw fsError('EACCES', 'unlink', file);
      await nodeFileSystem.unlink(file);
    },
  };
  return fs;
}

it("a write that succeeded gives its temp name to the next write of the file; a failed write's name is never taken again", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atomic-names-'));
  dirs.push(dir);
  const file = path.join(dir, 'runner-state.json');
  const other = path.join(dir, 'other.json');
  const fs = recordingTemps();
  // Every name made and removed in a directory stays in the kernel's dentry cache, and each watch
  // added to the directory walks them all: one name per file, reused, not one per write.
  for (let i = 0; i < 5; i++) await writeFileAtomic(file, `${i}\n`, { fs });
  await writeFileAtomic(other, 'x\n', { fs });
  expect(new Set(fs.temps.slice(0, 5)).size).toBe(1);
  expect(fs.temps[0]).toMatch(new RegExp(`^\\.runner-state\\.json\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`));
  // Another file, another name.
  expect(fs.temps[5]).toMatch(/^\.other\.json\./);
  expect(fs.temps[5]).not.toBe(fs.temps[0]);
  // Refused (the directory unwritable): the temp stays as a leftover, and its name is not used again.
  fs.refusing = true;
  await expect(writeFileAtomic(file, 'refused\n', { fs, durable: false })).rejects.toBeInstanceOf(AtomicWriteError);
  expect(fs.temps[6]).toBe(fs.temps[0]);
  expect(leftoverTempCount()).toBe(1);
  fs.refusing = false;
  await writeFileAtomic(file, 'after\n', { fs, durable: false });
  expect(fs.temps[7]).not.toBe(fs.temps[6]);
  expect(await readFile(file, 'utf8')).toBe('after\n');
  expect((await readdir(dir)).filter((name) => name.startsWith('.'))).toEqual([]);
  expect(leftoverTempCount()).toBe(0);
  // The leftover was removed by that write, but a failed write's name stays retired: the next takes the one that succeeded.
  await writeFileAtomic(file, 'again\n', { fs, durable: false });
  expect(fs.temps[8]).toBe(fs.temps[7]);
});
