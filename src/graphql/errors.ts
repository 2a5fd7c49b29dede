import { GraphQLError, type GraphQLErrorExtensions, type GraphQLErrorOptions } from 'graphql';
import type { YogaLogger } from 'graphql-yoga';
import { VersionNotInHistoryError } from '../audit/errors.js';
import { AuthenticationError, ForbiddenError } from '../auth/identity.js';
import {
  ConfigFileInvalidError,
  ConfigValidationError,
  ConfigWriteError,
  PresetInUseError,
  PresetsVersionConflictError,
  StoreOutcomeUnknownError,
  StoreUnavailableError,
  VersionConflictError,
} from '../config/errors.js';
import type { Logger } from '../log.js';
import { clippedMessage, InvalidStrategyKeyError, PresetValidationError, shownName } from '../registry/index.js';

export const UNAUTHENTICATED_HEADERS = { 'WWW-Authenticate': 'Bearer realm="strategy-control-plane"' };

/** How the challenge says a token expired (RFC 6750 error_description); never the token, only when. */
const EXPIRED_DESCRIPTION = 'the token expired at ';

/**
 * The WWW-Authenticate challenge for a refusal: `error="invalid_token"` for a token that was sent
 * and refused, with `error_description="the token expired at <ISO time>"` when it was a named
 * token's, right, but expired.
 */
export function bearerChallenge(reason: 'missing' | 'invalid', expiredAt?: string): string {
  const realm = UNAUTHENTICATED_HEADERS['WWW-Authenticate'];
  if (reason === 'missing') return realm;
  return `${realm}, error="invalid_token"${expiredAt ? `, error_description="${EXPIRED_DESCRIPTION}${expiredAt}"` : ''}`;
}

/** The challenge (a reply's www-authenticate) refused an expired token, not a wrong one (the failed-auth limit does not count it). */
export function challengeSaysExpired(challenge: string | undefined): boolean {
  return challenge?.includes(`error_description="${EXPIRED_DESCRIPTION}`) === true;
}

/** An issue as an answer carries it: a key in its path and its message cut short (a client's key can be 60 KB). */
const boundedIssue = (issue: { path: readonly (string | number)[]; message: string }) => ({
  path: issue.path.map((p) => (typeof p === 'string' ? shownName(p) : p)),
  message: clippedMessage(issue.message),
});

/**
 * The most issues an answer lists, then one that says how many more: 7,000 bad instruments in a
 * 62 KB request were answered with 7,000 issues (531 KB), where the overrides' own check stops at
 * MAX_OVERRIDE_ISSUES.
 */
export const MAX_ANSWER_ISSUES = 50;

const boundedIssues = (issues: readonly { path: readonly (string | number)[]; message: string }[]) =>
  issues.length <= MAX_ANSWER_ISSUES + 1
    ? issues.map(boundedIssue)
    : [
        ...issues.slice(0, MAX_ANSWER_ISSUES).map(boundedIssue),
        { path: [], message: `... and ${issues.length - MAX_ANSWER_ISSUES} more problems` },
      ];

/** Extensions for a known domain error: the code, the HTTP status (yoga honours `http`), details. */
export function extensionsFor(error: unknown): Record<string, unknown> | undefined {
  if (error instanceof InvalidStrategyKeyError) {
    return { code: 'BAD_USER_INPUT', http: { status: 400 }, issues: [boundedIssue({ path: error.issuePath, message: error.message })] };
  }
  if (error instanceof ConfigValidationError || error instanceof PresetValidationError || error instanceof PresetInUseError) {
    return { code: 'BAD_USER_INPUT', http: { status: 400 }, issues: boundedIssues(error.issues) };
  }
  if (error instanceof AuthenticationError) {
    return {
      code: 'UNAUTHENTICATED',
      http: { status: 401, headers: { 'WWW-Authenticate': bearerChallenge(error.reason, error.expiredAt) } },
      // An expired named token: when, so that its user knows to ask for a new one (not to retype it).
      ...(error.expiredAt && { expiredAt: error.expiredAt }),
    };
  }
  if (error instanceof ForbiddenError) {
    return { code: 'FORBIDDEN', http: { status: 403 }, requiredScope: error.scope };
  }
  if (error instanceof VersionConflictError || error instanceof PresetsVersionConflictError) {
    return { code: 'CONFLICT', http: { status: 409 }, currentVersion: error.currentVersion, expectedVersion: error.expectedVersion };
  }
  if (error instanceof VersionNotInHistoryError) {
    return {
      code: 'BAD_USER_INPUT',
      http: { status: 400 },
      reason: error.reason,
      ...(error.oldestKept !== undefined && { oldestKeptVersion: error.oldestKept, newestKeptVersion: error.newest }),
    };
  }
  if (error instanceof ConfigFileInvalidError) {
    return { code: 'CONFIG_FILE_INVALID', http: { status: 409 }, problems: error.fileError.problems };
  }
  if (error instanceof StoreUnavailableError) {
    return {
      code: 'UNAVAILABLE',
      http: { status: 503, headers: { 'Retry-After': String(error.retryAfterSeconds) } },
      // Sent, and no answer: it may or may not have been applied (never "refused" unless known).
      ...(error instanceof StoreOutcomeUnknownError && { outcome: 'UNKNOWN' }),
    };
  }
  if (error instanceof ConfigWriteError) {
    return { code: 'CONFIG_WRITE_FAILED', http: { status: 503 }, step: error.step, ...(error.errno && { errno: error.errno }) };
  }
  return undefined;
}

