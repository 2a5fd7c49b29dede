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
   * person's, between the caller's look and the rename) is never replaced: the write fails at
   * step `rename` with errno EEXIST, the temp file removed, the other file left as it is.
   */
  noReplace?: boolean;
  /**
   * Told the new file's inode, size and mtime, taken from the temp file just before the rename (a
   * rename changes none of them): what the file in place holds until someone else changes it. The
   * config store knows a watch event of its own write by them. A stat that fails tells nothing.
   */
  onPlacing?: (mark: FileMark) => void;
  /**
   * Replace `file` only while it is the file the caller judged, with no moment in which a file
   * someone else renames there (a hand edit: `mv`, `sed -i`) is replaced: see replaceChecked. A
   * check just before a rename over it (as it was made before) cannot close the moment between
   * the two, and a hand edit renamed into place in it was renamed over: never in force, never audited.
   */
  replaceIf?: ReplaceIf;
  /** The hex part of the temp name (takeTempHex), when the caller gives it back itself (tempNamesFree, reuseTempHex). */
  tempHex?: string;
}

/** How replaceChecked judges the file it would replace. */
export interface ReplaceIf {
  /** Where the file in place is taken once judged (asidePathFor): on success the old file stays there, the caller's to remove. */
  readonly aside: string;
  /** Judges the file in place (read it by `current`, its name; null: no file is there); throws to stop the write. */
  readonly check: (current: string | null) => Promise<void>;
  /** The error when the file judged was replaced or changed before it was taken away (what was taken is put back). */
  readonly changed: () => Error;
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
  // In place; a temp name that cannot be removed now is a second name of the same file, removed later (leftoverTemps).
  await removeTempFile(fs, temp);
}

/**
 * Puts `source` (a complete file beside `file`; null: none, `file` is only to be removed) in the
 * place of `file` if the file there passes `check`, without ever replacing or removing a file
 * someone else put there meanwhile. Node has no rename that refuses to replace or that exchanges
 * (renameat2), so: the file in place is looked at (stat), judged by its name (`check`), then taken
 * away (renamed to `aside`: atomic) and found to be the very file judged (same inode, size and
 * mtime), and `source` is linked into the empty place (link(2) fails with EEXIST rather than
 * replace). A file renamed there before the take-away is what is taken: not the one judged, put
 * back (`changed()`); one renamed there after it makes the link fail (EEXIST), and stays. A failure
 * after the take-away puts what was taken back the same way, dropped only if a file was put there
 * meanwhile (that file is newer: a rename over the taken one, had it stayed). Errors: the check's,
 * `changed()`, link's EEXIST, or the file system's; `onStep` is told the step under way ('check
 * before rename', 'rename', 'put back'). From the take-away to the link (three system calls: ~0.02
 * ms at p50 on the I/O thread, 0.07 at p99) the file is missing: readers wait a missing file out
 * (src/fs/settle.ts), and a kill then leaves it under `aside` beside `source` (the paired temp
 * name, not yet linked), which the writer's next start puts back (putBackTakenAway). Its cost: 3 more calls than a check and a rename, all metadata (stat,
 * stat, unlink), the group's disk work unchanged within noise (p50 1.04 against 1.06 ms).
 */
export async function replaceChecked(
  fs: FileSystem,
  source: string | null,
  file: string,
  replace: ReplaceIf,
  onStep: (step: string) => void = () => {},
): Promise<void> {
  onStep('check before rename');
  // Looked at before it is read: a file renamed there after this look is another inode, told below.
  const judged = await fs.stat(file).catch((err: unknown) => {
    if (errnoOf(err) === 'ENOENT') return null;
    throw err;
  });
  await replace.check(judged === null ? null : file);
  onStep('rename');
  if (judged === null) {
    // Judged missing: put in place only if it still is (EEXIST: created meanwhile, and it stays).
    if (source !== null) await linkIntoPlace(fs, source, file);
    return;
  }
  try {
    await fs.rename(file, replace.aside);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
    onStep('check before rename');
    throw replace.changed(); // gone since it was judged (renamed away, deleted): nothing taken
  }
  try {
    const taken = await fs.stat(replace.aside);
    if (taken.ino !== judged.ino || taken.size !== judged.size || taken.mtimeMs !== judged.mtimeMs) {
      onStep('check before rename');
      throw replace.changed();
    }
    if (source !== null) await linkIntoPlace(fs, source, file);
  } catch (err) {
    await putBack(fs, replace.aside, file).catch((putBackErr: unknown) => {
      onStep('put back');
      throw putBackErr;
    });
    throw err;
  }
}

