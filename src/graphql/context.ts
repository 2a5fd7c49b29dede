import type { AuditLog } from '../audit/audit-log.js';
import type { ConfigHistory } from '../audit/history.js';
import type { Credentials, Identity } from '../auth/identity.js';
import type { ConfigStore } from '../config/store.js';
import type { EventBus } from '../events/bus.js';
import type { StrategyRegistry } from '../registry/index.js';
import type { RunnerMonitor } from '../runner/monitor.js';
import type { SignalHistory } from '../runner/signal-history.js';

/** Something a `statusChanged` subscriber should hear about. */
export interface StatusEvent {
  readonly source: 'config' | 'runner';
}

/** What resolvers reach through the context: the domain, never the file system. */
export interface ControlPlaneServices {
  readonly registry: StrategyRegistry;
  readonly store: ConfigStore;
  /** The runner as last published (embedded or a separate process). */
  readonly runner: RunnerMonitor;
  readonly events: EventBus<StatusEvent>;
  readonly audit: AuditLog;
  readonly history: ConfigHistory;
  /** The runners' recent signals, kept in memory by this process (charts). */
  readonly signals: SignalHistory;
}

export interface GraphQLContext {
  readonly services: ControlPlaneServices;
  readonly credentials: Credentials;
  readonly identity: Identity | null;
  /** False when reads need a token too (`--reads-require-token`). */
  readonly readsArePublic: boolean;
}
