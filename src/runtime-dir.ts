import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { acquireLock, type Lock, LockHeldError } from './lock.js';

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
    super(held.file, held.pid, held.host);
    // A holder on another host cannot be checked from here: a lock its host left (a crashed machine,
    // a rescheduled pod on a shared volume) stays until someone who knows removes it.
    const elsewhere = held.host !== '' && held.host !== hostname();
    this.message =
      `the runtime directory ${dir} is in use: process ${held.pid || '?'} on ${held.host || '?'} holds ${held.file}` +
      ` (${role === 'serve' ? 'another stratctl serve' : 'a runner'} is running there)` +
      (elsewhere ? `; it is another host's, which cannot be checked from here: if nothing runs there any more, remove ${held.file}` : '');
  }
}

const NOT_WRITABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'ENOSPC', 'EDQUOT']);

async function lockOne(dir: string, name: string, role: 'serve' | 'runner'): Promise<Lock> {
  try {
    return await acquireLock(path.join(dir, name));
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
export async function lockRuntimeDir(dir: string, roles: { serve: boolean; runner: boolean }): Promise<RuntimeDirLocks> {
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new RuntimeDirNotWritableError(dir, errno, { cause: err });
  }
  const locks: Lock[] = [];
  const release = async () => {
    await Promise.all(locks.splice(0).map((l) => l.release()));
  };
  try {
    if (roles.serve) locks.push(await lockOne(dir, SERVE_LOCK_FILE, 'serve'));
    if (roles.runner) locks.push(await lockOne(dir, RUNNER_LOCK_FILE, 'runner'));
  } catch (err) {
    await release();
    throw err;
  }
  return { release };
}
