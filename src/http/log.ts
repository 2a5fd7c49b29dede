import type { Logger } from '../log.js';

type Fields = Record<string, unknown>;
type LogMethod = (...args: unknown[]) => void;

/**
 * A logger whose every line carries `bindings` (the request id): pino's `child()`, or, for a logger
 * without one, the same calls with the bindings merged into each line's fields.
 */
export function childLogger(logger: Logger, bindings: Fields): Logger {
  const parent = logger as Logger & { child?: (bindings: Fields) => Logger };
  if (typeof parent.child === 'function') return parent.child(bindings);
  const bind =
    (method: LogMethod): LogMethod =>
    (...args) => {
      const [first, ...rest] = args;
      if (first === null || typeof first !== 'object' || first instanceof Error) return method(bindings, ...args);
      // pino's `{ err }` convention: a plain logger prints an Error argument with its stack, not a field.
      const { err, ...fields } = first as Fields;
      if (err instanceof Error) return method({ ...bindings, ...fields }, ...rest, err);
      return method({ ...bindings, ...(first as Fields) }, ...rest);
    };
  return { debug: bind(logger.debug), info: bind(logger.info), warn: bind(logger.warn), error: bind(logger.error) };
}
