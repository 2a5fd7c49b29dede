import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from './fs/atomic-write.js';
import { makeDirs } from './fs/make-dirs.js';
import { acquireLock, LOCK_STALE_MS, type Lock, LockHeldError, type LockHolder } from './lock.js';

/** `<runtime-dir>/.lock`: held by the process that serves the directory (DESIGN: runtime-dir lock). */
export const SERVE_LOCK_FILE = '.lock';
/** `<runtime-dir>/.runner.lock`: held by whichever process runs the runner (embedded or `stratctl runner`). */
export const RUNNER_LOCK_FILE = '.runner.lock';

/** The runtime directory cannot be created or written (serve exits 73). */
export class RuntimeDirNotWritableError extends Error {
  override name = 'RuntimeDirNotWritableError';
  constructor(
    readonly dir: string,
    readonly errno: string,
    options?: ErrorOptions,
  ) {
    super(`the runtime directory ${dir} is not writable (${errno})`, options);
  }
}

/** Another live process holds the runtime directory (serve exits 75, naming its pid). */
export class RuntimeDirInUseError extends LockHeldError {
  override name = 'RuntimeDirInUseError';
  constructor(
    readonly dir: string,
    held: LockHeldError,
    readonly role: 'serve' | 'runner',
  ) {
    super(held.file, held.pid, held.host, held.touchedAgoMs);
    // Another host's or another container's holder is not checked by its pid: it touched its lock
    // while this process watched it, so it is running (its mtime is stamped by its own clock: not shown).
    const touched =
      held.touchedAgoMs === undefined
        ? ''
        : `; it is another host's or another container's, which cannot be checked by its pid, and it touched the lock ${(held.touchedAgoMs / 1000).toFixed(1)} s ago, while this process watched it (a lock that does not change for ${LOCK_STALE_MS / 1000} s while watched is taken over)`;
    // This process's own pid, judged by it (not another container's pid 1 on the same host name,
    // which is told by the lock's touch, touchedAgoMs): a lock it took itself (another with its pid
    // is judged dead): the same directory named twice, e.g. through a symlink, which another
    // process is not to be blamed for.
    this.message =
      held.pid === process.pid && held.host === hostname() && held.touchedAgoMs === undefined
        ? `the runtime directory ${dir} is in use: process ${held.pid} on ${held.host} holds ${held.file}, and that is this process itself: it already uses this directory, perhaps under another name (a symlink?)`
        : held.pid === 0 && held.host === ''
          ? `the runtime directory ${dir} may be in use: ${held.file} names no process (empty or damaged, as a power loss can leave it) and was touched ${((held.touchedAgoMs ?? 0) / 1000).toFixed(1)} s ago, while this process watched it; one that does not change for ${LOCK_STALE_MS / 1000} s while watched is taken over`
          : `the runtime directory ${dir} is in use: process ${held.pid || '?'} on ${held.host || '?'} holds ${held.file}` +
            ` (${role === 'serve' ? 'another stratctl serve' : 'a runner'} is running there)${touched}`;
  }
}

const NOT_WRITABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'ENOSPC', 'EDQUOT']);

async function lockOne(dir: string, name: string, role: 'serve' | 'runner', listeners: RuntimeDirLockListeners): Promise<Lock> {
  const file = path.join(dir, name);
  try {
    // A holder this process cannot check by its pid (a container killed and restarted: a new pid
    // namespace; another host) is watched for LOCK_STALE_MS: taken over unless it touches its lock meanwhile.
    return await acquireLock(file, {
      waitForStale: true,
      onWaitForStale: (holder, touchedAgoMs) => listeners.onWait?.(file, holder, touchedAgoMs),
      onLost: (holder) => listeners.onLost?.(file, holder),
      signal: listeners.signal,
    });
  } catch (err) {
    if (err instanceof LockHeldError) throw new RuntimeDirInUseError(dir, err, role);
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno && NOT_WRITABLE.has(errno)) throw new RuntimeDirNotWritableError(dir, errno, { cause: err });
    throw err;
  }
}

export interface RuntimeDirLocks {
  release(): Promise<void>;
}

/**
 * Creates the runtime directory if needed and takes its locks: `.lock` when `serve`, `.runner.lock`
 * when this process runs the runner. Writes nothing else. Throws RuntimeDirNotWritableError or
 * RuntimeDirInUseError; on failure, whatever it took is released.
 */
export interface RuntimeDirLockListeners {
  /** Taking a lock waits for a holder that cannot be checked by its pid (a line in the log). */
  onWait?: (file: string, holder: LockHolder, touchedAgoMs: number) => void;
  /** A lock held is another's now (see LockOptions.onLost): this process must stop. */
  onLost?: (file: string, holder: LockHolder | null) => void;
  /** Aborted (a stop signal): a wait for a lock ends at once with StartAbortedError. */
  signal?: AbortSignal;
}

