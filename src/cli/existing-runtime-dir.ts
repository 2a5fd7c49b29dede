import { statSync } from 'node:fs';
import { UsageError } from '../usage-error.js';

/**
 * Refuses a runtime directory that does not exist, for a command that works on a server's (token,
 * a separate runner). A mistyped `--runtime-dir` was made anew: a token no server reads, a runner
 * scanning a config of defaults no server serves. `why` ends the message: what to do instead.
 */
export function requireExistingRuntimeDir(runtimeDir: string, why: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(runtimeDir).isDirectory();
  } catch {
    isDirectory = false;
  }
  if (!isDirectory) {
    throw new UsageError(
      `${runtimeDir} is not a runtime directory (no such directory): check --runtime-dir / CONTROL_PLANE_RUNTIME_DIR, ${why}`,
    );
  }
}
