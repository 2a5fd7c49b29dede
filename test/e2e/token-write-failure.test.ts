import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { STRATCTL_BIN, spawnProcess } from '../helpers/server.js';
import { cliEnv, stratctl } from '../helpers/stratctl.js';

/**
 * A disk that refuses the write, without root: the file size limit (`ulimit -f`, SIGXFSZ ignored)
 * makes every write past it fail with EFBIG, as a full disk fails one with ENOSPC. 0 refuses the lock
 * itself; one 512-byte block lets the lock (about 150 bytes) through and refuses tokens.yaml.
 */
async function limitedStratctl(blocks: number, args: string[]) {
  const child = spawnProcess('sh', ['-c', `trap '' XFSZ; ulimit -f ${blocks}; exec "$0" "$@"`, process.execPath, STRATCTL_BIN, ...args], {
    env: cliEnv({ CONTROL_PLANE_LOG_FORMAT: 'text' }),
  });
  const code = await child.exited;
  await child.closed;
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

describe('stratctl token on a disk that refuses the write (it printed "unexpected error" and a stack)', () => {
  it('one line naming the file, the errno and that nothing changed; exit 1 (a failed write); tokens.yaml as it was', async () => {
    const dir = await tempRuntimeDir();
    for (const name of ['a1', 'a2', 'a3', 'a4', 'a5'])
      expect((await stratctl(['token', 'create', '--name', name, '--scope', 'read', '--runtime-dir', dir])).code).toBe(0);
    const file = path.join(dir, 'tokens.yaml');
    const before = await readFile(file, 'utf8');
    expect(before.length).toBeGreaterThan(512);

    const revoke = await limitedStratctl(0, ['token', 'revoke', 'a1', '--runtime-dir', dir]);
    expect([revoke.code, revoke.stdout, revoke.stderr]).toEqual([
      1,
      '',
      'stratctl token revoke: could not write tokens.yaml.lock (EFBIG): nothing changed; token "a1" is still valid\n',
    ]);
    const rotate = await limitedStratctl(1, ['token', 'rotate', 'a1', '--runtime-dir', dir]);
    expect([rotate.code, rotate.stdout, rotate.stderr]).toEqual([
      1,
      '',
      'stratctl token rotate: could not write tokens.yaml (EFBIG): nothing changed; token "a1" keeps its current secret\n',
    ]);
    const create = await limitedStratctl(1, ['token', 'create', '--name', 'b1', '--scope', 'read', '--runtime-dir', dir, '--json']);
    expect(create.code).toBe(1);
    expect(JSON.parse(create.stdout)).toEqual({
      error: {
        code: 'WRITE_FAILED',
        message: 'could not write tokens.yaml (EFBIG): nothing changed; no token "b1" was made',
        errno: 'EFBIG',
      },
    });
    expect(await readFile(file, 'utf8')).toBe(before);
  });
});
