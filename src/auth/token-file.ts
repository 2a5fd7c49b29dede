import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import * as z from 'zod';
import { AtomicWriteError, writeFileAtomic } from '../fs/atomic-write.js';
import { errnoOf } from '../fs/file-system.js';
import { makeDirs } from '../fs/make-dirs.js';
import { readRuntimeBytes } from '../fs/runtime-file.js';
import { MAX_RUNTIME_FILE_BYTES } from '../limit-defaults.js';
import { acquireLock, LockHeldError } from '../lock.js';
import { parseYaml, type YamlParseResult } from '../yaml/core.js';
import { YamlDeadlineError, type YamlParser } from '../yaml/off-thread.js';
import { SCOPES, type Scope } from './identity.js';
import {
  type RotatedToken,
  requestedExpiry,
  rotatedExpiry,
  type StoredToken,
  type TokenExpiryRequest,
  TokenRefusedError,
} from './token-store.js';

export const TOKENS_FILE = 'tokens.yaml';
/**
 * Names an audit line may carry for the system itself (`etcd`: a hand edit of the etcd store's
 * config key); a named token cannot take them, in either store, so a token moved between stores
 * never collides with them.
 */
export const RESERVED_TOKEN_NAMES = ['admin', 'system', 'file', 'etcd', 'unknown'] as const;
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const isReservedTokenName = (name: string) => (RESERVED_TOKEN_NAMES as readonly string[]).includes(name);
/**
 * A stored token's name: the pattern, and not a reserved one. A hand-written entry named `system`
 * was taken, and its requests were audited as the system's own changes.
 */
export const storedNameSchema = z
  .string()
  .regex(NAME)
  .refine((name) => !isReservedTokenName(name), `is reserved (${RESERVED_TOKEN_NAMES.join(', ')}: the audit trail's names for the system)`);

/**
 * An expiry as stored (`expires_at` in tokens.yaml and in etcd's token records): an ISO 8601 time
 * with its zone (`Z` or `+hh:mm`), so a hand edit never means a different moment on another host.
 * One that is not (a typo, `tomorrow`) makes the file invalid (every named token refused, said in
 * the log and /ready) rather than a token that never expires.
 */
const EXPIRES_AT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * The moment an expiry as written names (ms since the epoch), or null when it is not an ISO 8601
 * time with its zone or names no real time: `2027-02-30`, hour 24, minute 60. JavaScript's
 * Date.parse rolls those over (February 30th is March 2nd), so a typo would have meant another day.
 */
