import { fstatSync, statSync } from 'node:fs';
import { constants } from 'node:os';

/** Where a command writes, what it reads from the environment, and how it hears "stop": the process's, or a test's. */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: NodeJS.ProcessEnv;
  /** Calls `listener` on SIGINT/SIGTERM/SIGHUP (or a test's equivalent); returns the unsubscribe. */
  onStopSignal: (listener: (signal: NodeJS.Signals) => void) => () => void;
  /**
   * Calls `listener` when stdout's reader goes away (EPIPE: `stratctl status --watch | head -1`),
   * which a shell's SIGPIPE would have stopped; returns the unsubscribe. Absent: never.
   */
  onOutputClosed?: (listener: () => void) => () => void;
  /**
   * Calls `listener` when stdout cannot be written for another reason than its reader going away (a
   * full disk behind `> state.json`: ENOSPC, EIO), with the error; returns the unsubscribe. Absent: never.
   */
  onOutputFailed?: (listener: (err: NodeJS.ErrnoException) => void) => () => void;
  /**
   * Writes `text` to stdout and resolves once the system has taken it (a pipe, a file, a terminal),
   * or with the error that kept it from being written: EPIPE (the reader went away), ENOSPC (a full
   * disk behind `>`), EIO. For what must not be lost unsaid (`token create`'s and `token rotate`'s
   * one-time secret). Absent: written with `stdout.write`, taken as written.
   */
  writeConfirmed?: (text: string) => Promise<NodeJS.ErrnoException | undefined>;
  /**
   * Whether stdout is /dev/null: redirected there (`> /dev/null`), or closed before start (`>&-`),
   * which Node reopens on /dev/null, so every write "succeeds" and is lost. For what must not be
   * lost unsaid (`token create`'s and `token rotate`'s one-time secret), asked before the change.
   * Absent: never.
   */
  stdoutDiscarded?: () => boolean;
  /**
   * Ends the command at once with `code`, whatever it is waiting for (a stop signal while a change
   * is out). The process: `process.exit`; a test's io: the command's result is `code`.
   */
  exit: (code: number) => void;
}

export interface OutputStream {
  write(text: string): unknown;
  /** A terminal: the default log format is text, otherwise json. */
  isTTY?: boolean;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The exit code a command stopped by `signal` gives: 128 + its number, as the signal itself would (SIGINT: 130). */
export const stoppedExitCode = (signal: NodeJS.Signals): number => 128 + constants.signals[signal];

/** The real process's streams, environment and signals. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    onStopSignal: (listener) => {
      // SIGHUP too: the terminal closing (an SSH session running `npm start`) or a `kill -HUP` meant
      // as "reload" killed serve at once (exit 129), with no drain and its lock files left behind.
      // It is a stop like the others (a reload is never needed: changes are picked up live).
      for (const signal of STOP_SIGNALS) process.on(signal, listener);
      return () => {
        for (const signal of STOP_SIGNALS) process.off(signal, listener);
      };
    },
    onOutputClosed: (listener) => {
      // Node ignores SIGPIPE and reports EPIPE on the stream instead.
      const readerGone = (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') listener();
      };
      process.stdout.on('error', readerGone);
      return () => process.stdout.off('error', readerGone);
    },
    onOutputFailed: (listener) => {
      const failed = (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') listener(err);
      };
      process.stdout.on('error', failed);
      return () => process.stdout.off('error', failed);
    },
    writeConfirmed: (text) =>
      new Promise((resolve) => {
        // The callback has the write's own error; 'error' is emitted too (main's listener takes it).
        if (process.stdout.destroyed) resolve(Object.assign(new Error('stdout is closed'), { code: 'EPIPE' }));
        else process.stdout.write(text, (err) => resolve(err ?? undefined));
      }),
    stdoutDiscarded: () => isDevNull(1),
    exit: (code) => process.exit(code),
  };
}

/** Whether file descriptor `fd` is /dev/null: the same character device (its rdev), whatever name or link it was opened by. */
export function isDevNull(fd: number): boolean {
  try {
    const open = fstatSync(fd);
    const devNull = statSync('/dev/null');
    return open.isCharacterDevice() && devNull.isCharacterDevice() && open.rdev === devNull.rdev;
  } catch {
    // No /dev/null (Windows), or fd not open: not known to be discarded.
    return false;
  }
}

/** A command's view of the io, with line helpers. */
export interface CommandContext {
  io: CliIo;
  /** One line (or block) on stdout; a trailing newline is added when missing. */
  print: (text: string) => void;
  /** The same on stderr. */
  warn: (text: string) => void;
}

/**
 * Control characters a terminal would act on (escape sequences, carriage return, backspace, the C1
 * set) and the bidirectional overrides that reorder what is shown, written as `\u001b` instead.
 * What the server sends back can hold them: a hand-edited key in a config file problem, a runner's
 * error text. Newline and tab stay. The escape is valid inside a JSON string too.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
export const visible = (text: string): string => text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const line = (text: string) => visible(text.endsWith('\n') ? text : `${text}\n`);

export function commandContext(io: CliIo): CommandContext {
  return { io, print: (text) => io.stdout.write(line(text)), warn: (text) => io.stderr.write(line(text)) };
}
