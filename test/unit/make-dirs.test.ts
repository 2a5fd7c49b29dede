import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDirs, makeDirsSync } from '../../src/fs/make-dirs.js';

describe('makeDirs: mkdir -p one level at a time (the README helper session F2)', () => {
  it('makes every missing level, and is fine with what exists', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'scp-mkdirs-'));
    try {
      await makeDirs(path.join(root, 'a/b/c'));
      expect((await stat(path.join(root, 'a/b/c'))).isDirectory()).toBe(true);
      await makeDirs(path.join(root, 'a/b/c'));
      makeDirsSync(path.join(root, 'a/x/y'));
      expect((await stat(path.join(root, 'a/x/y'))).isDirectory()).toBe(true);
      await writeFile(path.join(root, 'file'), '');
      await expect(makeDirs(path.join(root, 'file/sub'))).rejects.toMatchObject({ code: 'ENOTDIR' });
      expect(() => makeDirsSync(path.join(root, 'file/sub'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  // Node's recursive mkdir never returns here: the test would hang (its timeout is the failure).
  it.runIf(existsSync('/proc/sys'))(
    'a path under /proc/sys fails at once, where a recursive mkdir spins forever',
    async () => {
      await expect(makeDirs('/proc/sys/scp-not-a-sysctl/runtime')).rejects.toMatchObject({ code: 'ENOENT' });
      expect(() => makeDirsSync('/proc/sys/scp-not-a-sysctl')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    },
    5_000,
  );
});
