import { z } from 'zod';

/**
 * A list's `last: Int` argument: 0 to `max`, refused otherwise with BAD_USER_INPUT in the API's
 * words (`Invalid last: must be 0 to 1000`, as `timeoutMs` says `must be 1 to 300000`), never
 * zod's own. Every list with a `last` takes this one, so none of them quietly answers `[]` for
 * a negative count while the others refuse it.
 */
export const lastArgSchema = (max: number) => z.number().int().min(0, `must be 0 to ${max}`).max(max, `must be 0 to ${max}`).nullish();
