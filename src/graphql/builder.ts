import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin, { type AuthFailure } from '@pothos/plugin-scope-auth';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { AuthenticationError, ForbiddenError, type Scope } from '../auth/identity.js';
import type { GraphQLContext } from './context.js';

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  AuthScopes: { scope: Scope };
  Scalars: {
    JSON: { Input: unknown; Output: unknown };
    DateTime: { Input: Date; Output: Date | string };
  };
  DefaultFieldNullability: false;
}>({
  plugins: [ScopeAuthPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (context) => ({
      scope: (scope) => (scope === 'read' && context.readsArePublic) || (context.identity?.scopes.has(scope) ?? false),
    }),
    // No identity: 401 (authenticate first). An identity without the scope: 403 naming the scope.
    unauthorizedError: (_parent, context, _info, result) => {
      if (!context.identity) return new AuthenticationError(context.credentials.kind === 'invalid' ? 'invalid' : 'missing');
      return new ForbiddenError(requiredScope(result.failure) ?? 'admin');
    },
  },
});

/** The scope a failed check asked for: `{ scope: 'operate' }` fails as any-of [AuthScope operate]. */
function requiredScope(failure: AuthFailure): Scope | undefined {
  if (failure.kind === 'AuthScope') return failure.parameter as Scope;
  if (failure.kind === 'AnyAuthScopes' || failure.kind === 'AllAuthScopes') {
    for (const inner of failure.failures) {
      const scope = requiredScope(inner);
      if (scope) return scope;
    }
  }
  return undefined;
}

builder.addScalarType('JSON', JSONResolver);
builder.addScalarType('DateTime', DateTimeResolver);
builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
