/**
 * The bound of `scan_interval_seconds` and its words, without zod: the server's schema and the CLI
 * (which checks it before sending, where GraphQL's own Int error said nothing of the bound) share them.
 */
export const SCAN_INTERVAL_LIMITS = { min: 1, max: 86_400 } as const;
export const SCAN_INTERVAL_WORDS = {
  min: `must be at least ${SCAN_INTERVAL_LIMITS.min} second`,
  max: `must be at most ${SCAN_INTERVAL_LIMITS.max} seconds (one day)`,
} as const;

/** GraphQL's Int is 32-bit: a value outside it is refused before the server's own bound is asked. */
export const GRAPHQL_INT = { min: -(2 ** 31), max: 2 ** 31 - 1 } as const;
export const fitsGraphQLInt = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= GRAPHQL_INT.min && (v as number) <= GRAPHQL_INT.max;
