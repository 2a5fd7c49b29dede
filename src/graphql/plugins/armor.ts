import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { QUERY_LIMITS } from '../../limit-defaults.js';

export type QueryLimits = { -readonly [K in keyof typeof QUERY_LIMITS]: number };

/**
 * GraphQL Armor: refuses oversized documents at parse (tokens) and validation (depth, aliases,
 * directives) time, before any resolver runs. Field suggestions are blocked in production.
 */
export function armorPlugin(options: { production: boolean; limits?: Partial<QueryLimits> }): Plugin {
  const limits = { ...QUERY_LIMITS, ...options.limits };
  // Armor's errors carry no code or status; give them what graphql-js validation errors get from yoga
  // (400 under application/graphql-response+json, 200 under application/json, as the spec says).
  const onReject = [
    (_ctx: unknown, error: GraphQLError) =>
      Object.assign(error.extensions, { code: 'GRAPHQL_VALIDATION_FAILED', http: { spec: true, status: 400 } }),
  ];
  return EnvelopArmorPlugin({
    maxDepth: { n: limits.maxDepth, flattenFragments: false, onReject },
    // Cost depends on variables (list sizes), so it is checked per execution (cost.ts), never in validation, which may be cached.
    costLimit: { enabled: false },
    // No allowList: the library's default lets aliases of `__typename` through uncounted (30 were
    // answered under a limit of 15); README promises aliases per operation, whatever they name.
    maxAliases: { n: limits.maxAliases, onReject, allowList: [] },
    maxTokens: { n: limits.maxTokens, onReject },
    maxDirectives: { n: limits.maxDirectives, onReject },
    blockFieldSuggestion: { enabled: options.production, mask: '' },
  }) as Plugin;
}
