/** A usage error: bad flag, bad value. The CLI prints it in one line and exits 2. No imports, so any layer may throw it. */
export class UsageError extends Error {
  override name = 'UsageError';
}
