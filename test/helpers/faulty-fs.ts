import path from 'node:path';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';

/** The steps of an atomic config save, as the store's FileSystem seam sees them. */
export const WRITE_STEPS = ['open', 'write', 'fsync', 'rename', 'syncDir'] as const;
export type WriteStep = (typeof WRITE_STEPS)[number];
export const FAULT_ERRNOS = ['ENOSPC', 'EACCES', 'EIO'] as const;
export type FaultErrno = (typeof FAULT_ERRNOS)[number];

const MESSAGES: Record<FaultErrno, string> = {
  ENOSPC: 'no space left on device',
  EACCES: 'permission denied',
  EIO: 'i/o error',
};

/** An error shaped like Node's own (code, errno, syscall, path), so the store cannot tell it apart. */
export function fsError(errno: FaultErrno, syscall: string, file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${errno}: ${MESSAGES[errno]}, ${syscall} '${file}'`), { code: errno, errno: -1, syscall, path: file });
}

export interface FaultyFileSystem extends FileSystem {
  /** Fail `step` with `errno` every time until `heal()` (or `times` times). */
  inject(step: WriteStep, errno: FaultErrno, times?: number): void;
  heal(): void;
  /** How many times an injected fault fired. */
  readonly fired: number;
}

/** The real file system with faults injected on demand at each step of a save (write, fsync, rename, directory fsync, ...). */
export function faultyFileSystem(base: FileSystem = nodeFileSystem): FaultyFileSystem {
  let fault: { step: WriteStep; errno: FaultErrno; remaining: number } | null = null;
  let fired = 0;
  const check = (step: WriteStep, syscall: string, file: string) => {
    if (!fault || fault.step !== step || fault.remaining <= 0) return;
    fault.remaining -= 1;
    fired += 1;
    throw fsError(fault.errno, syscall, file);
  };
  return {
    readFile: (file, checks) => base.readFile(file, checks),
    openRead: (file, checks) => base.openRead(file, checks),
    truncate: (file, size) => base.truncate(file, size),
    stat: (file) => base.stat(file),
    readdir: (dir) => base.readdir(dir),
    unlink: (file) => base.unlink(file),
    mkdir: (dir) => base.mkdir(dir),
    async open(file, flags, mode) {
      // The config's own steps: the audit trail's appends have their own seam (faulty-audit-fs.ts).
      if (flags === 'a') return base.open(file, flags, mode);
      check('open', 'open', file);
      const handle = await base.open(file, flags, mode);
      return {
        write: async (data) => {
          check('write', 'write', file);
          await handle.write(data);
        },
        sync: async () => {
          check('fsync', 'fsync', file);
          await handle.sync();
        },
        close: () => handle.close(),
      };
    },
    async rename(from, to) {
      check('rename', 'rename', from);
      await base.rename(from, to);
    },
    async link(from, to) {
      // The no-replace form of the rename (a temp file linked into an empty place: a missing file's,
      // or one replaceChecked took away; or what it took, put back): the same step.
      if (path.basename(from).endsWith('.tmp')) check('rename', 'link', from);
      await base.link(from, to);
    },
    async syncDir(dir) {
      check('syncDir', 'fsync', dir);
      await base.syncDir(dir);
    },
    inject(step, errno, times = Number.POSITIVE_INFINITY) {
      fault = { step, errno, remaining: times };
    },
    heal() {
      fault = null;
    },
    get fired() {
      return fired;
    },
  };
}
