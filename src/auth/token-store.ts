import type { Scope } from './identity.js';

/** One named token as stored: never the token, only its SHA-256 digest. */
export interface StoredToken {
  readonly name: string;
  readonly scope: Scope;
  /** hex SHA-256 of the token */
  readonly sha256: string;
  readonly createdAt: string;
}

/** What `rotate` gives back: the new token itself (shown once, never stored) and the scope it kept. */
export interface RotatedToken {
  readonly token: string;
  readonly scope: Scope;
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
  create(name: string, scope: Scope): Promise<string>;
  /** Removes a named token; false when there was none by that name. */
  revoke(name: string): Promise<boolean>;
  /**
   * Gives a named token a new secret, keeping its name (the audit actor) and scope; the old secret
   * is refused from the next request on, as after a revocation. Returns the new token (shown once,
   * never stored) and the scope it keeps, or null when there is no token by that name.
   */
  rotate(name: string): Promise<RotatedToken | null>;
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
