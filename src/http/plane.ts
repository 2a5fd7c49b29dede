import type { Authenticator } from '../auth/tokens.js';
import type { ControlPlaneServices } from '../graphql/context.js';
import type { QueryLimits } from '../graphql/plugins/armor.js';
import type { Logger } from '../log.js';
import type { AuthFailureLimitOptions } from './steps/auth-failure-limit.js';

/** `/ready`: whether this process should take traffic, and why not. Extra fields are shown as they are. */
export interface Readiness {
  readonly ready: boolean;
  readonly reasons: readonly string[];
  readonly [detail: string]: unknown;
}

/** `/version`. */
export interface VersionInfo {
  readonly version: string;
  readonly node: string;
  /** The config store's kind (`file`, `etcd`). */
  readonly store: string;
}

/** HTTP-level limits (the document limits are GraphQL's: `queryLimits`). */
export interface HttpSecurity {
  /** A TLS proxy in front: per-client limits key on the last `X-Forwarded-For` hop, the one it appended. */
  behindTlsProxy?: boolean;
  authFailures?: Partial<AuthFailureLimitOptions>;
  maxRequestBodyBytes?: number;
  /** Host names answered (DNS-rebinding guard). Default: the loopback names when bound to loopback, else any. */
  allowedHostnames?: readonly string[];
  queryLimits?: Partial<QueryLimits>;
}

export interface HttpPlaneSettings {
  /** Introspection, field suggestions and GraphiQL off. */
  readonly production: boolean;
  readonly readsRequireToken: boolean;
  readonly security?: HttpSecurity;
}

/**
 * What the HTTP adapter needs from the control plane (createControlPlane provides it; until then
 * server.ts does). The adapter builds yoga from it and answers the probes from it; it wires nothing.
 */
export interface HttpPlane {
  readonly services: ControlPlaneServices;
  readonly authenticator: Authenticator;
  readonly settings: HttpPlaneSettings;
  readonly logger: Logger;
  /** When the plane started (ms since the epoch): `/health` reports the uptime. */
  readonly startedAt: number;
  readiness(): Readiness;
  versionInfo(): VersionInfo;
}
