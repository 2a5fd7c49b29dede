import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin, { type AuthFailure } from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { authenticationErrorFor, ForbiddenError, type Scope } from '../auth/identity.js';
import { ConfigValidationError } from '../config/errors.js';
import { COST_LIMITS } from '../limit-defaults.js';
import ArgsAfterAuthPlugin from './args-after-auth.js';
import { callerHasScope, type GraphQLContext } from './context.js';

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  AuthScopes: { scope: Scope };
  Scalars: {
    JSON: { Input: unknown; Output: unknown };
    DateTime: { Input: Date; Output: Date | string };
  };
  DefaultFieldNullability: false;
}>({
  // Scope checks wrap validation: a caller without the right hears 401/403, not what was wrong with
  // its input. Pothos alone runs argument validation before any resolver wrapper; ArgsAfterAuthPlugin
  // moves it inside the scope check (args-after-auth.ts: why the order is this one).
  plugins: [ScopeAuthPlugin, ArgsAfterAuthPlugin, ValidationPlugin],
  defaultFieldNullability: false,
  validation: {
    // Argument issues become the API's BAD_USER_INPUT with per-field issues, paths in the caller's terms.
    validationError: (result, args) => {
      const issues = result.issues.map((issue) => ({
        path: (issue.path ?? []).map((p) => (typeof p === 'object' ? p.key : p)).map((p) => (typeof p === 'symbol' ? String(p) : p)),
        message: issue.message,
      }));
      // UpdateConfigInput's fields are named as the config's fields, without the argument's name.
      const named = issues.map((i) => (i.path[0] === 'input' ? { ...i, path: i.path.slice(1) } : i));
      return new ConfigValidationError(named, argumentsMessage(issues, inputSubject(args)));
    },
  },
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (context) => ({
      scope: (scope) => callerHasScope(context, scope),
    }),
    // No identity: 401 (authenticate first). An identity without the scope: 403 naming the scope.
    unauthorizedError: (_parent, context, _info, result) => {
      if (!context.identity) return authenticationErrorFor(context.credentials);
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

/**
 * What an `input` argument describes. Two input types exist: PresetInput always carries `base`
 * (required), UpdateConfigInput never has it.
 */
function inputSubject(args: Record<string, unknown>): 'config' | 'preset' {
  const input = args.input;
  return input !== null && typeof input === 'object' && Object.hasOwn(input, 'base') ? 'preset' : 'config';
}

/**
 * One line for the refusal: an invalid strategy key as the seed words it; an UpdateConfigInput issue
 * as `Invalid config: <field>: <problem>` (PresetInput: `Invalid preset: ...`); any other argument
 * as `Invalid <argument>: <problem>`.
 */
function argumentsMessage(
  issues: readonly { path: readonly (string | number)[]; message: string }[],
  subject: 'config' | 'preset',
): string {
  const badKey = issues.find((i) => i.message.startsWith('Invalid strategy key: '));
  if (badKey) return badKey.message;
  return issues
    .map(({ path: [first, ...rest], message }) =>
      first === 'input'
        ? `Invalid ${subject}: ${rest.join('.') || '(input)'}: ${message}`
        : `Invalid ${[first, ...rest].join('.')}: ${message}`,
    )
    .join('; ');
}

/** The first enum literal (a bare word: `FOO`) in a JSON literal, which JSON has no value for. */
function enumIn(node: ValueNode): string | null {
  if (node.kind === Kind.ENUM) return node.value;
  const children = node.kind === Kind.OBJECT ? node.fields.map((f) => f.value) : node.kind === Kind.LIST ? node.values : [];
  for (const child of children) {
    const found = enumIn(child);
    if (found !== null) return found;
  }
  return null;
}

/**
 * JSON as graphql-scalars reads it, except a bare word written inline (`{ lookback_bars: FOO }`),
 * which it read as nothing: the refusal then said "got nothing" of a value that was sent. Said here
 * as what it is.
 */
const JSONScalar = new GraphQLScalarType({
  ...JSONResolver.toConfig(),
  parseLiteral(node, variables) {
    const word = enumIn(node);
    if (word !== null)
      throw new GraphQLError(`${word} is an enum value, not JSON: write "${word}" in quotes for text, or a number, true, false or null`, {
        nodes: node,
      });
    return JSONResolver.parseLiteral(node, variables);
  },
});
builder.addScalarType('JSON', JSONScalar);
builder.addScalarType('DateTime', DateTimeResolver);
builder.queryType({
  description:
    'Reads. Each needs scope `read`, which every caller has unless the server runs with `--reads-require-token` (`viewer` needs none). ' +
    `A document may cost at most ${COST_LIMITS.maxCost} without a token and ${COST_LIMITS.maxCostWithToken} with one (server defaults; a list's selection counts \`last\` times).`,
});
builder.mutationType({
  description:
    'Changes. Each needs a token (`Authorization: Bearer <token>`) with the scope it names. A request may hold only one mutation field; a refused change writes nothing.',
});
builder.subscriptionType({
  description:
    'Live updates over SSE (graphql-sse). Each needs scope `read`, as queries do; the streams of a token revoked meanwhile end with UNAUTHENTICATED.',
});
