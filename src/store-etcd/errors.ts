import { StoreUnavailableError } from '../config/errors.js';

/**
 * StoreUnavailableError (the API's `Config store unavailable`, 503) with what the log needs: which
 * store and which operation. A commit that timed out after its transaction was sent may still have
 * landed (atomically, whole): the watch shows it either way, and a retry with `expectedVersion`
 * cannot apply it twice.
 */
export class EtcdUnavailableError extends StoreUnavailableError {
  /** `<operation> on <location> failed (<cause>)`: for logs, never for API clients. */
  readonly detail: string;
  constructor(
    readonly location: string,
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(2, options);
    const cause = options?.cause;
    const why = cause instanceof Error ? cause.message : cause === undefined ? 'no answer' : String(cause);
    this.detail = `${operation} on ${location} failed (${why})`;
  }
}
