/**
 * At exit, how long a long-running command (serve, runner) waits for its buffered log lines to go
 * out before it exits anyway: a stop drains requests for at most 10 s (DRAIN_MS), and README's
 * service managers allow 20 s (TimeoutStopSec) before SIGKILL; 1.5 s fits in that, and lines a
 * reader takes do not wait at all (the "stopped after ... s" line of a normal stop goes out at once).
 */
export const LOG_EXIT_FLUSH_MS = 1500;

/** The streams a bounded logger (log.ts createLogger) writes to. Apart from log.ts: the CLI entry reads it without loading pino. */
const logStreams = new WeakSet<object>();

/** At exit, `stream` is waited for at most LOG_EXIT_FLUSH_MS: a logger writes there. */
export function flushLogsAtExitWithin(stream: object): void {
  logStreams.add(stream);
}

/** How long an exit waits for `stream` to write out what it holds: LOG_EXIT_FLUSH_MS if a logger writes there, else as long as it takes. */
export function exitFlushMs(stream: object): number | undefined {
  return logStreams.has(stream) ? LOG_EXIT_FLUSH_MS : undefined;
}
