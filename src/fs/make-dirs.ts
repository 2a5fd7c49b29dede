import { mkdirSync, statSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;
/** As node's mkdir says it (an errno, which is not one of the API's extensions.code values). */
const notADirectory = (dir: string): NodeJS.ErrnoException => {
  const err: NodeJS.ErrnoException = new Error(`ENOTDIR: not a directory, mkdir '${dir}'`);
  err.code = 'ENOTDIR';
  return err;
};

/**
 * `mkdir -p`, one level at a time. Node's `mkdir(dir, { recursive: true })` never returns on a path
 * whose mkdir fails with ENOENT while its parent exists (`/proc/sys/rt`): `serve --runtime-dir
 * /proc/sys/rt` spun at 100% CPU and could not be stopped. Here each missing level is made once;
 * a failure is thrown as it comes (ENOENT, EACCES, ENOTDIR...).
 */
export async function makeDirs(dir: string): Promise<void> {
  for (const level of await missingLevels(path.resolve(dir), async (d) => (await fsp.stat(d)).isDirectory())) {
    await fsp.mkdir(level).catch((err: unknown) => {
      if (code(err) !== 'EEXIST') throw err;
    });
  }
}

/** makeDirs, synchronously (for a thread that does nothing but file I/O). */
export function makeDirsSync(dir: string): void {
  const levels: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    try {
      if (!statSync(at).isDirectory()) throw notADirectory(at);
      break;
    } catch (err) {
      if (code(err) !== 'ENOENT') throw err;
      levels.unshift(at);
      if (path.dirname(at) === at) break;
    }
  }
  for (const level of levels) {
    try {
      mkdirSync(level);
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err;
    }
  }
}

/** The levels of `dir` that do not exist yet, outermost first (up to the first one that does). */
async function missingLevels(dir: string, isDirectory: (d: string) => Promise<boolean>): Promise<string[]> {
  const levels: string[] = [];
  for (let at = dir; ; at = path.dirname(at)) {
    try {
      if (!(await isDirectory(at))) throw notADirectory(at);
      return levels;
    } catch (err) {
      if (code(err) !== 'ENOENT') throw err;
      levels.unshift(at);
      if (path.dirname(at) === at) return levels;
    }
  }
}
