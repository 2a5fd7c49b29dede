import path from 'node:path';
import { shownPath } from '../registry/shown-value.js';

/** Domain errors of the config store. They know nothing of GraphQL; the API maps them to codes. */

export interface ConfigIssue {
  /** Path in the caller's terms (GraphQL field names for input, snake_case keys for the file). */
  readonly path: readonly (string | number)[];
  readonly message: string;
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
    return `Invalid config: ${issues.map((i) => `${shownPath(i.path) || '(root)'}: ${i.message}`).join('; ')}`;
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

/** A preset change named a preset-set version (`expectedVersion`) that is no longer the one in force. */
export class PresetsVersionConflictError extends Error {
  override name = 'PresetsVersionConflictError';
  constructor(
    readonly expectedVersion: number,
    readonly currentVersion: number,
  ) {
    super(`Presets version conflict: expected ${expectedVersion}, current ${currentVersion}`);
  }
}

/**
 * A preset change (or a hand edit of the presets) would remove or invalidate a strategy the config
 * in force uses: the active one, or one named in `tunable_overrides`. Refused; nothing changes.
 */
export class PresetInUseError extends Error {
  override name = 'PresetInUseError';
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(
      `Refused: the config in force uses what this would remove or invalidate (${issues
        .map((i) => `${shownPath(i.path)}: ${i.message}`)
        .join('; ')}). Activate another strategy or remove those tunable_overrides first.`,
    );
  }
}

type FileProblem = { line?: number; column?: number; message: string };

/**
 * The most problems a ConfigFileError carries (its message, `problems`, and so status,
 * `strategiesError`, /ready's reasons, the log line): the readers cap theirs at 20 and count the
 * rest; this is the last guard, for a list built elsewhere. A refusal that named all 25,000 of a
 * file's problems made each of those megabytes.
 */
export const MAX_FILE_PROBLEMS = 20;

function boundedProblems(problems: readonly FileProblem[]): readonly FileProblem[] {
  // One more is a list already capped (its last says how many more there are).
  if (problems.length <= MAX_FILE_PROBLEMS + 1) return problems;
  return [...problems.slice(0, MAX_FILE_PROBLEMS), { message: `... and ${problems.length - MAX_FILE_PROBLEMS} more problems` }];
}

