import type { TokenStore } from '../auth/token-store.js';
import { ConfigFileError } from '../config/errors.js';
import type { Change, CommitOptions, ConfigStore } from '../config/store.js';
import type { Say } from '../log.js';
import type { StrategyRegistry } from '../registry/index.js';
import type { RunnerStatePublisher, RunnerStateSource } from '../runner/state.js';
import { EtcdConfigStore } from './config-store.js';
import { EtcdDumpSide } from './dump.js';
import { EtcdGateway, STORE_STOP_MS } from './gateway.js';
import { etcdKeys } from './keys.js';
import { EtcdMirror } from './mirror.js';
import { EtcdReplicaPresence, type ReplicaRecord } from './replicas.js';
import { EtcdRunnerPublisher, EtcdRunnerSource, type RunnerIdHolder } from './runners.js';
import { readEtcdTlsFiles } from './tls-files.js';
import { EtcdTokenStore } from './tokens.js';
import { markFields, movedOutError, parseEtcdStoreUrl } from './url.js';

export { DEFAULT_AUDIT_KEEP } from './config-store.js';
export type { EtcdDumpSide } from './dump.js';
export { STORE_CALL_TIMEOUT_MS, STORE_STOP_MS } from './gateway.js';
export { DEAD_RUNNER_RETENTION_SECONDS, liveRunnerLeaseSeconds, runnerLeaseSeconds } from './runners.js';
export { EtcdUrlError, isEtcdStoreUrl, MOVED_OUT, markFields, parseEtcdStoreUrl } from './url.js';

export interface EtcdStoreOptions {
  /** The static strategies (with presets, the set the `strategies` key adds to them). */
  readonly registry: StrategyRegistry;
  /** `--etcd-ca`, `--etcd-cert`, `--etcd-key`: PEM files; any of them turns TLS on. */
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  /** `CONTROL_PLANE_ETCD_USER` / `CONTROL_PLANE_ETCD_PASSWORD`. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** `--audit-keep` (10,000). */
  readonly auditKeep?: number;
  /** 2 s unless a test says otherwise. */
  readonly callTimeoutMs?: number;
  /** How long a dead runner's key stays (STALE) before it expires: DEAD_RUNNER_RETENTION_SECONDS unless a test says otherwise. */
  readonly deadRunnerRetentionSeconds?: number;
  /** How often reachability is probed (1 s). */
  readonly probeIntervalMs?: number;
  readonly now?: () => Date;
  readonly warn?: Say;
  /** The end of a problem `warn` said (a runner publishing its state again), a renewal of the TLS files taken. */
  readonly info?: Say;
  /** How often the TLS files are looked at for a renewal (TLS_RELOAD_MS, 5 s; 0: never). */
  readonly tlsReloadMs?: number;
  /** A stored `config` or `strategies` value larger than this is refused as invalid, unparsed (`--max-runtime-file-bytes`, 1 MiB). */
  readonly maxTextBytes?: number;
  /** One parse of a large stored value in the parse worker, at most (`--parse-deadline-ms`, 2 s). */
  readonly parseDeadlineMs?: number;
  /** Tests: told each time a stored `config` or `strategies` text is parsed and judged (not found among the judgements kept). */
  readonly onParse?: (location: string) => void;
  /** Tests: the gateway every etcd call goes through, as it is made (to inject a lost answer). */
  readonly onGateway?: (gateway: EtcdGateway) => void;
  /** This process's runner id, when it runs one (`stratctl runner`, serve's embedded runner). */
  readonly selfRunnerId?: string;
}

