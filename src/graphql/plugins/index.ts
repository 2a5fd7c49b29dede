import type { Plugin } from 'graphql-yoga';
import { armorPlugin, type QueryLimits } from './armor.js';
import { productionPlugin } from './production.js';

export interface DocumentPolicyOptions {
  production: boolean;
  queryLimits?: Partial<QueryLimits>;
}

/**
 * What runs around parse, validate and execute, the same on every path into GraphQL (yoga's HTTP
 * handling or `getEnveloped`): the document's shape, then what production mode hides. HTTP
 * policy (Host, failed-auth limit, body size) is the HTTP adapter's chain (src/http/).
 */
export function documentPolicyPlugins(options: DocumentPolicyOptions): Plugin[] {
  return [
    armorPlugin({ production: options.production, limits: options.queryLimits }),
    ...(options.production ? [productionPlugin()] : []),
  ];
}