export function expiresAtTime(text: string): number | null {
  const match = EXPIRES_AT.exec(text);
  if (!match) return null;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = match.slice(1).map((part) => Number(part ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  const real = day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 23 && offsetMinutes <= 59;
  const at = Date.parse(text);
  return real && !Number.isNaN(at) ? at : null;
}

export const expiresAtSchema = z
  .string()
  .refine((s) => expiresAtTime(s) !== null, 'must be an ISO 8601 time with its zone, e.g. 2026-01-31T00:00:00Z');

export type { StoredToken };

/** tokens.yaml is invalid, or the file store refused a change (a TokenRefusedError). */
export class TokenFileError extends TokenRefusedError {
  override name = 'TokenFileError';
}

const fileSchema = z
  .object({
    tokens: z
      .array(
        z
          .object({
            // The pattern only: an entry with a reserved name is read (so `token list` shows it and
            // `token revoke` removes it) and refused one by one by the server (file-token-store.ts).
            // Refused here, it took the whole file with it: a token named `etcd`, which could be
            // created before 2026-11-29, turned every named token away after an upgrade.
            name: z.string().regex(NAME),
            scope: z.enum(SCOPES),
            sha256: z.string().regex(/^[0-9a-f]{64}$/),
            created_at: z.string(),
            expires_at: expiresAtSchema.optional(),
          })
          .strict(),
      )
      .nullish(),
  })
  .strict();

/** A new token: 32 random bytes, base64url (what `create` and `rotate` print once, in either store). */
export function newTokenSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function checkTokenName(name: string): string | undefined {
  if (!NAME.test(name)) return `token name "${name}" must be 1-63 characters of a-z 0-9 . _ - (starting with a letter or digit)`;
  if (isReservedTokenName(name)) return `token name "${name}" is reserved`;
  // `admin.` read as the reserved `admin` at the end of a sentence (a log line, a page's "by admin.").
  // Refused for new names only: one already stored (by hand) is still read, so no token in use stops working.
  if (name.endsWith('.')) return `token name "${name}" must not end with a dot`;
  return undefined;
}

/** Parses tokens.yaml; throws TokenFileError saying what is wrong. */
export function parseTokenFile(file: string, text: string): StoredToken[] {
  return tokensFromYaml(file, parseYaml(text));
}

/** The schema stage of tokens.yaml, from the YAML stage's result (in process or from the parse worker). */
export function tokensFromYaml(file: string, result: YamlParseResult): StoredToken[] {
  if (!result.ok) {
    const first = result.problems[0];
    throw new TokenFileError(`${file}: ${first?.line ? `line ${first.line}: ` : ''}${first?.message ?? 'invalid YAML'}`);
  }
  const parsed = fileSchema.safeParse(result.data ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TokenFileError(`${file}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  const tokens = (parsed.data.tokens ?? []).map(
    (t): StoredToken => ({
      name: t.name,
      scope: t.scope,
      sha256: t.sha256,
      createdAt: t.created_at,
      ...(t.expires_at !== undefined && { expiresAt: t.expires_at }),
    }),
  );
  const names = new Set<string>();
  for (const t of tokens) {
    if (names.has(t.name)) throw new TokenFileError(`${file}: token name "${t.name}" appears twice`);
    names.add(t.name);
  }
  return tokens;
}

export function renderTokenFile(tokens: readonly StoredToken[]): string {
  const lines = [
    '# Named API tokens of strategy-control-plane. Only SHA-256 digests are stored, never a token.',
    '# Manage with `stratctl token create | list | rotate | revoke`.',
    'tokens:',
  ];
  for (const t of tokens) {
    lines.push(`  - name: ${t.name}`, `    scope: ${t.scope}`, `    sha256: ${t.sha256}`, `    created_at: ${JSON.stringify(t.createdAt)}`);
    if (t.expiresAt !== undefined) lines.push(`    expires_at: ${JSON.stringify(t.expiresAt)}`);
  }
  if (tokens.length === 0) lines[2] = 'tokens: []';
  return `${lines.join('\n')}\n`;
}

/** What tokens.yaml must be before it is read: it grants access, so only its owner (or root) may write it. */
export const TOKEN_FILE_CHECKS = { secret: true, maxBytes: MAX_RUNTIME_FILE_BYTES } as const;

/**
 * Reads tokens.yaml (missing: no tokens) the runtime-file way, refusing one that others could have
 * written (RuntimeFileRefusedError). With `yaml`, the YAML is parsed in the parse worker.
 */
export async function readTokenFile(
  file: string,
  options: { yaml?: YamlParser; maxBytes?: number; deadlineMs?: number } = {},
): Promise<StoredToken[]> {
  let text: string;
  try {
    const checks = { ...TOKEN_FILE_CHECKS, maxBytes: options.maxBytes ?? TOKEN_FILE_CHECKS.maxBytes, runtimeDir: path.dirname(file) };
    text = (await readRuntimeBytes(file, checks)).bytes.toString('utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return [];
    throw err;
  }
  if (!options.yaml) return parseTokenFile(file, text);
  try {
    return tokensFromYaml(file, await options.yaml.parse(text, { deadlineMs: options.deadlineMs }));
  } catch (err) {
    if (err instanceof YamlDeadlineError) throw new TokenFileError(`${file}: ${err.message}`);
    throw err;
  }
}

/**
 * How `stratctl token` writes tokens.yaml: whole (a temp file renamed into place), owner-only, and
 * showing it was renamed into place after it was written (ctime after mtime, showRenamed): the
 * server reads such a file at once, so a revocation, rotation or new token is in force on the next
 * request, while a tokens.yaml created anew and being written by hand waits until it is still.
 */
export const TOKEN_FILE_WRITE = { mode: 0o600, showRenamed: true } as const;

/**
 * A `stratctl token` write that failed before tokens.yaml changed (a full or read-only disk): its
 * lock or the file itself could not be written, and the old file stands. `file` is the base name of
 * what could not be written, `errno` why. It was a stack under "unexpected error".
 */
export class TokenWriteError extends Error {
  override name = 'TokenWriteError';
  constructor(
    readonly file: string,
    readonly errno: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`could not write ${file}${errno ? ` (${errno})` : ''}`, options);
  }
}

/**
 * Runs `task` holding `<file>.lock` (src/lock.ts, wait mode), so two `stratctl token` commands never
 * interleave their read-modify-write. A lock left by a dead process is taken over.
 */
async function withTokenFileLock<T>(file: string, task: () => Promise<T>): Promise<T> {
  const lockFile = `${file}.lock`;
  let lock: Awaited<ReturnType<typeof acquireLock>>;
  try {
    lock = await acquireLock(lockFile, { waitMs: 10_000 });
  } catch (err) {
    if (err instanceof LockHeldError) throw new TokenFileError(`${err.message}; try again, or remove it if no stratctl is running`);
    // The lock could not be made (ENOSPC, EROFS, EACCES): nothing was read or written yet.
    if (errnoOf(err) !== undefined) throw new TokenWriteError(path.basename(lockFile), errnoOf(err), { cause: err });
    throw err;
  }
  try {
    return await task();
  } finally {
    await lock.release();
  }
}

/**
 * Writes tokens.yaml whole; a failure leaves the old file as it was (TokenWriteError). The text is
 * read back by the server's own parser first: one it would refuse (an expiry past year 9999 once
 * rendered, a name it does not take) would refuse every named token, and is not written
 * (TokenFileError, nothing changed).
 */
async function writeTokenFile(file: string, tokens: readonly StoredToken[]): Promise<void> {
  const text = renderTokenFile(tokens);
  try {
    parseTokenFile(TOKENS_FILE, text);
  } catch (err) {
    if (err instanceof TokenFileError) throw new TokenFileError(`the new tokens.yaml would be invalid (${err.message}): nothing written`);
    throw err;
  }
  try {
    await writeFileAtomic(file, text, TOKEN_FILE_WRITE);
  } catch (err) {
    if (err instanceof AtomicWriteError) throw new TokenWriteError(path.basename(file), err.errno, { cause: err });
    throw err;
  }
}

/** Adds a named token; returns the token itself, which is shown once and never stored. */
export async function createToken(
  runtimeDir: string,
  name: string,
  scope: Scope,
  expiry: TokenExpiryRequest = {},
  now = new Date(),
): Promise<string> {
  const problem = checkTokenName(name);
  if (problem) throw new TokenFileError(problem);
  await makeDirs(runtimeDir);
  const file = path.join(runtimeDir, TOKENS_FILE);
  return withTokenFileLock(file, async () => {
    const tokens = await readTokenFile(file);
    if (tokens.some((t) => t.name === name)) throw new TokenFileError(`a token named "${name}" exists; revoke it first to replace it`);
    const token = newTokenSecret();
    const expiresAt = requestedExpiry(expiry, now);
    await writeTokenFile(file, [
      ...tokens,
      {
        name,
        scope,
        sha256: tokenDigest(token),
        createdAt: now.toISOString(),
        ...(expiresAt && { expiresAt }),
      },
    ]);
    return token;
  });
}

/** Removes a named token; false when there was none by that name. */
export async function revokeToken(runtimeDir: string, name: string): Promise<boolean> {
  const file = path.join(runtimeDir, TOKENS_FILE);
  return withTokenFileLock(file, async () => {
    const tokens = await readTokenFile(file);
    const kept = tokens.filter((t) => t.name !== name);
    if (kept.length === tokens.length) return false;
    await writeTokenFile(file, kept);
    return true;
  });
}

/**
 * A new secret for the named token, same name and scope, under the same lock and atomic write as
 * create and revoke; `created_at` becomes now (the age of the secret in use, which a rotation
 * schedule goes by), and `expires_at` what `expiry` says (rotatedExpiry: by default the old lifetime from now). The new token and its scope, or null when there is none by that name.
 */
export async function rotateToken(
  runtimeDir: string,
  name: string,
  expiry: TokenExpiryRequest = {},
  now = new Date(),
): Promise<RotatedToken | null> {
  const file = path.join(runtimeDir, TOKENS_FILE);
  return withTokenFileLock(file, async () => {
    const tokens = await readTokenFile(file);
    const current = tokens.find((t) => t.name === name);
    if (current && isReservedTokenName(name))
      throw new TokenFileError(
        `token "${name}" has a reserved name: the server refuses it whatever its secret; "stratctl token revoke ${name}" removes it, then create it under another name`,
      );
    if (!current) return null;
    const expiresAt = rotatedExpiry(current, now, expiry);
    const token = newTokenSecret();
    const next: StoredToken = {
      name,
      scope: current.scope,
      sha256: tokenDigest(token),
      createdAt: now.toISOString(),
      ...(expiresAt && { expiresAt }),
    };
    const rotated = tokens.map((t) => (t === current ? next : t));
    await writeTokenFile(file, rotated);
    return { token, scope: current.scope, ...(expiresAt && { expiresAt }), previous: current };
  });
}

/**
 * TokenStore.restore on tokens.yaml, under the same lock as the writes it undoes: the entry named
 * `name` becomes `previous` again in its place (or is removed), only while its digest is `sha256`.
 */
export async function restoreToken(runtimeDir: string, name: string, sha256: string, previous: StoredToken | undefined): Promise<boolean> {
  const file = path.join(runtimeDir, TOKENS_FILE);
  return withTokenFileLock(file, async () => {
    const tokens = await readTokenFile(file);
    const current = tokens.find((t) => t.name === name);
    if (current?.sha256 !== sha256) return false;
    await writeTokenFile(
      file,
      previous === undefined ? tokens.filter((t) => t !== current) : tokens.map((t) => (t === current ? previous : t)),
    );
    return true;
  });
}