function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
}

/** A refusal the API documents (bad key, no token, conflict...): an answer, not a server fault. */
export function isDocumentedRefusal(error: unknown): boolean {
  return extensionsFor(rootCause(error)) !== undefined;
}

/**
 * The logger yoga gets. Yoga logs every error it re-shapes at ERROR with its stack; a documented
 * refusal is routine (a typo in a strategy key, an expired token), so it goes to DEBUG as one
 * line, and the ERROR level stays for what an operator must look at. ConfigWriteError stays at ERROR: the disk failed.
 */
export function refusalsAtDebug(logger: Logger): YogaLogger {
  // Yoga logs `(error)` or `(message, ...details)`; pino takes `({ err }, message)`.
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      const [first, ...rest] = args;
      // The root cause carries the stack worth reading (a GraphQLError only wraps it).
      if (first instanceof Error) return logger[level]({ err: rootCause(first), path: (first as GraphQLError).path }, first.message);
      logger[level]([first, ...rest].map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    };
  const error = at('error');
  return {
    // Yoga's own DEBUG lines ("Parsing request to extract GraphQL parameters") name no request and
    // say nothing of it: the adapter's access line (request id, status, ms) says what happened.
    debug: () => {},
    info: at('info'),
    warn: at('warn'),
    error: (...args: unknown[]) => {
      const [first] = args;
      const cause = rootCause(first);
      if (args.length === 1 && isDocumentedRefusal(first) && !(cause instanceof ConfigWriteError)) {
        logger.debug({ refusal: (cause as Error).name }, `refused: ${(cause as Error).name}: ${(cause as Error).message}`);
        return;
      }
      error(...args);
    },
  };
}

/**
 * Yoga's `maskError`: domain errors become their documented GraphQL errors; GraphQL's own errors
 * pass; anything else is masked (`Unexpected error.`, HTTP 500) and only the server log has it.
 */
export function maskError(error: unknown, message: string): Error {
  const cause = rootCause(error);
  const located = error instanceof GraphQLError ? error : undefined;
  const extensions = extensionsFor(cause);
  if (extensions) return errorAt(located, clippedMessage((cause as Error).message), extensions);
  if (cause instanceof GraphQLError) {
    // graphql-js's own messages quote values and names whole ("Variable "$r" got invalid value ..."): cut short.
    const clipped = clippedMessage(cause.message);
    return clipped === cause.message ? (error as Error) : errorAt(cause, clipped, cause.extensions);
  }
  return errorAt(located, message, { code: 'INTERNAL_SERVER_ERROR', http: { status: 500 } });
}

/**
 * A GraphQLError at `at`'s place (its nodes, source, positions and path), with this message and
 * these extensions: how a plugin re-words or re-codes an error it passes on.
 */
export function errorAt(
  at: GraphQLError | undefined,
  message: string,
  extensions: GraphQLErrorExtensions | undefined,
  originalError?: Error,
): GraphQLError {
  return new GraphQLError(message, {
    nodes: at?.nodes,
    source: at?.source,
    positions: at?.positions,
    path: at?.path,
    originalError,
    extensions,
  });
}

/** A 401/403 as scope-auth answers it (message, code, status, headers), optionally at a field. */
export function refusalError(refusal: AuthenticationError | ForbiddenError, options: GraphQLErrorOptions = {}): GraphQLError {
  return new GraphQLError(refusal.message, { ...options, originalError: refusal, extensions: extensionsFor(refusal) });
}
