import { AuthenticationError, type Credentials, ForbiddenError, type Identity, type Scope } from '../auth/identity.js';
import type { ControlPlaneServices } from '../control-plane.js';
import type { RequestLogger } from './request-scope.js';

export type { ControlPlaneServices };

export interface GraphQLContext {
  readonly services: ControlPlaneServices;
  readonly credentials: Credentials;
  readonly identity: Identity | null;
  /** False when reads need a token too (`--reads-require-token`). */
  readonly readsArePublic: boolean;
  /** The caller's list limit (`--max-list-size`; `--max-list-size-with-token` with a token): the most a left-out `last` gives. */
  readonly maxListSize: number;
  /** `--max-list-size-with-token`: what a refusal tells a caller without a token that a token would allow. */
  readonly maxListSizeWithToken: number;
  /** The HTTP request's id (`x-request-id`), also on every line of `log`. */
  readonly requestId: string;
  readonly log: RequestLogger;
}

/** Who asked, as the audit trail records it (the token's name). */
export const requester = (ctx: GraphQLContext) => ({ actor: ctx.identity?.name ?? 'unknown' });

/** Whether the caller holds `scope` (a read is anyone's while reads are public): the one rule scope-auth and the root check share. */
export const callerHasScope = (ctx: Pick<GraphQLContext, 'identity' | 'readsArePublic'>, scope: Scope): boolean =>
  (scope === 'read' && ctx.readsArePublic) || (ctx.identity?.scopes.has(scope) ?? false);

/** What scope-auth answers a caller without `scope`: 401 with no identity, 403 naming the scope; null when it has it. */
export const scopeRefusal = (
  ctx: Pick<GraphQLContext, 'identity' | 'readsArePublic'>,
  scope: Scope,
): AuthenticationError | ForbiddenError | null =>
  callerHasScope(ctx, scope) ? null : ctx.identity ? new ForbiddenError(scope) : new AuthenticationError('missing');
