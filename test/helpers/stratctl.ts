import { spawnStratctl } from './server.js';

export interface StratctlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `stratctl <args>` to completion as a separate process, as a script would. */
export async function stratctl(args: string[], env: Record<string, string | undefined> = {}): Promise<StratctlResult> {
  const child = spawnStratctl(args, env);
  const code = await child.exited;
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}
