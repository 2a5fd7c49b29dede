import type { Logger } from '../log.js';

/** A logger whose every line carries `bindings` (the request id). */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  return logger.child(bindings);
}
