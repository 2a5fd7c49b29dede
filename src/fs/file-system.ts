import * as fsp from 'node:fs/promises';
import { openRuntimeFileForAppend, type RuntimeFileChecks, readRuntimeBytes } from './runtime-file.js';

/**
 * The file-system operations the stores use, and nothing else: the seam through which tests inject
 * faults (ENOSPC on write, EIO on fsync, EACCES on rename, a torn audit append, ...).
 */
export interface FileSystem {
  /** A runtime file, read the one safe way (src/fs/runtime-file.ts): no link followed, no FIFO, checked before read. */
  readFile(file: string, checks?: RuntimeFileChecks): Promise<Buffer>;
  /** flags as for fs.open: 'wx' (new file), 'a' (append, created when missing; opened as a runtime file) ... */
  open(file: string, flags: string, mode?: number): Promise<WritableFile>;
  rename(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  truncate(file: string, size: number): Promise<void>;
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
  readFile: async (file, checks) => (await readRuntimeBytes(file, checks)).bytes,
  async open(file, flags, mode) {
    const handle = flags === 'a' ? await openRuntimeFileForAppend(file, mode ?? 0o600) : await fsp.open(file, flags, mode);
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
  truncate: (file, size) => fsp.truncate(file, size),
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