/** What replaceChecked took away, back in place; dropped if a file was put there meanwhile. Left where it is if it cannot be put back (the next start does: putBackTakenAway). */
async function putBack(fs: FileSystem, aside: string, file: string): Promise<void> {
  try {
    await linkIntoPlace(fs, aside, file);
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') throw err;
    await removeTempFile(fs, aside);
  }
}

/**
 * The hex part of the temp names (tempPathFor, asidePathFor) of this thread's finished writes, by
 * file: the next write of that file takes its names again. Every name created and then removed in
 * a directory stays in the kernel's dentry cache as a negative entry, and adding an inotify watch
 * to the directory walks every entry it has (to mark them watched). With a fresh name per write
 * (two per config write: the temp linked into place and the aside, both removed), the file store's
 * watch, opened again after each of its writes (src/fs/watch.ts), cost the event loop 0.4-1.2 ms
 * (`inotify_add_watch`, strace) after ~5,000 activations, more with every write for the life of the
 * process (a script of its own: 750 µs after 20,000 such writes, 10 µs with the names reused). A
 * name is reused only once no file is under it: its write succeeded and nothing of it is a
 * leftover (leftoverTemps). A failed write's names are never reused. The file store's group writes
 * run on its I/O thread or in process, and the thread comes and goes: their names are chosen and
 * given back on the event loop (file-store.ts: FileWrite.tempHex, GroupWritten.tempNames).
 */
const finishedNames = new Map<string, string[]>();
/** At most this many finished names kept per file (writes of one file are one at a time: one is used). */
const FINISHED_NAMES_PER_FILE = 4;

/** The hex part for the names of a write of `file`: a finished write's (reuseTempHex), or a new one. */
export const takeTempHex = (file: string): string => finishedNames.get(file)?.pop() ?? randomBytes(6).toString('hex');

/** `hex` (takeTempHex) is free again for the next write of `file` (its write succeeded: tempNamesFree). */
export function reuseTempHex(file: string, hex: string): void {
  let names = finishedNames.get(file);
  if (names === undefined) {
    names = [];
    finishedNames.set(file, names);
  }
  if (names.length < FINISHED_NAMES_PER_FILE && !names.includes(hex)) names.push(hex);
}

/**
 * Whether the names of `file` with `hex` (its temp and aside names) are free: no file under them
 * is left to remove later (leftoverTemps). For a write that succeeded: its names may be reused.
 */
export function tempNamesFree(file: string, hex: string): boolean {
  const base = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${hex}`);
  return !leftoverTemps.has(`${base}.tmp`) && !leftoverTemps.has(`${base}.aside.tmp`);
}

/**
 * A name beside `file` for the file replaceChecked takes away (`.<name>.<pid>.<hex>.aside.tmp`): a
 * temp name (a start's removeStrayTempFiles removes it once its process is gone), told apart so
 * that a start finding `file` missing can put it back (putBackTakenAway). A write that takes the
 * old file there writes the new one under the paired temp name (pairedTempPath: the same pid and
 * hex), so a start can tell a write stopped inside its window (the temp not yet linked into place)
 * from one that was done (its temp gone), whose aside is only clutter.
 */
export const asidePathFor = (file: string, hex = takeTempHex(file)) =>
  path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${hex}.aside.tmp`);

/** The temp name paired with an aside (asidePathFor): `.<name>.<pid>.<hex>.tmp`, the new file of the same write. */
export const pairedTempPath = (aside: string) => aside.replace(/\.aside\.tmp$/, '.tmp');

/**
 * A name beside `file` for the file a failed change's undo takes away (`.<name>.<pid>.<hex>.undone.tmp`):
 * the refused new file, never put back by a start (putBackTakenAway), removed as a stray.
 */
export const undonePathFor = (file: string) =>
  path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.undone.tmp`);

/**
 * A name beside `file` for a temp file of this process (`.<name>.<pid>.<hex>.tmp`): one a start's
 * removeStrayTempFiles removes once its process is gone, whatever it was left for.
 */
export const tempPathFor = (file: string, hex = takeTempHex(file)) =>
  path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${hex}.tmp`);

const escaped = (file: string) => path.basename(file).replace(/[.]/g, '\\.');
/** Temp files, asides and undone files of `file` (tempPathFor, asidePathFor, undonePathFor). */
const tempPattern = (file: string) => new RegExp(`^\\.${escaped(file)}\\.(\\d+)\\.[0-9a-f]{12}(\\.aside|\\.undone)?\\.tmp$`);
/** Asides and undone files of `file`: what replaceChecked took away. */
const takenPattern = (file: string) => new RegExp(`^\\.${escaped(file)}\\.\\d+\\.[0-9a-f]{12}\\.(aside|undone)\\.tmp$`);

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

