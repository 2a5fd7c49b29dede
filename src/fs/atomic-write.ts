import { randomBytes } from 'node:crypto';
import { utimes } from 'node:fs/promises';
import path from 'node:path';
import { errnoOf, type FileSystem, nodeFileSystem, type WritableFile } from './file-system.js';

/** A write that failed before the new file was in place: the old file stands; `step` says where it failed. */
export class AtomicWriteError extends Error {
  override name = 'AtomicWriteError';
  constructor(
    readonly step: string,
    readonly errno: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`${step} failed${errno ? `: ${errno}` : ''}`, options);
  }
}

export interface AtomicWriteOptions {
  fs?: FileSystem;
  mode?: number;
  /**
   * fsync the file and then its directory (default). Off for state rewritten every heartbeat, where
   * after a crash the last state on disk is exactly what a reader should see.
   */
  durable?: boolean;
  /**
   * Called after the temp file is complete, just before the rename: throwing stops the write (the
   * temp file is removed, the old file stands). The config store checks here that nobody replaced
   * the file since it read it, so a hand edit made meanwhile is not renamed over.
   */
  beforeRename?: () => Promise<void>;
  /**
   * Sets the temp file's modification time a second back just before the rename, so the file in
   * place shows its last change (ctime, set by the rename) after its last write (mtime) even when
   * the write and the rename fall within one tick of the kernel's file clock (they did in 196 of
   * 200 writes here): a reader that takes a new file at once only when it was renamed into place
   * after it was written (src/fs/settle.ts renamedAfterWritten) takes this one at once, and one
   * created anew and being written (vim's default write) waits until it is still. `stratctl token`
   * writes tokens.yaml so, and a revocation is never late. Through node's fs, not `fs`.
   */
  showRenamed?: boolean;
  /**
   * The file is expected missing: put the new one in place only if it still is (link(2), which
   * fails with EEXIST rather than replace, then the temp name removed). A file created meanwhile (a
   * person's, between `beforeRename`'s look and the rename) is never replaced: the write fails at
   * step `rename` with errno EEXIST, the temp file removed, the other file left as it is.
   */
  noReplace?: boolean;
  /**
   * Told the new file's inode, size and mtime, taken from the temp file just before the rename (a
   * rename changes none of them): what the file in place holds until someone else changes it. The
   * config store knows a watch event of its own write by them. A stat that fails tells nothing.
   */
  onPlacing?: (mark: FileMark) => void;
}

/** What a file written by rename is known by while nobody else has changed it (see AtomicWriteOptions.onPlacing). */
export interface FileMark {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/** link(2) errnos of a file system with no hard links: there the file is renamed into place (it may replace). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** Puts `temp` in place as `file` unless `file` exists (EEXIST); see AtomicWriteOptions.noReplace. */
async function linkIntoPlace(fs: FileSystem, temp: string, file: string): Promise<void> {
  try {
    await fs.link(temp, file);
  } catch (err) {
    if (!NO_HARD_LINKS.has(errnoOf(err) ?? '')) throw err;
    await fs.rename(temp, file);
    return;
  }
  // In place; a temp name that cannot be removed is a second name of the same file, removed at the next start.
  await fs.unlink(temp).catch(() => {});
}

/**
 * A name beside `file` for a temp file of this process (`.<name>.<pid>.<hex>.tmp`): one a start's
 * removeStrayTempFiles removes once its process is gone, whatever it was left for.
 */
export const tempPathFor = (file: string) =>
  path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);

const tempPattern = (file: string) => new RegExp(`^\\.${path.basename(file).replace(/[.]/g, '\\.')}\\.(\\d+)\\.[0-9a-f]{12}\\.tmp$`);

/**
 * Temp files of this process's failed writes that could not be removed when they failed: the
 * directory turned unwritable between the temp's creation and its rename (a `chmod 000` of the
 * runtime dir, a read-only remount), so the rename and the removal were both refused. Each is
 * removed after the next write that succeeds in its directory (which is writable again then).
 * Before, it stayed until the next start: a runner whose runtime dir was chmod 000 for a while,
 * mid-heartbeat, left `.runner-state.json.<pid>.<hex>.tmp` behind after it was restored (a
 * clean-clone CI run). A start's `removeStrayTempFiles` still removes those of a killed process.
 */
