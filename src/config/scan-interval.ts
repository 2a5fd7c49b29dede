/**
 * The bound of `scan_interval_seconds` and its words, without zod: the server's schema and the CLI
 * (which checks it before sending, where GraphQL's own Int error said nothing of the bound) share them.
 */
export const SCAN_INTERVAL_LIMITS = { min: 1, max: 86_400 } as const;
export const SCAN_INTERVAL_WORDS = {
  min: `must be at least ${SCAN_INTERVAL_LIMITS.min} second`,
  max: `must be at most ${SCAN_INTERVAL_LIMITS.max} seconds (one day)`,
} as const;
