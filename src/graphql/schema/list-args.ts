import { type FieldNode, type GraphQLResolveInfo, Kind } from 'graphql';
import * as z from 'zod';
import { COST_LIMITS } from '../../limit-defaults.js';

/**
 * A list's `last: Int` argument: 0 to `max`, refused otherwise with BAD_USER_INPUT in the API's
 * words (`Invalid last: must be 0 to 1000`, as `timeoutMs` says `must be 1 to 300000`), never
 * zod's own. Every list with a `last` takes this one, so none of them quietly answers `[]` for
 * a negative count while the others refuse it.
 */
export const lastArgSchema = (max: number) => z.number().int().min(0, `must be 0 to ${max}`).max(max, `must be 0 to ${max}`).nullish();

/**
 * What a `last` argument's description says of its limit: the list's own `max`, under the cost
 * plugin's list limit, which depends on the token (`--max-list-size`, `--max-list-size-with-token`).
 */
export function lastArgDescription(what: string, max: number): string {
  const anonymous = Math.min(max, COST_LIMITS.maxListSize);
  const withToken = Math.min(max, COST_LIMITS.maxListSizeWithToken);
  const range =
    anonymous === withToken
      ? `0 to ${max}`
      : `0 to ${anonymous} without a token, 0 to ${withToken} with one (server defaults: \`--max-list-size\`, \`--max-list-size-with-token\`)`;
  return `How many ${what}: ${range}; more is refused with BAD_USER_INPUT. Left out: the default, at most the caller's limit.`;
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

/** The caller's list limit (`--max-list-size`, or `--max-list-size-with-token` with a token), from the context. */
export interface ListLimitContext {
  readonly maxListSize: number;
}

/**
 * The `last` a list resolver applies: the one the request gave, or when it gave none, the list's
 * default at most the caller's list limit. An operator who lowers `--max-list-size` under a
 * default (100) gets shorter lists for requests without `last`, not refusals of them; a `last`
 * the request does give over the limit is refused by the cost plugin, before any resolver runs.
 */
export function lastOf(last: number | null | undefined, fallback: number, info: GraphQLResolveInfo, ctx: ListLimitContext): number {
  const field = info.fieldNodes[0];
  if (last != null && field && argumentGiven(field, 'last', info.variableValues)) return last;
  return Math.min(fallback, ctx.maxListSize);
}
