import path from 'node:path';
import { UsageError } from './usage-error.js';

/**
 * A setting from the environment: its value trimmed, or undefined when the variable is absent,
 * empty or blank (README, Settings: "empty is the same as unset"). `CONTROL_PLANE_RUNTIME_DIR=`
 * resolved to the current directory, and the server wrote its config, token and audit log there.
 */
export function envSetting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/**
 * A whole number as a setting is written: decimal digits only (surrounding blanks allowed), else NaN.
 * `Number()` alone read `0x10` as 16, `1e3` as 1000 and ` 12 ` as 12: CONTROL_PLANE_PORT=0x10 made the
 * server listen on port 16 while stratctl, which reads digits only, refused the same variable.
 */
export function decimalSetting(raw: string): number {
  const digits = raw.trim();
  return /^\d+$/.test(digits) ? Number(digits) : Number.NaN;
}

/**
 * The runtime directory, absolute: `--runtime-dir`, else CONTROL_PLANE_RUNTIME_DIR, else ./runtime.
 * An empty flag is refused, as an empty --host or --token is: a script's `--runtime-dir "$DIR"`
 * with DIR unset meant the current directory, where serve wrote its config, token and audit log
 * (and `token create` a tokens.yaml no server reads). The variable empty is the same as unset.
 */
export function runtimeDirSetting(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined && flag.trim() === '') throw new UsageError('--runtime-dir must not be empty');
  const given = flag ?? envSetting(env, 'CONTROL_PLANE_RUNTIME_DIR');
  const dir = given ?? 'runtime';
  if (path.isAbsolute(dir)) return path.resolve(dir);
  let cwd: string;
  try {
    cwd = process.cwd();
  } catch {
    const named =
      flag !== undefined ? `--runtime-dir ${dir}` : given !== undefined ? `CONTROL_PLANE_RUNTIME_DIR ${dir}` : './runtime (the default)';
    throw new WorkingDirectoryGoneError(
      `${named} is relative, and the working directory is gone (removed after this shell entered it): cd to a directory that exists, or give an absolute --runtime-dir`,
      given === undefined,
    );
  }
  return path.resolve(cwd, dir);
}

/**
 * A relative runtime directory where the working directory was removed (a release directory a
 * deploy replaced under a cron job): process.cwd() threw ENOENT (uv_cwd), a crash with its stack.
 * `defaulted`: none was given (./runtime), so a command that needs none may go on without it.
 */
export class WorkingDirectoryGoneError extends UsageError {
  override name = 'WorkingDirectoryGoneError';
  constructor(
    message: string,
    readonly defaulted: boolean,
  ) {
    super(message);
  }
}
