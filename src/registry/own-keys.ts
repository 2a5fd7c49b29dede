import * as z from 'zod';

/**
 * `schema` for a map whose own `__proto__` key is refused, not dropped. JSON.parse makes
 * `{"__proto__": …}` an own key, and zod's record leaves it out of what it returns (it never sets
 * a prototype): an override or a tunable under that name was answered `changed: false` as if it had
 * been accepted, while `constructor` or any other unknown name was refused. Refused here, with the
 * key's path, like any other bad key.
 */
export function ownKeysOnly<T extends z.ZodType>(schema: T) {
  return z.preprocess((value, ctx) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, '__proto__')) {
      ctx.addIssue({ code: 'custom', message: '__proto__ is never accepted as a key', path: ['__proto__'], input: value });
    }
    return value;
  }, schema);
}
