import type { FastLaneOptions } from '../../src/http/fast-lane/route.js';

/**
 * The ways a plain JSON POST to /graphql can be answered: yoga's own HTTP handling (the lane
 * off), the fast lane executing with graphql-jit, and the fast lane with yoga's executor. The
 * conformance tests (scopes, the error table, GraphQL-over-HTTP) run against each.
 */
export const GRAPHQL_PATHS: readonly { readonly name: string; readonly fastLane: FastLaneOptions }[] = [
  { name: 'yoga', fastLane: { enabled: false } },
  { name: 'fast lane, graphql-jit', fastLane: { jit: true } },
  { name: 'fast lane, yoga executor', fastLane: { jit: false } },
];
