import { ConfigWriteError } from '../config/errors.js';

/**
 * The audit line of a change could not be made durable. The store undoes the change, so it is a
 * failed config write (CONFIG_WRITE_FAILED) whose message says the audit log was the cause.
 */
export class AuditWriteError extends ConfigWriteError {
  override name = 'AuditWriteError';
  constructor(step: string, errno: string | undefined, options?: { cause?: unknown }) {
    super(`audit ${step}`, errno, options);
    this.message = `Could not record the change in the audit log (${step} failed${errno ? `: ${errno}` : ''}); the change was undone and the previous config is still in force`;
  }
}

/** rollbackConfig to a version the history does not hold. */
export class VersionNotInHistoryError extends Error {
  override name = 'VersionNotInHistoryError';
  constructor(
    readonly version: number,
    readonly reason: 'expired' | 'unknown',
    readonly oldestKept: number | undefined,
    readonly newest: number | undefined,
  ) {
    super(
      reason === 'expired'
        ? `Config version ${version} has expired from the history (kept: versions ${oldestKept} to ${newest})`
        : `Unknown config version: ${version} (kept: ${oldestKept === undefined ? 'none' : `versions ${oldestKept} to ${newest}`})`,
    );
  }
}
