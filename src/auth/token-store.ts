import type { Scope } from './identity.js';

/** One named token as stored: never the token, only its SHA-256 digest. */
export interface StoredToken {
  readonly name: string;
  readonly scope: Scope;
  /** hex SHA-256 of the token */
  readonly sha256: string;
  readonly createdAt: string;
  /**
   * When the token stops being accepted (ISO 8601, UTC), or undefined: it never expires (tokens
   * made before expiry existed, or without --expires-in/--expires-at).
   */
  readonly expiresAt?: string;
}

/**
 * The expiry a new or rotated secret gets: `expiresAt` (`--expires-at`) or `expiresInMs` from the
 * moment it is written (`--expires-in`: its created_at, so the two differ by exactly that), or none
 * (`never`: `--no-expiry`). None of them: on `create`, none; on `rotate`, the same lifetime the old
 * secret was created with (its expires_at minus its created_at), counted from now, and none if it
 * had none.
 */
export interface TokenExpiryRequest {
  readonly expiresAt?: Date;
  readonly expiresInMs?: number;
  /** No expiry, whatever the old secret had (`--no-expiry`): a rotation had no way to drop one. */
  readonly never?: true;
}

/**
 * The longest lifetime a secret may be given (`--expires-in`, `--expires-at`, and a rotation keeping
 * the old one): a token meant to last longer is one meant not to expire.
 */
export const MAX_EXPIRES_IN_DAYS = 3650;
const DAY_MS = 86_400_000;

/** The expires_at a request asks for at `now`, or undefined when it asks for none. */
export function requestedExpiry(request: TokenExpiryRequest, now: Date): string | undefined {
  if (request.never) return undefined;
  if (request.expiresInMs !== undefined) return new Date(now.getTime() + request.expiresInMs).toISOString();
  return request.expiresAt?.toISOString();
}

/**
 * The expires_at a rotation writes (see TokenExpiryRequest): the asked one, else the old lifetime
 * counted from now. A record with no lifetime to keep (a hand-written created_at that is not a time,
 * or an expiry not after it) is refused (TokenRefusedError): the caller gives one. So is a lifetime
 * longer than MAX_EXPIRES_IN_DAYS (a hand-written `expires_at: 9999-12-31...` meant as "never"),
 * which `create` would have refused: kept, it ran past year 9999, and the store could not read what
 * it wrote (tokens.yaml invalid: every named token refused; etcd: that token refused for good).
 */
export function rotatedExpiry(current: StoredToken, now: Date, request: TokenExpiryRequest = {}): string | undefined {
  if (request.never || request.expiresAt !== undefined || request.expiresInMs !== undefined) return requestedExpiry(request, now);
  if (current.expiresAt === undefined) return undefined;
  const lifetime = Date.parse(current.expiresAt) - Date.parse(current.createdAt);
  if (!(lifetime > 0))
    throw new TokenRefusedError(
      `token "${current.name}" has no lifetime to keep (created_at ${current.createdAt}, expires_at ${current.expiresAt}): give --expires-in, --expires-at or --no-expiry`,
    );
  if (lifetime > MAX_EXPIRES_IN_DAYS * DAY_MS)
    throw new TokenRefusedError(
      `token "${current.name}" was given a lifetime of ${Math.floor(lifetime / DAY_MS)} days (created_at ${current.createdAt}, expires_at ${current.expiresAt}), longer than the ${MAX_EXPIRES_IN_DAYS} days a token may be given: give --expires-in, --expires-at or --no-expiry; nothing changed`,
    );
  return new Date(now.getTime() + lifetime).toISOString();
}

/** What `rotate` gives back: the new token itself (shown once, never stored) and the scope it kept. */
export interface RotatedToken {
  readonly token: string;
  readonly scope: Scope;
  /** The new secret's expiry (ISO 8601), or undefined: none. */
  readonly expiresAt?: string;
  /** The record the rotation replaced, for `restore` (stratctl puts it back when the new secret could not be shown). */
  readonly previous: StoredToken;
}

/**
 * The store refused a token operation: a name that is not allowed or reserved, a name in use, an
 * unreadable token file. Store-neutral (the file store's TokenFileError is one); the CLI exits 2.
 */
export class TokenRefusedError extends Error {
  override name = 'TokenRefusedError';
}

/**
 * Where named tokens live: `<runtime-dir>/tokens.yaml` (file store) or `tokens/<name>` keys (etcd),
 * hashed in both. Every API replica reads the same set; a revocation that finished before a
 * request arrived is seen by that request.
 */
export interface TokenStore {
  list(): Promise<readonly StoredToken[]>;
  /** Adds a named token and returns the token itself, which is shown once and never stored. */
  create(name: string, scope: Scope, expiry?: TokenExpiryRequest): Promise<string>;
  /** Removes a named token; false when there was none by that name. */
  revoke(name: string): Promise<boolean>;
  /**
   * Gives a named token a new secret, keeping its name (the audit actor) and scope; the old secret
   * is refused from the next request on, as after a revocation. Returns the new token (shown once,
   * never stored) and the scope it keeps, or null when there is no token by that name.
   */
  rotate(name: string, expiry?: TokenExpiryRequest): Promise<RotatedToken | null>;
  /**
   * Undoes a `create` or `rotate` whose secret could not be shown (stratctl's stdout failed): the
   * record named `name` becomes `previous` again (a rotation's old record, so its old secret works
   * again), or is removed (`undefined`: a creation), only while it is still the one with digest
   * `sha256`, the one that call wrote. True when undone; false when that record is no longer there
   * (revoked, rotated or re-created meanwhile by another command): nothing is changed then.
   */
  restore(name: string, sha256: string, previous: StoredToken | undefined): Promise<boolean>;
  /** The token with this digest as the store holds it now, or undefined. */
  find(sha256: string): Promise<StoredToken | undefined>;
  /**
   * Why every named token is refused now (the file store's tokens.yaml invalid or not trusted), or
   * null: after a look at the file made for this call (re-read only if it changed). As of the look
   * before, a probe polling every 75 s saw a deleted file's warning for 75 s.
   */
  problem?(): Promise<string | null>;
  close(): Promise<void>;
}
