import { execFileSync } from 'node:child_process';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type RuntimeFileChecks, readRuntimeBytes, readRuntimeBytesSync } from '../../src/fs/runtime-file.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

type Read = (file: string, checks?: RuntimeFileChecks) => Promise<{ bytes: Buffer; stat: { size: number; ino: number } }>;

// The file store's I/O thread reads with the synchronous version; everything else with the async one.
// Both must read and refuse exactly alike.
const READERS: [string, Read][] = [
  ['readRuntimeBytes', readRuntimeBytes],
  ['readRuntimeBytesSync', async (file, checks) => readRuntimeBytesSync(file, checks)],
];

describe.each(READERS)('%s', (_name, read) => {
  it('reads a regular file whole, with its stat', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    const text = `version: 1\n${'x'.repeat(70 * 1024)}\n`; // more than one 64 KiB chunk
    await writeFile(file, text);
    const { bytes, stat } = await read(file, { runtimeDir: dir });
    expect(bytes.toString('utf8')).toBe(text);
    expect(stat.size).toBe(Buffer.byteLength(text));
  });

  it('a file of exactly the limit is read; one byte more is refused, naming the limit', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, 'a'.repeat(100));
    expect((await read(file, { maxBytes: 100 })).bytes.length).toBe(100);
    await writeFile(file, 'a'.repeat(101));
    await expect(read(file, { maxBytes: 100 })).rejects.toMatchObject({
      name: 'RuntimeFileRefusedError',
      problem: 'too-large',
      message: 'config.yaml is 101 bytes, over the limit of 100 bytes',
    });
  });

  it('refuses a FIFO without blocking, a directory, a device and a symbolic link, saying what each is', async () => {
    const dir = await tempRuntimeDir();
    execFileSync('mkfifo', [path.join(dir, 'fifo.yaml')]);
    await mkdir(path.join(dir, 'dir.yaml'));
    await writeFile(path.join(dir, 'real.yaml'), 'version: 1\n');
    await symlink(path.join(dir, 'real.yaml'), path.join(dir, 'link.yaml'));
    await expect(read(path.join(dir, 'fifo.yaml'))).rejects.toMatchObject({
      problem: 'not-a-file',
      message: 'fifo.yaml is a named pipe (FIFO)',
    });
    await expect(read(path.join(dir, 'dir.yaml'))).rejects.toMatchObject({ problem: 'not-a-file', message: 'dir.yaml is a directory' });
    await expect(read('/dev/null')).rejects.toMatchObject({ problem: 'not-a-file', message: 'null is a character device' });
    await expect(read(path.join(dir, 'link.yaml'))).rejects.toMatchObject({ problem: 'symlink', message: 'link.yaml is a symbolic link' });
  });

  it('refuses a file outside the runtime directory (by realpath: a linked parent directory counts as outside)', async () => {
    const dir = await tempRuntimeDir();
    const elsewhere = await tempRuntimeDir();
    await writeFile(path.join(elsewhere, 'config.yaml'), 'version: 1\n');
    await symlink(elsewhere, path.join(dir, 'sub'));
    await expect(read(path.join(dir, 'sub', 'config.yaml'), { runtimeDir: dir })).rejects.toMatchObject({
      problem: 'outside',
      message: 'config.yaml is outside the runtime directory',
    });
    expect((await read(path.join(elsewhere, 'config.yaml'), { runtimeDir: elsewhere })).bytes.toString()).toBe('version: 1\n');
  });

  it('a secret that others may write is refused; a missing file throws ENOENT as fs does', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'tokens.yaml');
    await writeFile(file, 'tokens: []\n');
    await chmod(file, 0o622);
    await expect(read(file, { secret: true })).rejects.toMatchObject({ problem: 'writable-by-others' });
    await chmod(file, 0o600);
    expect((await read(file, { secret: true })).bytes.toString()).toBe('tokens: []\n');
    await expect(read(path.join(dir, 'missing.yaml'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
