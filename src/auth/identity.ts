export const SCOPES = ['read', 'operate', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: the token's name (the actor in the audit trail) and what it may do. */
export interface Identity {
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
}

export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
  constructor(
    readonly reason: 'missing' | 'invalid',
    /** A named token that was right but has expired: when (ISO 8601). Said to the caller (never the token). */
    readonly expiredAt?: string,
  ) {
    super('Authentication required');
  }
}

/** The refusal for credentials that are not valid: 'invalid' (with when it expired, for an expired token) or 'missing'. */
export function authenticationErrorFor(credentials: Credentials): AuthenticationError {
  return credentials.kind === 'invalid' ? new AuthenticationError('invalid', credentials.expiredAt) : new AuthenticationError('missing');
}

export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
  constructor(readonly scope: Scope) {
    super(`Forbidden: requires scope ${scope}`);
  }
}

/**
 * The credentials on a request: none, well-formed and known (an identity), or presented but not
 * accepted. Reads may be public; a presented token that is wrong is refused even for a read.
 * `expiredAt`: the token is a named token's, right, but expired then (refused like a wrong one, yet
 * known: it is said to the caller, and it does not count toward the failed-auth limit).
 */
export type Credentials = { kind: 'none' } | { kind: 'valid'; identity: Identity } | { kind: 'invalid'; expiredAt?: string };

/** `Bearer <token>` -> token; null when there is no such header, undefined when it is malformed. */
export function bearerToken(header: string | null | undefined): string | null | undefined {
  if (header === null || header === undefined || header === '') return null;
  const match = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i.exec(header);
  return match?.[1];
}
