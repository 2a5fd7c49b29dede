export const SCOPES = ['read', 'operate', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: the token's name (the actor in the audit trail) and what it may do. */
export interface Identity {
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
}

export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
  constructor(readonly reason: 'missing' | 'invalid') {
    super('Authentication required');
  }
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
 */
export type Credentials = { kind: 'none' } | { kind: 'valid'; identity: Identity } | { kind: 'invalid' };

/** `Bearer <token>` -> token; null when there is no such header, undefined when it is malformed. */
export function bearerToken(header: string | null | undefined): string | null | undefined {
  if (header === null || header === undefined || header === '') return null;
  const match = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i.exec(header);
  return match?.[1];
}
