import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { MAX_RUNTIME_FILE_BYTES } from '../limit-defaults.js';
import type { FileSystem } from './file-system.js';

/** Limits on what the server reads from its runtime directory (the store's, not HTTP's). */
export interface RuntimeFileLimits {
  /** config.yaml, strategies.yaml, tokens.yaml: refused when larger. */
  maxRuntimeFileBytes: number;
  /** How long one parse of such a file may take in the parse worker. */
  parseDeadlineMs: number;
}

/** What a runtime file must be before a byte of it is read. */
export interface RuntimeFileChecks {
  /** The file must be inside this directory by realpath (unset: no containment check). */
  readonly runtimeDir?: string;
  /** Refused when larger (default 1 MiB); `Infinity` for the server's own append-only audit log. */
  readonly maxBytes?: number;
  /** Holds credentials (tokens.yaml, admin.token): owned by this process's user or root, not group- or world-writable. */
  readonly secret?: boolean;
  /** A symbolic link is followed, not refused (stratctl's admin.token: a mounted secret is a link). */
  readonly followLink?: boolean;
}

export type RuntimeFileProblem =
  | 'not-a-file'
  | 'symlink'
  | 'too-large'
  | 'outside'
  | 'writable-by-others'
  | 'foreign-owner'
  | 'unreadable'
  /** Read, but what it holds cannot be used (an admin.token that is no token). */
  | 'unusable';

/**
 * A runtime file refused before it was read. The message names the file by its base name and says
 * what it is (`config.yaml is a directory`): it is shown to API clients like an invalid file's problem.
 */
export class RuntimeFileRefusedError extends Error {
  override name = 'RuntimeFileRefusedError';
  readonly code = 'ERUNTIMEFILE';
  constructor(
    /** The full path (for the server log only). */
    readonly file: string,
    readonly problem: RuntimeFileProblem,
    /** What the file is, after its name (`is a directory`). */
    readonly detail: string,
    /** Its size as fstat saw it, for one refused as too large. */
    readonly size?: number,
  ) {
    super(`${path.basename(file)} ${detail}`);
  }
}

