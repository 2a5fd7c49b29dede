import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { ConfigWriteError } from './errors.js';

/**
 * The file-system operations the store uses, and nothing else: the seam through which tests inject
 * faults (ENOSPC on write, EIO on fsync, EACCES on rename, ...).
 */
export interface FileSystem {
  readFile(file: string): Promise<string>;
  open(file: string, flags: string, mode?: number): Promise<WritableFile>;
  rename(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  mkdir(dir: string): Promise<void>;
  /** fsync of a directory, so a rename in it is durable. */
  syncDir(dir: string): Promise<void>;
  stat(file: string): Promise<{ mode: number; mtimeMs: number; size: number; ino: number }>;
  /** Names in a directory. */
  readdir(dir: string): Promise<string[]>;
}

export interface WritableFile {
  write(data: string): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export const nodeFileSystem: FileSystem = {
  readFile: (file) => fsp.readFile(file, 'utf8'),
  async open(file, flags, mode) {
    const handle = await fsp.open(file, flags, mode);
    return {
      write: async (data) => {
        await handle.writeFile(data, 'utf8');
      },
      sync: () => handle.sync(),
      close: () => handle.close(),
    };
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: (file) => fsp.unlink(file),
  mkdir: async (dir) => {
    await fsp.mkdir(dir, { recursive: true });
  },
  async syncDir(dir) {
    const handle = await fsp.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  stat: (file) => fsp.stat(file),
  readdir: (dir) => fsp.readdir(dir),
};

export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Replaces `file` with `content` so that a reader (or a crash) sees the old file or the new one,
 * never a mix: temp file in the same directory, fsync, rename over, fsync the directory.
 * On failure before the rename the temp file is removed, the old file stands, and a ConfigWriteError
 * names the step. Resolves to false when only the final directory fsync failed: the new file is in
 * place and visible (so the change did happen), but its directory entry is not proven durable.
 */
const tempNameOf = (file: string) => new RegExp(`^\\.${path.basename(file).replace(/[.]/g, '\\.')}\\.(\\d+)\\.[0-9a-f]{12}\\.tmp$`);

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) === 'EPERM';
  }
}

/**
 * Removes the temp files a killed writer of `file` left behind (a crash between open and rename).
 * A temp file is left alone while the process that made it runs and the file is young, so a live
 * writer in another process (or this one) is never disturbed. Returns the names removed.
 */
export async function removeStrayTempFiles(fs: FileSystem, file: string, now = Date.now()): Promise<string[]> {
  const dir = path.dirname(file);
  const pattern = tempNameOf(file);
  const removed: string[] = [];
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const match = pattern.exec(name);
    if (!match) continue;
    const full = path.join(dir, name);
    const stat = await fs.stat(full).catch(() => null);
    if (!stat) continue;
    const young = now - stat.mtimeMs < 10 * 60_000;
    if (young && processIsAlive(Number(match[1]))) continue;
    await fs.unlink(full).then(
      () => removed.push(name),
      () => {},
    );
  }
  return removed;
}

export async function writeFileAtomic(fs: FileSystem, file: string, content: string, mode = 0o644): Promise<boolean> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let step = 'open temp file';
  let handle: WritableFile | undefined;
  try {
    handle = await fs.open(temp, 'wx', mode);
    step = 'write';
    await handle.write(content);
    step = 'fsync';
    await handle.sync();
    step = 'close';
    await handle.close();
    handle = undefined;
    step = 'rename';
    await fs.rename(temp, file);
  } catch (err) {
    await handle?.close().catch(() => {});
    await fs.unlink(temp).catch(() => {});
    throw new ConfigWriteError(step, errnoOf(err), { cause: err });
  }
  try {
    await fs.syncDir(dir);
    return true;
  } catch {
    return false;
  }
}
