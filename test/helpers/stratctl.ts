import { runCli } from '../../src/cli/main.js';

export interface StratctlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment a command sees: this process's, without settings that would leak in from the shell. */
export function cliEnv(env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('CONTROL_PLANE_')));
  return { ...base, ...env };
}

export interface RunningStratctl {
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code runCli returned, or the one the command exited with at once (`io.exit`). */
  exited: Promise<number>;
  /** Resolves with the first match of `pattern` in stdout, then stderr; rejects if the command ends first or after `timeoutMs`. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  /** What SIGINT/SIGTERM is to the real process. */
  signal: (signal?: NodeJS.Signals) => void;
  /** How many stop-signal listeners the command has registered now (a long-running command registers one). */
  stopListeners: () => number;
}

/** Starts `stratctl <args>` in this process (runCli), with its own streams, environment and stop signal. */
export function startStratctl(args: string[], env: Record<string, string | undefined> = {}): RunningStratctl {
  let out = '';
  let err = '';
  const listeners = new Set<(signal: NodeJS.Signals) => void>();
  const waiters = new Set<() => void>();
  const changed = () => {
    for (const waiter of waiters) waiter();
  };
  let exitAtOnce!: (code: number) => void;
  const exitedAtOnce = new Promise<number>((resolve) => (exitAtOnce = resolve));
  const returned = runCli(args, {
    stdout: {
      write: (text: string) => {
        out += text;
        changed();
      },
    },
    stderr: {
      write: (text: string) => {
        err += text;
        changed();
      },
    },
    env: cliEnv(env),
    onStopSignal: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    // What process.exit is to the real process: the command's end, whatever it was waiting for
    // (runCli's own promise is left to settle by itself).
    exit: (code) => exitAtOnce(code),
  });
  const exited = Promise.race([returned, exitedAtOnce]);
  let done = false;
  void exited.finally(() => {
    done = true;
    changed();
  });
  return {
    stdout: () => out,
    stderr: () => err,
    exited,
    signal: (signal = 'SIGINT') => {
      for (const listener of [...listeners]) listener(signal);
    },
    stopListeners: () => listeners.size,
    waitFor: (pattern, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern}\nstdout: ${out}\nstderr: ${err}`));
        }, timeoutMs);
        const check = () => {
          const match = out.match(pattern) ?? err.match(pattern);
          if (match || done) {
            waiters.delete(check);
            clearTimeout(timer);
            if (match) resolve(match);
            else reject(new Error(`stratctl ended before ${pattern}\nstdout: ${out}\nstderr: ${err}`));
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

/** Runs `stratctl <args>` to completion in this process, as a script would run the command. */
export async function stratctl(args: string[], env: Record<string, string | undefined> = {}): Promise<StratctlResult> {
  const running = startStratctl(args, env);
  const code = await running.exited;
  return { code, stdout: running.stdout(), stderr: running.stderr() };
}