/** Metadata of the file as read, from the same descriptor (no race between the check and the read). */
export interface RuntimeFileStat {
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly ino: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;
const readFlags = (checks: RuntimeFileChecks) => (checks.followLink ? READ_FLAGS & ~constants.O_NOFOLLOW : READ_FLAGS);
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK | constants.O_NOFOLLOW;

/** What a file that is not a regular one is, in words (a refusal's reason). */
export function kindOf(stat: import('node:fs').Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** An open's error as a refusal where it means one (else as it was). */
function openRefusal(file: string, err: unknown, flags: number): unknown {
  // Not readable by this process (a chmod, another owner, a directory it may not enter): reported
  // like an invalid file, so status and /ready say so and changes are refused (409). It was thrown
  // as it came: the check once a second dropped it (status and /ready stayed green) and every
  // change answered 500 "Unexpected error.".
  const code = (err as NodeJS.ErrnoException).code;
  if ((flags & (constants.O_WRONLY | constants.O_RDWR)) === 0 && (code === 'EACCES' || code === 'EPERM'))
    return new RuntimeFileRefusedError(
      file,
      'unreadable',
      `cannot be read by this process (${code}): check its mode, its owner and its directory's`,
    );
  // O_NOFOLLOW: the last component is a symbolic link.
  if ((err as NodeJS.ErrnoException).code === 'ELOOP') return new RuntimeFileRefusedError(file, 'symlink', 'is a symbolic link');
  // O_NONBLOCK on a FIFO opened for writing with no reader.
  if ((err as NodeJS.ErrnoException).code === 'ENXIO') return new RuntimeFileRefusedError(file, 'not-a-file', 'is a named pipe (FIFO)');
  return err;
}

async function openChecked(file: string, flags: number, mode: number | undefined): Promise<fsp.FileHandle> {
  try {
    return await fsp.open(file, flags, mode);
  } catch (err) {
    throw openRefusal(file, err, flags);
  }
}

function openCheckedSync(file: string, flags: number, mode: number | undefined): number {
  try {
    return openSync(file, flags, mode);
  } catch (err) {
    throw openRefusal(file, err, flags);
  }
}

/** The checks a descriptor's own stat answers (kind, size, for a secret its owner and mode). */
function checkStat(file: string, stat: import('node:fs').Stats, checks: RuntimeFileChecks): RuntimeFileStat {
  if (!stat.isFile()) throw new RuntimeFileRefusedError(file, 'not-a-file', `is ${kindOf(stat)}`);
  const maxBytes = checks.maxBytes ?? MAX_RUNTIME_FILE_BYTES;
  if (stat.size > maxBytes) {
    throw new RuntimeFileRefusedError(file, 'too-large', `is ${stat.size} bytes, over the limit of ${maxBytes} bytes`, stat.size);
  }
  if (checks.secret) {
    if ((stat.mode & 0o022) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      throw new RuntimeFileRefusedError(file, 'writable-by-others', `is group- or world-writable (mode ${mode}); chmod go-w it`);
    }
    const uid = process.getuid?.();
    if (uid !== undefined && stat.uid !== uid && stat.uid !== 0) {
      throw new RuntimeFileRefusedError(
        file,
        'foreign-owner',
        `belongs to uid ${stat.uid}, not to this server's user (uid ${uid}) or root`,
      );
    }
  }
  return { size: stat.size, mode: stat.mode, uid: stat.uid, ino: stat.ino, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs };
}

function checkInside(file: string, dir: string, inside: string): void {
  if (inside !== dir && !inside.startsWith(dir + path.sep)) {
    throw new RuntimeFileRefusedError(file, 'outside', 'is outside the runtime directory');
  }
}

/** checkInside with the synchronous calls; realpath(3) itself, where node's realpathSync walks the path with an lstat per component in JS. */
function checkInsideSync(file: string, runtimeDir: string): void {
  checkInside(file, realpathSync.native(runtimeDir), realpathSync.native(path.dirname(file)));
}

async function check(file: string, handle: fsp.FileHandle, checks: RuntimeFileChecks): Promise<RuntimeFileStat> {
  const stat = checkStat(file, await handle.stat(), checks);
  if (checks.runtimeDir !== undefined) {
    const [dir, inside] = await Promise.all([fsp.realpath(checks.runtimeDir), fsp.realpath(path.dirname(file))]);
    checkInside(file, dir, inside);
  }
  return stat;
}

/**
 * Reads a file of the runtime directory, the one way every one of them is read (config, presets,
 * tokens, the admin token, the audit log, runner state, lock files): opened with `O_NONBLOCK |
 * O_NOFOLLOW` (a FIFO never blocks, a symbolic link is refused), checked with `fstat` on that
 * descriptor (a regular file, at most `maxBytes`, for a secret its owner and mode), inside the
 * runtime dir by realpath, and only then read (never past the limit, even if the file grows).
 * Throws RuntimeFileRefusedError saying what the file is; a missing file throws ENOENT as fs does.
 */
export async function readRuntimeBytes(file: string, checks: RuntimeFileChecks = {}): Promise<{ bytes: Buffer; stat: RuntimeFileStat }> {
  const handle = await openChecked(file, readFlags(checks), undefined);
  try {
    const stat = await check(file, handle, checks);
    const reading = boundedRead(file, checks, stat.size);
    while (!reading.done) {
      const buffer = reading.next();
      reading.took(buffer, (await handle.read(buffer, 0, buffer.length, null)).bytesRead);
    }
    return { bytes: reading.bytes(), stat };
  } finally {
    await handle.close().catch(() => {});
  }
}

/** A runtime file opened for reading parts of it (the audit log, read from its end): checked once, at open. */
export interface ReadableRuntimeFile {
  /** Its size as fstat saw it at open. */
  readonly size: number;
  /** Up to `length` bytes from byte `position` (fewer at its end). */
  read(position: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** `length` bytes from `position` read with `readAt` (node's positioned read), fewer at the file's end. */
async function readPart(
  position: number,
  length: number,
  readAt: (buffer: Buffer, offset: number, length: number, position: number) => Promise<number> | number,
): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(Math.max(0, length));
  let got = 0;
  while (got < buffer.length) {
    const n = await readAt(buffer, got, buffer.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buffer.subarray(0, got);
}

/**
 * Opens a runtime file to read parts of it, under the rules of `readRuntimeBytes` (no link
 * followed, no FIFO, a regular file within `maxBytes`, inside the runtime dir), checked once on the
 * descriptor, so every part read is of the same file.
 */
export async function openRuntimeFileForRead(file: string, checks: RuntimeFileChecks = {}): Promise<ReadableRuntimeFile> {
  const handle = await openChecked(file, READ_FLAGS, undefined);
  try {
    const stat = await check(file, handle, checks);
    return {
      size: stat.size,
      read: (position, length) =>
        readPart(position, length, async (buffer, offset, n, at) => (await handle.read(buffer, offset, n, at)).bytesRead),
      close: () => handle.close(),
    };
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
}

/**
 * readRuntimeBytes with synchronous calls, the same checks in the same order: for the file store's
 * I/O thread, where each of the async version's ~7 calls per file was a trip to libuv's thread pool
 * (a group's read of two files took 0.3-0.7 ms, and it sits on every activation's path).
 */
export function readRuntimeBytesSync(file: string, checks: RuntimeFileChecks = {}): { bytes: Buffer; stat: RuntimeFileStat } {
  const fd = openCheckedSync(file, READ_FLAGS, undefined);
  try {
    const stat = checkStat(file, fstatSync(fd), checks);
    if (checks.runtimeDir !== undefined) checkInsideSync(file, checks.runtimeDir);
    const reading = boundedRead(file, checks, stat.size);
    while (!reading.done) {
      const buffer = reading.next();
      reading.took(buffer, readSync(fd, buffer, 0, buffer.length, null));
    }
    return { bytes: reading.bytes(), stat };
  } finally {
    closeSync(fd);
  }
}

/** openRuntimeFileForRead with synchronous calls (for the store's I/O thread), the same checks in the same order. */
export function openRuntimeFileForReadSync(file: string, checks: RuntimeFileChecks = {}): ReadableRuntimeFile {
  const fd = openCheckedSync(file, READ_FLAGS, undefined);
  try {
    const stat = checkStat(file, fstatSync(fd), checks);
    if (checks.runtimeDir !== undefined) checkInsideSync(file, checks.runtimeDir);
    return {
      size: stat.size,
      read: (position, length) => readPart(position, length, (buffer, offset, n, at) => readSync(fd, buffer, offset, n, at)),
      close: async () => closeSync(fd),
    };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * The read loop of both versions: the first read sized to the file as fstat saw it (plus one byte,
 * to see it grew), further ones in chunks of at most 64 KiB, never past `maxBytes` + 1, refused
 * once over it. A short read of a regular file is its end. A config file is a few hundred bytes:
 * its read takes a slice of node's buffer pool, where a 64 KiB buffer per read was a malloc each
 * (on the I/O thread, two reads per group: its arena held them after the write bench).
 */
function boundedRead(file: string, checks: RuntimeFileChecks, size: number) {
  const maxBytes = checks.maxBytes ?? MAX_RUNTIME_FILE_BYTES;
  const chunks: Buffer[] = [];
  let total = 0;
  let done = false;
  return {
    get done() {
      return done;
    },
    next(): Buffer {
      const chunk = chunks.length === 0 ? size + 1 : 64 * 1024;
      return Buffer.allocUnsafe(Math.max(1, Math.min(chunk, 64 * 1024, maxBytes - total + 1)));
    },
    took(buffer: Buffer, bytesRead: number): void {
      if (bytesRead > 0) chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw new RuntimeFileRefusedError(file, 'too-large', `is over the limit of ${maxBytes} bytes`);
      if (bytesRead < buffer.length) done = true;
    },
    bytes: () => (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)),
  };
}

/**
 * A runtime file the stores serve from (config.yaml, strategies.yaml) as text, through the stores'
 * file-system seam (which reads with `readRuntimeBytes`, or its synchronous twin on the I/O
 * thread); null when it is missing. Throws RuntimeFileRefusedError for a file that is not what it
 * should be (the store reports it like an invalid file).
 */
export async function readRuntimeFile(fs: FileSystem, file: string, checks: RuntimeFileChecks = {}): Promise<string | null> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file, checks);
  } catch (err) {
    if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return null;
    throw err;
  }
  return utf8Text(file, bytes);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The file's text, or refused when it is not UTF-8: decoded leniently, a latin-1 `é` became U+FFFD
 * unsaid, and the next change through the API wrote the replacement over the operator's bytes.
 */
function utf8Text(file: string, bytes: Buffer): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    let line = 1;
    for (let i = bytes.indexOf(0x0a); i !== -1 && i < at; i = bytes.indexOf(0x0a, i + 1)) line++;
    throw new RuntimeFileRefusedError(file, 'unusable', `is not valid UTF-8 (line ${line}): save it as UTF-8`);
  }
}

/** Where UTF-8 first goes wrong: the offset of the byte at which decoding fails (the error path only: a binary search of prefixes). */
function firstInvalidUtf8(bytes: Buffer): number {
  const decodes = (n: number) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  let good = 0;
  let bad = bytes.length;
  while (bad - good > 1) {
    const mid = (good + bad) >>> 1;
    if (decodes(mid)) good = mid;
    else bad = mid;
  }
  return bad - 1;
}

/**
 * Opens a runtime file for appending (the audit log) under the same rules: no link followed, no
 * blocking on a FIFO, a regular file checked on the descriptor before anything is written.
 */
export async function openRuntimeFileForAppend(file: string, mode: number, checks: RuntimeFileChecks = {}): Promise<fsp.FileHandle> {
  const handle = await openChecked(file, APPEND_FLAGS, mode);
  try {
    await check(file, handle, { ...checks, maxBytes: checks.maxBytes ?? Number.POSITIVE_INFINITY });
    return handle;
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
}

/** The file's metadata without following a link (a cheap "has it changed?" key), or null when missing. */
export async function lstatRuntimeFile(file: string): Promise<RuntimeFileStat | null> {
  try {
    const s = await fsp.lstat(file);
    return { size: s.size, mode: s.mode, uid: s.uid, ino: s.ino, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * lstatRuntimeFile, synchronously: a few µs of CPU on a local file system (6 µs a call, serially,
 * on a loaded 2-core host, where the promise form took 30-37 µs with its thread-pool hop), for a
 * look a request is not to wait a thread hop for (the admin token's, src/auth/tokens.ts).
 */
export function lstatRuntimeFileSync(file: string): RuntimeFileStat | null {
  try {
    const s = lstatSync(file);
    return { size: s.size, mode: s.mode, uid: s.uid, ino: s.ino, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * The same rules, synchronously, for a few bytes (a lock file read in an exit handler, where nothing
 * asynchronous runs): no link followed, never blocks on a FIFO, a regular file of at most `maxBytes`.
 */
export function readSmallRuntimeFileSync(file: string, maxBytes: number): string {
  const fd = openSync(file, READ_FLAGS);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new RuntimeFileRefusedError(file, 'not-a-file', `is ${kindOf(stat)}`);
    const buffer = Buffer.alloc(maxBytes + 1);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    if (read > maxBytes) throw new RuntimeFileRefusedError(file, 'too-large', `is over the limit of ${maxBytes} bytes`);
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * openRuntimeFileForAppend, synchronously, for a thread whose only work is file I/O (the file
 * store's I/O worker): the same flags and checks; returns the descriptor.
 */
export function openRuntimeFileForAppendSync(file: string, mode: number, checks: RuntimeFileChecks = {}): number {
  const fd = openCheckedSync(file, APPEND_FLAGS, mode);
  try {
    checkStat(file, fstatSync(fd), { ...checks, maxBytes: checks.maxBytes ?? Number.POSITIVE_INFINITY });
    if (checks.runtimeDir !== undefined) checkInsideSync(file, checks.runtimeDir);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
