import { readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigWriteError } from '../../src/config/errors.js';
import { writeGroup } from '../../src/config/file-io.js';
import { leftoverTempCount } from '../../src/fs/atomic-write.js';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';
import { fsError } from '../helpers/faulty-fs.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const dotFiles = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('.') && name.endsWith('.tmp'));

describe('an aside a failed group could not remove', () => {
  it('is removed by the next group that succeeds (the runtime dir unwritable for a while)', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    const audit = path.join(dir, 'audit.log');
    await writeFile(file, 'version: 1\n');
    // The directory turns unwritable right after the new config is in place (a chmod 000 of the
    // runtime dir mid-write): the audit append, the put back and every removal are refused.
    let unwritable = false;
    let restored = false;
    const refuse = (syscall: string, target: string) => {
      if (unwritable) throw fsError('EACCES', syscall, target);
    };
    const fs: FileSystem = {
      ...nodeFileSystem,
      async rename(from, to) {
        refuse('rename', from);
        await nodeFileSystem.rename(from, to);
        if (!restored && to === file) unwritable = true;
      },
      async link(from, to) {
        refuse('link', from);
        await nodeFileSystem.link(from, to);
        if (!restored && to === file) unwritable = true;
      },
      async unlink(target) {
        refuse('unlink', target);
        await nodeFileSystem.unlink(target);
      },
      async open(target, flags, mode) {
        if (flags === 'a') refuse('open', target);
        return nodeFileSystem.open(target, flags, mode);
      },
    };
    const plan = (text: string, previous: string) => ({
      writes: [{ file, text, previous, unlessChanged: true }],
      audit: { file: audit, text: '{}\n', knownSize: 0 },
      checks: { runtimeDir: dir },
    });
    const failure = await writeGroup(fs, plan('version: 2\n', 'version: 1\n')).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ConfigWriteError);
    expect(dotFiles(dir).length).toBeGreaterThan(0); // what could not be removed then
    unwritable = false;
    restored = true;
    const onDisk = await readFile(file, 'utf8');
    await writeGroup(fs, plan('version: 3\n', onDisk));
    expect(await readFile(file, 'utf8')).toBe('version: 3\n');
    expect(dotFiles(dir)).toEqual([]);
    expect(leftoverTempCount()).toBe(0);
  });
});