export async function lockRuntimeDir(
  dir: string,
  roles: { serve: boolean; runner: boolean },
  listeners: RuntimeDirLockListeners = {},
): Promise<RuntimeDirLocks> {
  try {
    await makeDirs(dir);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new RuntimeDirNotWritableError(dir, errno, { cause: err });
  }
  const locks: Lock[] = [];
  const release = async () => {
    await Promise.all(locks.splice(0).map((l) => l.release()));
  };
  // Both at once: each may watch a holder it cannot check by its pid for LOCK_STALE_MS, and one after
  // the other a container restarted after a kill waited twice that before it served.
  const taken = await Promise.allSettled([
    roles.serve ? lockOne(dir, SERVE_LOCK_FILE, 'serve', listeners) : null,
    roles.runner ? lockOne(dir, RUNNER_LOCK_FILE, 'runner', listeners) : null,
  ]);
  for (const outcome of taken) if (outcome.status === 'fulfilled' && outcome.value) locks.push(outcome.value);
  const failed = taken.find((outcome) => outcome.status === 'rejected');
  if (failed) {
    await release();
    throw failed.reason;
  }
  return { release };
}

/**
 * `<runtime-dir>/moved.json`: written by `stratctl store migrate` into the directory it moved a
 * deployment out of. A server or runner started on the old directory afterwards (a unit left
 * enabled, a restart on the old host) served the old config, and its runner traded on it, beside
 * the deployment's new home: they refuse it, naming where it went. Moving a deployment back into the
 * directory removes it; so may a person who means to serve this copy as it is.
 */
export const MOVED_FILE = 'moved.json';

/** serve, runners and `stratctl token` refuse a runtime directory a deployment was moved out of (exit 78). */
export class RuntimeDirMovedError extends Error {
  override name = 'RuntimeDirMovedError';
  constructor(
    readonly dir: string,
    readonly to: string,
    readonly at: string,
  ) {
    super(
      `the deployment in ${dir} was moved to ${to} by stratctl store migrate at ${at}: run against that store (--store), or remove ${path.join(dir, MOVED_FILE)} to serve this directory's copy as it is`,
    );
  }
}

/**
 * `<runtime-dir>/migrating.json`: written by `stratctl store migrate` into a target directory before
 * anything else, removed after its last file. A move cut short (killed, a full disk) left some files
 * and no config.yaml, and a server started there began afresh from the defaults (trading on again)
 * over the moved trail: it is refused until a migration into it finishes (as an etcd prefix's mark).
 */
export const MIGRATING_FILE = 'migrating.json';

/** A migration into the directory did not finish (serve and runners exit 78). */
export class RuntimeDirMigratingError extends Error {
  override name = 'RuntimeDirMigratingError';
  constructor(
    readonly dir: string,
    readonly from: string,
    readonly at: string,
  ) {
    super(
      `a stratctl store migrate into ${dir} from ${from}, started at ${at}, did not finish: run it again with --force to complete it (removing ${path.join(dir, MIGRATING_FILE)} serves what is there as it is)`,
    );
  }
}

async function readMark(file: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const mark = JSON.parse(text) as unknown;
    return mark !== null && typeof mark === 'object' ? (mark as Record<string, unknown>) : {};
  } catch {
    return {}; // A damaged mark still marks the directory.
  }
}

const said = (value: unknown, otherwise: string) => (typeof value === 'string' ? value : otherwise);

/**
 * Throws RuntimeDirMigratingError or RuntimeDirMovedError when `dir` holds the mark of a migration
 * into it that did not finish, or of a move out of it (a mark that cannot be read counts).
 */
export async function refuseMarkedRuntimeDir(dir: string): Promise<void> {
  const migrating = await readMark(path.join(dir, MIGRATING_FILE));
  if (migrating) {
    throw new RuntimeDirMigratingError(dir, said(migrating.from, 'a store the mark does not name'), said(migrating.at, 'an unknown time'));
  }
  const moved = await readMark(path.join(dir, MOVED_FILE));
  if (moved) {
    throw new RuntimeDirMovedError(dir, said(moved.to, 'another store (the mark does not say which)'), said(moved.at, 'an unknown time'));
  }
}

/** A mark of `stratctl store migrate` in `dir` (atomic and durable, like the store's own files). */
async function writeMark(dir: string, name: string, fields: Record<string, string>, at: Date): Promise<void> {
  const text = `${JSON.stringify({ ...fields, at: at.toISOString(), by: 'stratctl store migrate' })}\n`;
  await writeFileAtomic(path.join(dir, name), text, { mode: 0o644 });
}

const removeMark = (dir: string, name: string) => fsp.rm(path.join(dir, name), { force: true });

/** Marks `dir` as the target of a migration from `from` in progress. */
export const markRuntimeDirMigrating = (dir: string, from: string, at: Date) => writeMark(dir, MIGRATING_FILE, { from }, at);

/** The migration into `dir` finished (its last file written). */
export const clearRuntimeDirMigrating = (dir: string) => removeMark(dir, MIGRATING_FILE);

/** The mark of a move out of `dir` to `to`. */
export const markRuntimeDirMoved = (dir: string, to: string, at: Date) => writeMark(dir, MOVED_FILE, { to }, at);

/** A deployment moved (back) into `dir`: the mark of an earlier move out goes. */
export const clearRuntimeDirMoved = (dir: string) => removeMark(dir, MOVED_FILE);
