import { SCOPES, type Scope } from './identity.js';

/**
 * What a granted scope lets a token do. Scopes are a ladder: `admin` implies `operate` and `read`;
 * `operate` implies `read`, because an operator who switches strategies must see what is active.
 */
const LADDER: Record<Scope, readonly Scope[]> = {
  read: ['read'],
  operate: ['operate', 'read'],
  admin: ['admin', 'operate', 'read'],
};

export function impliedScopes(granted: Iterable<Scope>): ReadonlySet<Scope> {
  const scopes = new Set<Scope>();
  for (const scope of granted) for (const s of LADDER[scope]) scopes.add(s);
  return scopes;
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
