import type { Logger } from '../log.js';

/** A logger whose every line carries `bindings` (the request id). */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  return logger.child(bindings);
}

/**
 * `childLogger`, made on first use: most requests log nothing, and a pino child (bindings
 * serialised, redaction set up) costs about a microsecond on every request otherwise.
 */
export function lazyChildLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const real = () => {
    child ??= logger.child(bindings);
    return child;
  };
  return new Proxy({} as Logger, {
    get(_target, property) {
      const target = real();
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    set: (_target, property, value) => Reflect.set(real(), property, value),
    has: (_target, property) => property in real(),
  });
}
