/** Where a command writes, what it reads from the environment, and how it hears "stop": the process's, or a test's. */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: NodeJS.ProcessEnv;
  /** Calls `listener` on SIGINT/SIGTERM (or a test's equivalent); returns the unsubscribe. */
  onStopSignal: (listener: (signal: NodeJS.Signals) => void) => () => void;
}

export interface OutputStream {
  write(text: string): unknown;
  /** A terminal: the default log format is text, otherwise json. */
  isTTY?: boolean;
}

/** The real process's streams, environment and signals. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    onStopSignal: (listener) => {
      process.on('SIGINT', listener);
      process.on('SIGTERM', listener);
      return () => {
        process.off('SIGINT', listener);
        process.off('SIGTERM', listener);
      };
    },
  };
}

/** A command's view of the io, with line helpers. */
export interface CommandContext {
  io: CliIo;
  /** One line (or block) on stdout; a trailing newline is added when missing. */
  print: (text: string) => void;
  /** The same on stderr. */
  warn: (text: string) => void;
}

const line = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);

export function commandContext(io: CliIo): CommandContext {
  return { io, print: (text) => io.stdout.write(line(text)), warn: (text) => io.stderr.write(line(text)) };
}
