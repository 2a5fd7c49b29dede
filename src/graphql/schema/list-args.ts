import { type FieldNode, type GraphQLResolveInfo, Kind } from 'graphql';
import { ConfigValidationError } from '../../config/errors.js';
import { COST_LIMITS } from '../../limit-defaults.js';

/**
 * What a `last` argument's description says of its limit: the list's own `max`, under the cost
 * plugin's list limit, which depends on the token (`--max-list-size`, `--max-list-size-with-token`).
 */
function lastArgDescription(what: string, max: number): string {
  const anonymous = Math.min(max, COST_LIMITS.maxListSize);
  const withToken = Math.min(max, COST_LIMITS.maxListSizeWithToken);
  const range =
    anonymous === withToken
      ? `0 to ${max}`
      : `0 to ${anonymous} without a token, 0 to ${withToken} with one (server defaults: \`--max-list-size\`, \`--max-list-size-with-token\`)`;
  return `How many ${what}: ${range}; more is refused with BAD_USER_INPUT. Left out: the default, at most the caller's limit.`;
}

/** The `last` argument's own maximum, in its schema extensions: what the cost plugin's refusal may promise a token. */
export const LAST_MAX_EXTENSION = 'lastMax';

/** A `last` argument's description and extensions (its maximum), for `t.arg.int`. */
export function lastArgOptions(what: string, max: number): { description: string; extensions: Record<string, number> } {
  return { description: lastArgDescription(what, max), extensions: { [LAST_MAX_EXTENSION]: max } };
}

/**
 * Whether the request itself gave the field's argument `name` a value (a literal, or a variable it
 * sent or whose definition has a default), as opposed to leaving it to the argument's default.
 * `null`, written or sent, counts as left out.
 */
export function argumentGiven(field: FieldNode, name: string, variables: Readonly<Record<string, unknown>>): boolean {
  const node = field.arguments?.find((a) => a.name.value === name);
  if (!node) return false;
  if (node.value.kind === Kind.VARIABLE) return variables[node.value.name.value] != null;
  return node.value.kind !== Kind.NULL;
}

/** The caller's list limit (`--max-list-size`, or `--max-list-size-with-token` with a token), and a token's, from the context. */
export interface ListLimitContext {
  readonly maxListSize: number;
  /** `--max-list-size-with-token`: what a caller without a token is told a token would allow. */
  readonly maxListSizeWithToken: number;
  readonly identity: unknown;
}

/**
 * The `last` a list resolver applies: the one the request gave, or when it gave none, the list's
 * default at most the caller's list limit. An operator who lowers `--max-list-size` under a
 * default (100) gets shorter lists for requests without `last`, not refusals of them; a `last`
 * the request does give over the limit is refused by the cost plugin, before any resolver runs.
 *
 * A given `last` outside 0 to `max` (the list's own maximum) is refused here with BAD_USER_INPUT
 * in the API's words, never zod's, and every list with a `last` takes this one, so none of them
 * quietly answers `[]` for a negative count while the others refuse it. Here rather than in a
 * static argument schema: the range it states is the one this caller may send, with what a token
 * would allow beside it, as the cost plugin words its refusal (`at most 100 (1000 with a token)`);
 * a static schema could only state the list's maximum, which a caller without a token is refused.
 */
export function lastOf(
  last: number | null | undefined,
  fallback: number,
  max: number,
  info: GraphQLResolveInfo,
  ctx: ListLimitContext,
): number {
  const field = info.fieldNodes[0];
  if (last != null && (last < 0 || last > max)) {
    const mine = Math.min(max, ctx.maxListSize);
    const withToken = Math.min(max, ctx.maxListSizeWithToken);
    const other = ctx.identity == null && withToken !== mine ? ` (${withToken} with a token)` : '';
    const message = `must be 0 to ${mine}${other}, got ${last}`;
    throw new ConfigValidationError([{ path: ['last'], message }], `Invalid last: ${message}`);
  }
  if (last != null && field && argumentGiven(field, 'last', info.variableValues)) return last;
  return Math.min(fallback, ctx.maxListSize);
}
