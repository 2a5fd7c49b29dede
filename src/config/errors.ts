import path from 'node:path';

/** Domain errors of the config store. They know nothing of GraphQL; the API maps them to codes. */

export interface ConfigIssue {
  /** Path in the caller's terms (GraphQL field names for input, snake_case keys for the file). */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export class InvalidStrategyKeyError extends Error {
  override name = 'InvalidStrategyKeyError';
  constructor(readonly strategyKey: string) {
    super(`Invalid strategy key: ${strategyKey}`);
  }
}

export class ConfigValidationError extends Error {
  override name = 'ConfigValidationError';
  constructor(
    readonly issues: readonly ConfigIssue[],
    message = ConfigValidationError.summarize(issues),
  ) {
    super(message);
  }

  static summarize(issues: readonly ConfigIssue[]): string {
    const badKey = issues.find((i) => i.message.startsWith('Invalid strategy key: '));
    if (badKey) return badKey.message;
    return `Invalid config: ${issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
  }
}

export class VersionConflictError extends Error {
  override name = 'VersionConflictError';
  constructor(
    readonly expectedVersion: number,
    readonly currentVersion: number,
  ) {
    super(`Config version conflict: expected ${expectedVersion}, current ${currentVersion}`);
  }
}

/** The config file on disk is not a valid config: where, and what is wrong. */
export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
  constructor(
    readonly file: string,
    readonly problems: readonly { line?: number; column?: number; message: string }[],
  ) {
    super(
      `${file}: invalid config\n${problems
        .map((p) => `  ${p.line ? `line ${p.line}${p.column ? `, column ${p.column}` : ''}: ` : ''}${p.message}`)
        .join('\n')}`,
    );
  }

  /** The file by its name alone: API clients are not told where the server keeps its files. */
  get publicLocation(): string {
    return path.basename(this.file);
  }

  /** The message as API clients see it (no directory). */
  get publicMessage(): string {
    return this.message.split(this.file).join(this.publicLocation);
  }
}

/** A mutation was refused because the file on disk is currently invalid (a hand edit to fix first). */
export class ConfigFileInvalidError extends Error {
  override name = 'ConfigFileInvalidError';
  constructor(readonly fileError: ConfigFileError) {
    super(`The config file on disk is invalid; fix it before changing the config. ${fileError.publicMessage}`, { cause: fileError });
  }
}

/** Writing the config failed (disk full, read-only, I/O error): nothing was changed. */
export class ConfigWriteError extends Error {
  override name = 'ConfigWriteError';
  constructor(
    readonly step: string,
    readonly errno: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `Could not save the config (${step} failed${errno ? `: ${errno}` : ''}); the previous config is unchanged and still in force`,
      options,
    );
  }
}

/**
 * The config store (etcd) could not be reached, or did not answer within its deadline (2 s). The
 * API answers `Config store unavailable`, code UNAVAILABLE, HTTP 503 with Retry-After. A commit that
 * timed out after its transaction was sent may still have landed (atomically, whole): the watch
 * shows it either way, and a retry with `expectedVersion` cannot apply it twice.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  /** What the API puts in Retry-After. */
  readonly retryAfterSeconds = 2;
  constructor(
    /** Where the store is (for logs; never sent to API clients). */
    readonly location: string,
    /** What was being done: `commit`, `read audit`, `token create` ... */
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    const cause = options?.cause;
    const why = cause instanceof Error ? cause.message : cause === undefined ? 'no answer' : String(cause);
    super(`Config store unavailable: ${operation} on ${location} failed (${why})`, options);
  }
}