/** A stored file (config.yaml, strategies.yaml, or their etcd keys) is not valid: where, and what is wrong. */
export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
  /** What is wrong, and where: at most MAX_FILE_PROBLEMS of them, and how many more. */
  readonly problems: readonly FileProblem[];
  constructor(
    readonly file: string,
    problems: readonly FileProblem[],
    /** What the file holds: the runtime config, or the preset set. */
    readonly subject: 'config' | 'presets' = 'config',
    /** What refused the file before it was read, if something did (a RuntimeFileRefusedError: unreadable, a directory, ...). */
    cause?: Error,
  ) {
    const bounded = boundedProblems(problems);
    super(
      `${file}: invalid ${subject}\n${bounded
        .map((p) => `  ${p.line ? `line ${p.line}${p.column ? `, column ${p.column}` : ''}: ` : ''}${p.message}`)
        .join('\n')}`,
      cause && { cause },
    );
    this.problems = bounded;
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

/**
 * The stored config is missing (deleted by hand; with etcd, the key gone or etcd gone back): reported
 * as a ConfigFileError, but changes are not refused as they are for an invalid file: the next change
 * through the API writes it again (ConfigError.changesRefused is false).
 */
export class ConfigMissingError extends ConfigFileError {}

/** A mutation was refused because the stored config is currently invalid (a hand edit to fix first). */
export class ConfigFileInvalidError extends Error {
  override name = 'ConfigFileInvalidError';
  constructor(readonly fileError: ConfigFileError) {
    const first = fileError.problems[0];
    const where = first?.line ? `line ${first.line}${first.column ? `, column ${first.column}` : ''}: ` : '';
    super(`Config file is invalid: ${fileError.publicLocation}: ${where}${first?.message ?? 'invalid'}`, { cause: fileError });
  }
}

/**
 * Writing the change failed (disk full, read-only, I/O error): nothing was changed, the previous
 * config is still in force. `step` says which step failed (open temp file, write, fsync, rename,
 * audit append ...), `errno` the system's code.
 */
export class ConfigWriteError extends Error {
  override name = 'ConfigWriteError';
  constructor(
    readonly step: string,
    readonly errno: string | undefined,
    options?: { cause?: unknown },
  ) {
    super('Config could not be written', options);
  }
}

/**
 * The largest version a config or preset set may have: GraphQL's Int (32-bit) carries every version
 * the API reports. A hand edit to `version: 2147483648` was applied, and from then on every status
 * read failed with GraphQL's Int error, and every change answered 500 though it was written.
 */
export const MAX_VERSION = 2_147_483_647;

/**
 * A stored config or preset set that cannot be put in force because its trail's last version is
 * MAX_VERSION: nothing is left to number it (a hand edit, or a missing config.yaml to write again).
 * Still a ConfigFileError (exit 78, reported like an invalid file); its own class so that the start
 * can say the way out, which fixing the file alone is not: the version count has to start again.
 */
export class VersionBoundError extends ConfigFileError {
  constructor(
    file: string,
    message: string,
    subject: 'config' | 'presets',
    /** Where the last version is recorded. */
    readonly trail: 'audit.log' | 'the audit trail',
    /** A missing config.yaml: the trail's last config, to write again at a version the count can go on from. */
    readonly lastConfig?: RuntimeConfigLike,
  ) {
    super(file, [{ message }], subject);
  }
}

/** The settings and time of a recorded config (RuntimeConfig, without importing the schema here). */
export interface RuntimeConfigLike {
  readonly activeStrategyKey: string;
  readonly tradingEnabled: boolean;
  readonly scanIntervalSeconds: number;
  readonly tunableOverrides: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly updatedAt: string;
}

/**
 * A hand edit that no version is left for: the last recorded version of its subject is MAX_VERSION,
 * and the edit would be numbered last + 1. It was put in force as 2147483648, and from then on every
 * `status` read failed with GraphQL's Int error; it is kept out, reported like an invalid file. One
 * message for both stores and both subjects (`trail`: where the last version is recorded).
 */
export function unnumberedHandEditError(
  location: string,
  subject: 'config' | 'presets',
  trail: 'audit.log' | 'the audit trail',
): ConfigFileError {
  const what = subject === 'config' ? 'a config' : 'a preset set';
  return new VersionBoundError(
    location,
    `this hand edit cannot be numbered: version ${MAX_VERSION}, the last ${what} may have, is already recorded in ${trail}`,
    subject,
    trail,
  );
}

/** The version after `version`; past MAX_VERSION no change can be numbered, and none is written. */
export function nextVersion(version: number): number {
  if (version >= MAX_VERSION) throw new ConfigWriteError(`number the next version (${version} is the last one)`, 'EOVERFLOW');
  return version + 1;
}

/**
 * The store (etcd) could not be reached within its deadline: nothing was written; try again later.
 * `detail` says which store and operation, and why (`commit on etcd://.../ failed (no answer within
 * 2000 ms)`): for logs and the operator's terminal, never for API clients. A commit that timed out
 * after its transaction was sent may still have landed (atomically, whole): the watch shows it
 * either way, and a retry with `expectedVersion` cannot apply it twice.
 */
/**
 * etcd answered, and refused the call as it was made (an invalid argument, a failed precondition,
 * permission denied ...): not unavailability, so not "try again later". Retrying cannot help; the
 * API answers it as anything unexpected (500, the detail only in the log), the CLI exits 1.
 */
export class StoreRefusedError extends Error {
  override name = 'StoreRefusedError';
  constructor(
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Config store refused the request: ${detail}`, options);
  }
}

export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  readonly detail: string | undefined;
  /**
   * The store refused this process's credentials or rights (etcd's auth errors): a setting, which a
   * retry does not fix. Said by the store, so what reads it need not load the store's client library.
   */
  readonly accessRefused: boolean;
  /** The call never left this process (no member took the connection): a write it carried did not happen. */
  readonly neverSent: boolean;
  constructor(
    readonly retryAfterSeconds = 2,
    options?: { cause?: unknown; detail?: string; accessRefused?: boolean; neverSent?: boolean },
  ) {
    super('Config store unavailable', options);
    this.detail = options?.detail;
    this.accessRefused = options?.accessRefused ?? false;
    this.neverSent = options?.neverSent ?? false;
  }

  /** A call that was sent and never answered (a deadline, a dropped connection): a write it carried may have landed. Not one refused, nor one never sent. */
  get answerLost(): boolean {
    return !this.accessRefused && !this.neverSent;
  }
}

/**
 * What to check when etcd refused this process's credentials or rights (StoreUnavailableError.accessRefused).
 * Without a user and password, etcd run with --client-cert-auth takes the user from the client
 * certificate's CN: the hint named only the variables, which were not set.
 */
export const ACCESS_REFUSED_HINT =
  'check CONTROL_PLANE_ETCD_USER / CONTROL_PLANE_ETCD_PASSWORD (without them, an etcd run with --client-cert-auth takes the user from the CN of --etcd-cert) and that user\'s role on the store\'s prefix (read-write on the keys that begin with "/<prefix>/")';

/**
 * A change was sent to the store, and then the store stopped answering before it said whether the
 * change was made (a hung member, the deadline passed), and asking again found no trace of it yet:
 * it may still land. Never "refused, nothing was changed": the caller must look before retrying.
 * DESIGN's `UNAVAILABLE` (message `Config store unavailable`, HTTP 503), with `outcome: UNKNOWN`.
 */
export class StoreOutcomeUnknownError extends StoreUnavailableError {
  override name = 'StoreOutcomeUnknownError';
  constructor(cause: StoreUnavailableError) {
    super(cause.retryAfterSeconds, {
      cause,
      detail: `${cause.detail ?? 'the store did not answer'}; the change was sent and may or may not have been applied`,
    });
  }
}
