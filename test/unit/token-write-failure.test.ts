import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { stratctl } from '../helpers/stratctl.js';

/** While set, writing a file whose name contains it fails with ENOSPC (a full disk; no root needed). */
const full = vi.hoisted(() => ({ matching: null as string | null }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const writeFile: typeof actual.writeFile = async (file, ...rest) => {
    if (full.matching !== null && String(file).includes(full.matching))
      throw Object.assign(new Error(`ENOSPC: no space left on device, open '${String(file)}'`), { code: 'ENOSPC' });
    return actual.writeFile(file, ...rest);
  };
  return { ...actual, default: { ...actual, writeFile }, writeFile };
});

describe('stratctl token on a full disk (ENOSPC): the lock could not be made', () => {
  it('says so in one line, exit 1, and the token stays valid', async () => {
    const dir = await tempRuntimeDir();
    expect((await stratctl(['token', 'create', '--name', 'a1', '--scope', 'read', '--runtime-dir', dir])).code).toBe(0);
    full.matching = `${path.sep}tokens.yaml.lock`;
    try {
      const revoke = await stratctl(['token', 'revoke', 'a1', '--runtime-dir', dir]);
      expect([revoke.code, revoke.stderr]).toEqual([
        1,
        'stratctl token revoke: could not write tokens.yaml.lock (ENOSPC): nothing changed; token "a1" is still valid\n',
      ]);
    } finally {
      full.matching = null;
    }
    expect((await stratctl(['token', 'list', '--json', '--runtime-dir', dir])).stdout).toContain('"name": "a1"');
  });
});