/** One process's view of one etcd deployment; each part is closed by its user, the client when all are. */
export interface EtcdStores {
  readonly config: ConfigStore;
  readonly tokens: TokenStore;
  readonly runners: RunnerStateSource;
  /** `onTakenOver`: another process published under the id over this one's state (see EtcdRunnerPublisher). */
  runnerPublisher(id: string, onTakenOver?: (holder: RunnerIdHolder) => void): RunnerStatePublisher;
  /**
   * A `stratctl store migrate` into this prefix that did not finish (its mark is there): what to
   * say, or null. serve and runners refuse such a prefix.
   */
  unfinishedMigration(): Promise<ConfigFileError | null>;
  /**
   * Registers this process as an API replica of the prefix (`replicas/<id>`, under a lease) until
   * the returned function is called or the stores close: what `store migrate --force` checks.
   */
  registerReplica(id: string, record: ReplicaRecord): Promise<() => Promise<void>>;
  /**
   * What an API replica refuses to start on: `config.problem()`, or stored presets that are invalid
   * (not a put kept out while the kept set makes the config valid: that set runs, the put is reported).
   */
  startProblem(): ConfigFileError | null;
  /**
   * The process is stopping: every etcd call from now on (the replica's key deleted, the runner's
   * STOPPED state, leases revoked) ends within `withinMs` (STORE_STOP_MS, 2 s) of now, all of them
   * together, and none is sent while etcd is known unreachable (EtcdGateway.stopping).
   */
  stopping(withinMs?: number): void;
  /** Closes every part still open and the client. */
  close(): Promise<void>;
}

/**
 * Connects to the etcd store `url` (`etcd://host:port[,host:port...]/<prefix>`), reads its live keys
 * and starts watching them. Writes nothing: `config.start()` does. Throws EtcdUrlError for a bad URL
 * and StoreUnavailableError when etcd does not answer within the call timeout. An invalid stored
 * config or preset set does not throw: `config.problem()` / `config.strategiesProblem()` say so (the
 * control plane's API refuses to start on `startProblem()`).
 */