const leftoverTemps = new Map<string, FileSystem>();

/** Removes the leftover temp files in `dir` (see leftoverTemps); one that cannot be removed yet is kept for the next write. */
async function removeLeftoverTemps(dir: string): Promise<void> {
  for (const [temp, fs] of leftoverTemps) {
    if (path.dirname(temp) !== dir) continue;
    await fs.unlink(temp).then(
      () => leftoverTemps.delete(temp),
      (err: unknown) => {
        if (errnoOf(err) === 'ENOENT') leftoverTemps.delete(temp);
      },
    );
  }
}

/** How many temp files of failed writes this process still has to remove (tests). */
export function leftoverTempCount(): number {
  return leftoverTemps.size;
}

/**
 * Replaces `file` with `content` so that a reader (or a crash) sees the old file or the new one,
 * never a mix: temp file in the same directory, fsync, rename over, fsync the directory. On failure
 * before the rename the temp file is removed (if its directory refuses that, after the next write
 * that succeeds there: leftoverTemps), the old file stands, and AtomicWriteError names the step.
 * Resolves to false when only the final directory fsync failed: the new file is in place and
 * visible (so the change did happen), but its directory entry is not proven durable.
 */
export async function writeFileAtomic(
  file: string,
  /** The new text, or its parts in order (a file too large to hold as one string: the trimmed audit log). */
  content: string | AsyncIterable<string>,
  options: AtomicWriteOptions = {},
): Promise<boolean> {
  const fs = options.fs ?? nodeFileSystem;
  const durable = options.durable ?? true;
  const dir = path.dirname(file);
  const temp = tempPathFor(file);
  let step = 'open temp file';
  let handle: WritableFile | undefined;
  try {
    handle = await fs.open(temp, 'wx', options.mode ?? 0o644);
    step = 'write';
    if (typeof content === 'string') await handle.write(content);
    else for await (const part of content) await handle.write(part);
    if (durable) {
      step = 'fsync';
      await handle.sync();
    }
    step = 'close';
    await handle.close();
    handle = undefined;
    if (options.beforeRename) {
      step = 'check before rename';
      await options.beforeRename();
    }
    if (options.showRenamed) {
      step = 'set times';
      const now = Date.now();
      await utimes(temp, new Date(now), new Date(now - 1000));
    }
    if (options.onPlacing) {
      const placing = options.onPlacing;
      await fs.stat(temp).then(
        (s) => placing({ ino: s.ino, size: s.size, mtimeMs: s.mtimeMs }),
        () => {},
      );
    }
    // (`rename` names the step either way: it is the one that puts the file in place.)
    step = 'rename';
    if (options.noReplace) await linkIntoPlace(fs, temp, file);
    else await fs.rename(temp, file);
  } catch (err) {
    await handle?.close().catch(() => {});
    // Not created (the open failed), or gone: nothing left. Refused (the directory turned unwritable): later.
    if (step !== 'open temp file')
      await fs.unlink(temp).catch((unlinkErr: unknown) => {
        if (errnoOf(unlinkErr) !== 'ENOENT') leftoverTemps.set(temp, fs);
      });
    throw new AtomicWriteError(step, errnoOf(err), { cause: err });
  }
  if (leftoverTemps.size > 0) await removeLeftoverTemps(dir);
  if (!durable) return true;
  try {
    await fs.syncDir(dir);
    return true;
  } catch {
    return false;
  }
}

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
export async function removeStrayTempFiles(file: string, options: { fs?: FileSystem; now?: number } = {}): Promise<string[]> {
  const fs = options.fs ?? nodeFileSystem;
  const now = options.now ?? Date.now();
  const dir = path.dirname(file);
  const pattern = tempPattern(file);
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