/**
 * Removes a temp file (or an aside: asidePathFor) of this process; one its directory refuses to
 * remove now is removed after the next write that succeeds there (leftoverTemps). Gone already: nothing to do.
 */
export async function removeTempFile(fs: FileSystem, temp: string): Promise<void> {
  await fs.unlink(temp).catch((err: unknown) => {
    if (errnoOf(err) !== 'ENOENT') leftoverTemps.set(temp, fs);
  });
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
  // Taking the old file to an aside: the new one under its paired name (a start tells by it a write stopped midway).
  const aside = options.replaceIf?.aside;
  const paired = aside?.endsWith('.aside.tmp') === true;
  // A name of its own (neither paired with an aside nor the caller's): given back here once in place.
  const ownHex = paired || options.tempHex !== undefined ? undefined : takeTempHex(file);
  const temp = paired ? pairedTempPath(aside as string) : tempPathFor(file, options.tempHex ?? ownHex);
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
    if (options.replaceIf)
      await replaceChecked(fs, temp, file, options.replaceIf, (s) => {
        step = s;
      });
    else if (options.noReplace) await linkIntoPlace(fs, temp, file);
    else await fs.rename(temp, file);
  } catch (err) {
    await handle?.close().catch(() => {});
    // Not created (the open failed), or gone: nothing left. Refused (the directory turned unwritable): later.
    if (step !== 'open temp file') await removeTempFile(fs, temp);
    throw new AtomicWriteError(step, errnoOf(err), { cause: err });
  }
  if (leftoverTemps.size > 0) await removeLeftoverTemps(dir);
  // In place: its name is free again, unless the caller chose it (tempHex) or paired it with an aside (writeGroup gives those back).
  if (aside === undefined && ownHex !== undefined && tempNamesFree(file, ownHex)) reuseTempHex(file, ownHex);
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

/**
 * `file` missing because its writer was stopped (killed, a power loss) while replaceChecked had taken
 * it away: put back from its aside, linked so that a file created meanwhile stays. Only an aside
 * whose write was stopped inside that moment is put back: its paired temp file (pairedTempPath, the
 * new file) is still there, not yet linked into place (it is removed only after the link). An aside
 * without it is left from a write that was done (killed after the link, during its audit append):
 * the file missing then was removed since, on purpose (`rm` while the server was down), and putting
 * the old file back would undo that. A failed change's undo takes the refused file to an undone name
 * (undonePathFor), never put back; the old file it was putting back is its source, under the aside
 * name with a paired temp name (restore in src/config/file-io.ts). Then every aside and undone file
 * of `file` goes, with the paired temp files, whatever process made them (a pid tells nothing across
 * pid namespaces: in a container the server is pid 1 at each start). For the one writer of `file`,
 * at its start, before it reads the file, holding what keeps other writers out (the runtime dir's
 * lock). Returns the aside's name put back, or null (nothing to put back).
 */
export async function putBackTakenAway(file: string, options: { fs?: FileSystem } = {}): Promise<string | null> {
  const fs = options.fs ?? nodeFileSystem;
  const dir = path.dirname(file);
  const pattern = takenPattern(file);
  const taken = (await fs.readdir(dir).catch(() => [] as string[])).filter((name) => pattern.test(name));
  if (taken.length === 0) return null;
  const exists = (full: string) =>
    fs.stat(full).then(
      () => true,
      (err: unknown) => errnoOf(err) !== 'ENOENT',
    );
  let putBackFrom: string | null = null;
  if (!(await exists(file))) {
    let newest: { name: string; mtimeMs: number } | null = null;
    for (const name of taken) {
      if (!name.endsWith('.aside.tmp') || !(await exists(pairedTempPath(path.join(dir, name))))) continue;
      const stat = await fs.stat(path.join(dir, name)).catch(() => null);
      if (stat && (newest === null || stat.mtimeMs > newest.mtimeMs)) newest = { name, mtimeMs: stat.mtimeMs };
    }
    if (newest !== null) {
      // A file created meanwhile (EEXIST), or a directory that refuses: the start goes on as with a missing file.
      putBackFrom = await linkIntoPlace(fs, path.join(dir, newest.name), file).then(
        () => newest.name,
        () => null,
      );
    }
  }
  for (const name of taken) {
    const full = path.join(dir, name);
    await fs.unlink(full).catch(() => {});
    if (name.endsWith('.aside.tmp')) await fs.unlink(pairedTempPath(full)).catch(() => {});
  }
  await fs.syncDir(dir).catch(() => {});
  return putBackFrom;
}
