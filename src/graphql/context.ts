import type { AuditLog } from '../audit/audit-log.js';
import type { ConfigHistory } from '../audit/history.js';
import type { Credentials, Identity } from '../auth/identity.js';
import type { ConfigStore } from '../config/store.js';
import type { StrategyRegistry } from '../registry/index.js';

/** What resolvers reach through the context: the domain, never the file system. */
export interface ControlPlaneServices {
  readonly registry: StrategyRegistry;
  readonly store: ConfigStore;
  readonly audit: AuditLog;
  readonly history: ConfigHistory;
}

export interface GraphQLContext {
  readonly services: ControlPlaneServices;
  readonly credentials: Credentials;
  readonly identity: Identity | null;
  /** False when reads need a token too (`--reads-require-token`). */
  readonly readsArePublic: boolean;
}
