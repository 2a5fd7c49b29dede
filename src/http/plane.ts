import type { ControlPlane } from '../control-plane.js';
import type { QueryLimits } from '../graphql/plugins/armor.js';
import type { CostLimits } from '../graphql/plugins/cost.js';
import type { ConnectionLimits } from './connections.js';
import type { AuthFailureLimitOptions } from './steps/auth-failure-limit.js';

export type { VersionInfo } from '../control-plane.js';

/** `/ready`: whether this process should take traffic, and why not. Extra fields are shown as they are. */
export interface Readiness {
  readonly ready: boolean;
  readonly reasons: readonly string[];
  readonly [detail: string]: unknown;
}

/** HTTP-level limits (the document limits are GraphQL's: `queryLimits`). */
export interface HttpSecurity {
  /** A TLS proxy in front: per-client limits key on the last `X-Forwarded-For` hop, the one it appended. */
  behindTlsProxy?: boolean;
  authFailures?: Partial<Pick<AuthFailureLimitOptions, 'failuresPerMinute'>>;
  maxRequestBodyBytes?: number;
  /** Host names answered (DNS-rebinding guard). Default: the loopback names when bound to loopback, else any. */
  allowedHostnames?: readonly string[];
  queryLimits?: Partial<QueryLimits>;
  /** Per-request document cost and list sizes (without and with a token). */
  costLimits?: Partial<CostLimits>;
  /** A query result or subscription event over this many bytes is refused (default 1 MiB). */
  maxResponseBytes?: number;
  /** Open subscriptions per client (default 16). */
  maxSubscriptionsPerClient?: number;
  /** How often the tokens of open subscriptions are checked again (default 500 ms). */
  tokenRecheckMs?: number;
  /** Connection caps and timeouts (connections.ts). */
  connections?: Partial<ConnectionLimits>;
  /** What a slow reader may leave unread on a stream before it is ended (default 1 MiB). */
  maxStreamBufferBytes?: number;
}

/**
 * What the HTTP adapter needs from the control plane. The adapter builds yoga from it and answers
 * the probes from it; it wires nothing.
 */
export type HttpPlane = Pick<
  ControlPlane,
  'services' | 'settings' | 'logger' | 'startedAt' | 'readiness' | 'versionInfo' | 'adminTokenProof'
>;