export async function openEtcdStores(url: string, options: EtcdStoreOptions): Promise<EtcdStores> {
  const parsed = parseEtcdStoreUrl(url);
  const tls = await readEtcdTlsFiles(options.tls);
  const gateway = new EtcdGateway({
    url: parsed,
    tls,
    auth: options.auth,
    callTimeoutMs: options.callTimeoutMs,
    warn: options.warn,
    info: options.info,
    // A long-running process takes renewed TLS files without a restart.
    tlsPaths: options.tls,
    tlsReloadMs: options.tlsReloadMs,
  });
  options.onGateway?.(gateway);
  const keys = etcdKeys(parsed.prefix);
  const mirror = new EtcdMirror(gateway, keys, { probeIntervalMs: options.probeIntervalMs, warn: options.warn, info: options.info });
  const config = new EtcdConfigStore(gateway, mirror, keys, {
    registry: options.registry,
    auditKeep: options.auditKeep,
    now: options.now,
    warn: options.warn,
    maxTextBytes: options.maxTextBytes,
    parseDeadlineMs: options.parseDeadlineMs,
    onParse: options.onParse,
    selfRunnerId: options.selfRunnerId,
  });
  try {
    await mirror.open();
  } catch (err) {
    await mirror.close();
    gateway.close();
    throw err;
  }
  // The first read's values judged (a large one in the parse worker) before what is in force is settled.
  await config.settled();
  config.settle();
  try {
    await config.settleEmpty();
  } catch (err) {
    await mirror.close();
    gateway.close();
    throw err;
  }

  const open = new Set<string>(['config', 'tokens', 'runners']);
  const publishers = new Set<EtcdRunnerPublisher>();
  const replicas = new Set<EtcdReplicaPresence>();
  let shut: Promise<void> | null = null;
  const shutdown = () => {
    shut ??= mirror.close().then(() => gateway.close());
    return shut;
  };
  const release = async (part: string) => {
    open.delete(part);
    if (open.size === 0 && publishers.size === 0) await shutdown();
  };
  const tokens = new EtcdTokenStore(gateway, mirror, keys, options.warn, options.now);
  const runners = new EtcdRunnerSource(mirror, keys, () => (options.now?.() ?? new Date()).getTime(), options.warn);

  return {
    config: {
      info: () => config.info(),
      state: () => config.state(),
      problem: () => config.problem(),
      strategiesProblem: () => config.strategiesProblem(),
      commit: ((change: Change, commitOptions?: CommitOptions) => config.commit(change, commitOptions)) as ConfigStore['commit'],
      audit: (query) => config.audit(query),
      refresh: () => config.refresh(),
      subscribe: (listener) => config.subscribe(listener),
      start: () => config.start(),
      close: async () => {
        await config.close();
        await release('config');
      },
    },
    tokens: {
      list: () => tokens.list(),
      create: (name, scope, expiry) => tokens.create(name, scope, expiry),
      revoke: (name) => tokens.revoke(name),
      rotate: (name, expiry) => tokens.rotate(name, expiry),
      restore: (name, sha256, previous) => tokens.restore(name, sha256, previous),
      find: (sha256) => tokens.find(sha256),
      close: async () => {
        await tokens.close();
        await release('tokens');
      },
    },
    runners: {
      list: () => runners.list(),
      subscribe: (listener) => runners.subscribe(listener),
      receivedAt: (id) => runners.receivedAt(id),
      refresh: () => runners.refresh(),
      close: () => {
        runners.close();
        void release('runners');
      },
    },
    async unfinishedMigration() {
      const { migrating, moved } = await new EtcdDumpSide(gateway, keys).marks();
      if (moved !== null) return movedOutError(gateway.location, keys.moved, moved);
      if (migrating === null) return null;
      const { from, startedAt } = markFields(migrating, ['from', 'startedAt']);
      return new ConfigFileError(`${gateway.location}`, [
        {
          message: `a \`stratctl store migrate\` into it from ${from ?? 'another store'}, started at ${startedAt ?? 'an unknown time'}, did not finish (key ${keys.migrating})`,
        },
      ]);
    },
    runnerPublisher(id, onTakenOver) {
      const publisher = new EtcdRunnerPublisher(
        gateway,
        keys,
        id,
        options.warn,
        options.deadRunnerRetentionSeconds,
        onTakenOver,
        options.info,
      );
      publishers.add(publisher);
      return {
        publish: (state) => publisher.publish(state),
        claim: (self, signal) => publisher.claim(self, signal),
        close: async () => {
          if (!publishers.delete(publisher)) return;
          await publisher.close();
          if (open.size === 0 && publishers.size === 0) await shutdown();
        },
      };
    },
    startProblem: () => config.startProblem(),
    stopping: (withinMs = STORE_STOP_MS) => gateway.stopping(withinMs),
    async registerReplica(id, record) {
      const presence = new EtcdReplicaPresence(gateway, keys, id, record, options.warn);
      replicas.add(presence);
      await presence.start();
      return async () => {
        if (replicas.delete(presence)) await presence.close();
      };
    },
    async close() {
      // A clean stop: this replica's key goes at once (not when its lease would run out).
      await Promise.all([...replicas].map((r) => r.close()));
      replicas.clear();
      // Publishers still open stop their keepalives: their keys expire like a dead runner's.
      await Promise.all([...publishers].map((p) => p.close()));
      publishers.clear();
      await config.close();
      await tokens.close();
      runners.close();
      open.clear();
      await shutdown();
    },
  };
}

/**
 * An etcd prefix as one side of `stratctl store migrate`: no watch, no state kept; only the reads
 * and writes of a move. Connects lazily: the first call says whether etcd answers.
 */
export async function openEtcdDumpSide(
  url: string,
  options: Pick<EtcdStoreOptions, 'tls' | 'auth' | 'callTimeoutMs'>,
): Promise<{ side: EtcdDumpSide; close(): void }> {
  const parsed = parseEtcdStoreUrl(url);
  const tls = await readEtcdTlsFiles(options.tls);
  const gateway = new EtcdGateway({ url: parsed, tls, auth: options.auth, callTimeoutMs: options.callTimeoutMs });
  return { side: new EtcdDumpSide(gateway, etcdKeys(parsed.prefix)), close: () => gateway.close() };
}
