import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { acquireLock } from '../../src/lock.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

/** When set, a write creates its file and then fails as a full disk does (ENOSPC after the open). */
const full = vi.hoisted(() => ({ on: false }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const writeFile: typeof real.writeFile = async (file, data, options) => {
    if (!full.on) return real.writeFile(file, data, options);
    await real.writeFile(file, '', options);
    throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC' });
  };
  return { ...real, default: { ...real, writeFile }, writeFile };
});

describe('acquireLock on a full disk', () => {
  it('fails with the disk error and leaves no temp file behind', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, '.lock');
    full.on = true;
    try {
      await expect(acquireLock(file)).rejects.toMatchObject({ code: 'ENOSPC' });
    } finally {
      full.on = false;
    }
    expect(await readdir(dir)).toEqual([]);
    // Space again: taken as usual.
    const lock = await acquireLock(file);
    expect(await readdir(dir)).toEqual(['.lock']);
    await lock.release();
  });
});
