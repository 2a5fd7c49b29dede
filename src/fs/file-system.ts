import {
  closeSync,
  constants,
  fsyncSync,
  linkSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import * as fsp from 'node:fs/promises';
import { makeDirs, makeDirsSync } from './make-dirs.js';
import {
  openRuntimeFileForAppend,
  openRuntimeFileForAppendSync,
  openRuntimeFileForRead,
  openRuntimeFileForReadSync,
  type ReadableRuntimeFile,
  type RuntimeFileChecks,
  readRuntimeBytes,
  readRuntimeBytesSync,
} from './runtime-file.js';

/**
 * The file-system operations the stores use, and nothing else: the seam through which tests inject
 * faults (ENOSPC on write, EIO on fsync, EACCES on rename, a torn audit append, ...).
 */
export interface FileSystem {
  /** A runtime file, read the one safe way (src/fs/runtime-file.ts): no link followed, no FIFO, checked before read. */
  readFile(file: string, checks?: RuntimeFileChecks): Promise<Buffer>;
  /** A runtime file opened (and checked) once to read parts of it: the audit log, read from its end and followed. */
  openRead(file: string, checks?: RuntimeFileChecks): Promise<ReadableRuntimeFile>;
  /** flags as for fs.open: 'wx' (new file), 'a' (append, created when missing; opened as a runtime file) ... */
  open(file: string, flags: string, mode?: number): Promise<WritableFile>;
  rename(from: string, to: string): Promise<void>;
  /** A second name for `from` (link(2)): fails with EEXIST when `to` exists, never replacing it. */
  link(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  truncate(file: string, size: number): Promise<void>;
  mkdir(dir: string): Promise<void>;
  /** fsync of a directory, so a rename in it is durable. */
  syncDir(dir: string): Promise<void>;
  stat(file: string): Promise<{ mode: number; mtimeMs: number; size: number; ino: number }>;
  /** Names in a directory. */
  readdir(dir: string): Promise<string[]>;
  /**
   * `file` kept open (read-only, no link followed, never blocking) until `release`: a rename over it
   * then only unlinks it, and its inode is freed when it is released. ext4 frees the replaced file's
   * blocks inside rename(2) itself, ~0.1-0.2 ms of a group commit's path on this disk; a group
   * releases them after its answer (config/file-io.ts). Null when it cannot be opened (missing, a
   * link): nothing is held. Optional: a file system without it (a test's) frees inside the rename.
   */
  hold?(file: string): Promise<HeldFile | null>;
}

export interface HeldFile {
  release(): Promise<void>;
}

/** How `hold` opens a file: a link, a FIFO with no writer or a device never makes it wait or follow. */
const HOLD_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export interface WritableFile {
  write(data: string): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export const nodeFileSystem: FileSystem = {
  readFile: async (file, checks) => (await readRuntimeBytes(file, checks)).bytes,
  openRead: (file, checks) => openRuntimeFileForRead(file, checks),
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
  link: (from, to) => fsp.link(from, to),
  unlink: (file) => fsp.unlink(file),
  truncate: (file, size) => fsp.truncate(file, size),
  mkdir: (dir) => makeDirs(dir),
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
  hold: (file) =>
    fsp.open(file, HOLD_FLAGS).then(
      (handle) => ({ release: () => handle.close() }),
      () => null,
    ),
};

/**
 * The same operations with node's synchronous calls, for a thread that does nothing but file I/O
 * (the file store's I/O worker, config/file-io-worker.ts). Through the promise API each of a group
 * write's ~14 calls is a trip to libuv's thread pool and back; on a busy 2-core machine each of
 * those wake-ups may wait for a core, and they made most of an activation's round trip and its
 * tail. Same calls, same order, same errors (a failed call rejects with node's error). Reads too: a
 * group reads both files before it judges, and each file again just before its rename.
 */
export const syncNodeFileSystem: FileSystem = {
  readFile: async (file, checks) => readRuntimeBytesSync(file, checks).bytes,
  openRead: async (file, checks) => openRuntimeFileForReadSync(file, checks),
  async open(file, flags, mode) {
    const fd = flags === 'a' ? openRuntimeFileForAppendSync(file, mode ?? 0o600) : openSync(file, flags, mode);
    return {
      write: async (data) => writeFileSync(fd, data, 'utf8'),
      sync: async () => fsyncSync(fd),
      close: async () => closeSync(fd),
    };
  },
  rename: async (from, to) => renameSync(from, to),
  link: async (from, to) => linkSync(from, to),
  unlink: async (file) => unlinkSync(file),
  truncate: async (file, size) => truncateSync(file, size),
  mkdir: async (dir) => makeDirsSync(dir),
  async syncDir(dir) {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
  stat: async (file) => statSync(file),
  readdir: async (dir) => readdirSync(dir),
  async hold(file) {
    let fd: number;
    try {
      fd = openSync(file, HOLD_FLAGS);
    } catch {
      return null;
    }
    return { release: async () => closeSync(fd) };
  },
};

export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
