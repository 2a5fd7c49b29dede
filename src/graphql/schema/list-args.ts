import { z } from 'zod';
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
  return `How many ${what}: ${range}; more is refused with BAD_USER_INPUT.`;
}
