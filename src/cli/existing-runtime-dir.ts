import { statSync } from 'node:fs';
import { kindOf } from '../fs/runtime-file.js';
import { UsageError } from '../usage-error.js';

/**
 * Refuses a runtime directory that does not exist, for a command that works on a server's (token,
 * a separate runner). A mistyped `--runtime-dir` was made anew: a token no server reads, a runner
 * scanning a config of defaults no server serves. `why` ends the message: what to do instead.
 */
export function requireExistingRuntimeDir(runtimeDir: string, why: string): void {
  // What is there instead, said as it is: a file given as the directory read "no such directory".
  let what: string | null = 'no such directory';
  try {
    const stat = statSync(runtimeDir);
    what = stat.isDirectory() ? null : `it is ${stat.isFile() ? 'a file' : kindOf(stat)}, not a directory`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') what = `it cannot be looked at: ${code ?? (err as Error).message}`;
  }
  if (what !== null) {
    throw new UsageError(`${runtimeDir} is not a runtime directory (${what}): check --runtime-dir / CONTROL_PLANE_RUNTIME_DIR, ${why}`);
  }
}
