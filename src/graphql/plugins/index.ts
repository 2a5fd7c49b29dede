import type { Plugin } from 'graphql-yoga';
import { armorPlugin, type QueryLimits } from './armor.js';
import { type AuthFailureLimitOptions, authFailureLimitPlugin, DEFAULT_AUTH_FAILURES_PER_MINUTE } from './auth-failure-limit.js';
import { bodyLimitPlugin, MAX_REQUEST_BODY_BYTES } from './body-limit.js';
import { hostCheckPlugin } from './host-check.js';
import { parseErrorsPlugin } from './parse-errors.js';
import { productionPlugin } from './production.js';

export interface SecurityOptions {
  production: boolean;
  /** Acknowledged TLS proxy in front: rate limiting keys on the client address it forwards. */
  behindTlsProxy?: boolean;
  authFailures?: Partial<AuthFailureLimitOptions>;
  maxRequestBodyBytes?: number;
  queryLimits?: Partial<QueryLimits>;
  /** Host names the server answers to (DNS-rebinding guard); unset: any. */
  allowedHostnames?: readonly string[];
}

/** The abuse limits, in the order a request meets them: who is refused, how big, what shape, what is revealed. */
export function securityPlugins(options: SecurityOptions): Plugin[] {
  return [
    ...(options.allowedHostnames ? [hostCheckPlugin(options.allowedHostnames)] : []),
    authFailureLimitPlugin({
      failuresPerMinute: DEFAULT_AUTH_FAILURES_PER_MINUTE,
      trustProxy: options.behindTlsProxy ?? false,
      ...options.authFailures,
    }),
    bodyLimitPlugin(options.maxRequestBodyBytes ?? MAX_REQUEST_BODY_BYTES),
    parseErrorsPlugin(),
    armorPlugin({ production: options.production, limits: options.queryLimits }),
    ...(options.production ? [productionPlugin()] : []),
  ];
}
