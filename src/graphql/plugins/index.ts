import type { Plugin } from 'graphql-yoga';
import { armorPlugin, type QueryLimits } from './armor.js';
import { boundedMessagesPlugin } from './bounded-messages.js';
import { type CostLimits, costPlugin } from './cost.js';
import { noRepeatedEventsPlugin } from './no-repeated-events.js';
import { oneMutationPlugin } from './one-mutation.js';
import { productionPlugin } from './production.js';
import type { OnDocumentRefusal } from './refusal.js';
import { responseSizePlugin } from './response-size.js';
import { rootScopesPlugin } from './root-scopes.js';
import { subscriptionRootPlugin } from './subscription-root.js';
import { validationThrowsPlugin, variableErrorsPlugin } from './variable-errors.js';

export interface DocumentPolicyOptions {
  production: boolean;
  queryLimits?: Partial<QueryLimits>;
  costLimits?: Partial<CostLimits>;
  /** A query result or subscription event over this many bytes is refused (default 1 MiB). */
  maxResponseBytes?: number;
  /** Told of each request refused by a per-request limit (metrics). */
  onRefusal?: OnDocumentRefusal;
}

/**
 * What runs around parse, validate and execute, the same on every path into GraphQL (yoga's HTTP
 * handling or `getEnveloped`): the document's shape, then what production mode hides. HTTP
 * policy (Host, failed-auth limit, body size) is the HTTP adapter's chain (src/http/).
 */
export function documentPolicyPlugins(options: DocumentPolicyOptions): Plugin[] {
  return [
    validationThrowsPlugin(),
    armorPlugin({ production: options.production, limits: options.queryLimits }),
    oneMutationPlugin(),
    subscriptionRootPlugin(),
    boundedMessagesPlugin(),
    rootScopesPlugin(),
    costPlugin({ limits: options.costLimits, onRefusal: options.onRefusal }),
    variableErrorsPlugin(),
    noRepeatedEventsPlugin(),
    responseSizePlugin({ maxBytes: options.maxResponseBytes, onRefusal: options.onRefusal }),
    ...(options.production ? [productionPlugin()] : []),
  ];
}
