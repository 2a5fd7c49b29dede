import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { throwIfStartAborted, unlessAborted } from './abort.js';
import { adminProofKey, adminTokenProof, newAdminProofSalt } from './auth/admin-proof.js';
import { fileTokenStore } from './auth/file-token-store.js';
import type { TokenStore } from './auth/token-store.js';
import { type AdminToken, type Authenticator, loadAdminToken, scopedAuthenticator } from './auth/tokens.js';
import type { AuditEntry } from './config/audit-entry.js';
import { ACCESS_REFUSED_HINT, ConfigFileError } from './config/errors.js';
import { type FileConfigStore, openFileConfigStore } from './config/file-store.js';
import type { ConfigStore } from './config/store.js';
import { type ControlPlaneEvents, createEvents } from './events/events.js';
import { type FaultLog, faultLog } from './fault-log.js';
import type { FileSystem } from './fs/file-system.js';
import type { RuntimeFileLimits } from './fs/runtime-file.js';
import type { SettleTimes } from './fs/settle.js';
import { LOCK_STALE_MS, type LockHolder, lockHolderLook } from './lock.js';
import { type Logger, type Say, sayOn } from './log.js';
import { defaultRegistry, type StrategyRegistry, shownValue } from './registry/index.js';
import type { CandleFeed } from './runner/feed.js';
import { RunnerFleet } from './runner/fleet.js';
import { logRunnerHealth } from './runner/health-log.js';
import { DEFAULT_HEARTBEAT_MS, Runner } from './runner/runner.js';
import { recordPublishedScans, SignalHistory } from './runner/signal-history.js';
import { type RunnerStatePublisher, type RunnerStateSource, runnerHealth } from './runner/state.js';
import { fileRunnerStatePublisher, fileRunnerStateSource } from './runner/state-file.js';
import { lockRuntimeDir, refuseMarkedRuntimeDir, SERVE_LOCK_FILE } from './runtime-dir.js';
import type { RunnerIdHolder } from './store-etcd/runners.js';
import type { StoreSettings } from './store-settings.js';
import { BUILD_COMMIT, PACKAGE_VERSION } from './version.js';
import { type WriteFailureLog, writeFailureLog } from './write-failure-log.js';

export interface RunnerSettings {
  feed: CandleFeed;
  heartbeatMs?: number;
  /** Unique in a fleet; default `<host>:<pid>`. */
  id?: string;
  /** Scan only these instruments of the active strategy; default all. */
  instruments?: readonly string[];
}

export interface ControlPlaneSettings {
  runtimeDir: string;
  /** Serve the API: holds `<runtime-dir>/.lock`. False for a runner-only process (`stratctl runner`). */
  api?: boolean;
  /** Run a runner in this process: holds `<runtime-dir>/.runner.lock`. */
  runner: false | RunnerSettings;
  /** CONTROL_PLANE_TOKEN; unset: `<runtime-dir>/admin.token`, generated on first start. */
  adminToken?: string;
  production?: boolean;
  readsRequireToken?: boolean;
  logger: Logger;
  /** The file store in the runtime dir (default), or etcd (config, audit, tokens, runner states there). */
  store?: StoreSettings;
  /** The static strategies (tests give their own). */
  strategies?: StrategyRegistry;
  /** Limits on the runtime files read (default: 1 MiB, a 2 s parse deadline). */
  fileLimits?: Partial<RuntimeFileLimits>;
  /** Test seams: the store's file system, how often files are re-checked besides fs.watch. */
  fs?: FileSystem;
  configPollMs?: number;
  /**
   * Test seam: how long a hand edit of config.yaml, strategies.yaml or tokens.yaml must have stopped
   * changing before it is taken (src/fs/settle.ts; default 200 ms, taken as it stands after 1.5 s).
   * Tests that write a file in pieces widen it, so a stalled test process does not end the edit early.
   */
  fileSettle?: SettleTimes;
  runnerPollMs?: number;
  /**
   * A runner-only process waits out an invalid config instead of failing: called with the problem
   * (it reports it and waits a moment), then the config is read again, until it is valid or this
   * answers 'stop' (then the ConfigFileError is thrown). Unset: an invalid config throws at once.
   */
  onInvalidConfig?: (error: ConfigFileError) => Promise<'retry' | 'stop'>;
  /**
   * A runtime-dir lock this process holds is another process's now (it took the lock over after this
   * one stalled, or the file was replaced): this process no longer owns the directory and must stop.
   */
  onLockLost?: (file: string, holder: LockHolder | null) => void;
  /**
   * etcd: this process's runner id was taken over by another process (a runner started under the
   * id while this one was not heard from: frozen, or cut off from etcd): this runner must stop.
   */
  onRunnerIdTakenOver?: (id: string, holder: RunnerIdHolder) => void;
  /**
   * A stop signal during start-up: a wait (for a runtime-dir lock, for etcd) ends at once and
   * createControlPlane throws StartAbortedError, having written nothing and released its locks.
   */
  abort?: AbortSignal;
  /** The server's clock (ms since the epoch) for the failed-write log's minute and named tokens' expiry (tests move it). */
  now?: () => number;
}

/** What resolvers and adapters reach: the domain, never the file system. */
export interface ControlPlaneServices {
  readonly store: ConfigStore;
  readonly runners: RunnerFleet;
  readonly events: ControlPlaneEvents;
  readonly tokens: TokenStore;
  readonly authenticator: Authenticator;
  /** The runners' recent signals, kept in memory by this process (the operator page's charts). */
  readonly signals: SignalHistory;
  /** Failed config writes, logged once per spell (the first with its stack, then a count a minute). */
  readonly writeFailureLog: WriteFailureLog;
  /** Requests answered 500 by a fault of the server's own, logged once per kind (with its stack), then a count a minute. */
  readonly faultLog: FaultLog;
}

export interface VersionInfo {
  readonly version: string;
  readonly node: string;
  readonly store: 'file' | 'etcd';
  /** The git commit dist/ was built from (two builds of one version told apart); null when not built from a git checkout. */
  readonly commit: string | null;
}

export interface ControlPlane {
  readonly settings: Readonly<ControlPlaneSettings> & { readonly production: boolean; readsRequireToken: boolean };
  readonly services: ControlPlaneServices;
  readonly logger: Logger;
  /** When the plane was created (ms since the epoch): `/health` reports the uptime. */
  readonly startedAt: number;
  /** `/version`. */
  versionInfo(): VersionInfo;
  /** The runner in this process, if any. */
  readonly runner: Runner | null;
  /** Where the admin token came from (never the token). */
  readonly adminTokenSource: AdminToken['source'] | null;
  /**
   * `/health`'s proof that this process holds the admin token (auth/admin-proof.ts), for a client's
   * `challenge` on the address and port its socket is on; null when this process has none (a runner
   * alone), or when its admin token is CONTROL_PLANE_TOKEN (stratctl asks for a proof only before it
   * sends the runtime dir's admin.token; one answered there was only a guessing oracle).
   */
  adminTokenProof(challenge: string, address: string, port: number): string | null | Promise<string | null>;
  /** Why this process should not take traffic now (empty: ready). Only this process's own parts count. */
  readiness(): Promise<{ ready: boolean; configVersion: number; reasons: string[]; warnings?: string[] }>;
  /** Writes what is missing (default config, generated admin token, recovery audit entry), starts watching and the runner. */
  start(): Promise<void>;
  /** Stops the runner, ends subscriptions, closes the store and releases the locks. Idempotent. */
  stop(): Promise<void>;
}

/**
 * acceptedChangeLine's facts as log fields: what, which version, who, and the names of the fields
 * changed (never their values); and `reqId`, the request of this process that made it (the field
 * every other line of that request has), so that grepping a deploy's X-Request-Id finds its change.
 */
function acceptedChangeFields(entry: AuditEntry, source: 'commit' | 'replica', requestId: string | undefined): Record<string, unknown> {
  return {
    ...(requestId !== undefined && { reqId: requestId }),
    subject: entry.subject === 'PRESETS' ? 'presets' : 'config',
    version: entry.version,
    operation: entry.operation,
    actor: entry.actor,
    source,
    changed: Object.keys(entry.changes ?? {}).slice(0, 20),
  };
}

/** `config version 5: activateStrategy by ci-deploy (activeStrategyKey: "momentum" -> "gold")`, for the process log. */
function acceptedChangeLine(entry: AuditEntry, source: 'commit' | 'replica', api: boolean): string {
  const fields = Object.entries(entry.changes ?? {});
  const shown = fields
    .slice(0, 3)
    .map(([field, change]) => {
      const { before, after } = (change ?? {}) as { before?: unknown; after?: unknown };
      return `${field}: ${shownValue(before)} -> ${shownValue(after)}`;
    })
    .join('; ');
  const more = fields.length > 3 ? `; and ${fields.length - 3} more` : '';
  const where = source === 'replica' ? (api ? ', through another replica' : ', through the API') : '';
  return `${entry.subject === 'PRESETS' ? 'presets' : 'config'} version ${entry.version}: ${entry.operation} by ${entry.actor}${where}${fields.length > 0 ? ` (${shown}${more})` : ''}`;
}

/**
 * Builds and owns everything a control-plane process runs: the store, tokens, events, the runner
 * and the view of the fleet. In this order, and writing nothing but the lock files: the runtime
 * directory's lock(s), the config read and validated. `start()` (after the HTTP port is bound)
 * writes what is missing and starts the runner. Throws ConfigFileError (invalid config),
 * LockHeldError (another process owns the directory), RuntimeDirNotWritableError.
 */
export async function createControlPlane(settings: ControlPlaneSettings): Promise<ControlPlane> {
  const api = settings.api ?? true;
  // etcd serves many processes at once (runner keys are leases): the runtime-dir locks are the file store's.
  const fileStore = settings.store?.kind !== 'etcd';
  const locks = await lockRuntimeDir(
    settings.runtimeDir,
    { serve: api && fileStore, runner: settings.runner !== false && fileStore },
    {
      onWait: (file, holder, touchedAgoMs) =>
        settings.logger.warn(
          { file, holderPid: holder.pid, holderHost: holder.host, touchedAgoMs: Math.round(touchedAgoMs) },
          `${file} is held by process ${holder.pid} on ${holder.host}, another host's or another container's, which cannot be checked by its pid: waiting for it to touch the lock, watched for ${LOCK_STALE_MS / 1000} s on this host's clock (its mtime says ${(touchedAgoMs / 1000).toFixed(1)} s ago, but the holder stamps it with its own clock); if it does not change meanwhile, it is taken over`,
        ),
      onLost: (file, holder) => settings.onLockLost?.(file, holder),
      signal: settings.abort,
    },
  );
  try {
    // A directory a deployment was moved out of (stratctl store migrate): its copy is not the live one.
    if (fileStore) await refuseMarkedRuntimeDir(settings.runtimeDir);
    return await assemble(settings, api, () => locks.release());
  } catch (err) {
    await locks.release();
    throw err;
  }
}

/** The config store, read and validated (waiting out an invalid config when the settings say so). */
async function openStore(settings: ControlPlaneSettings): Promise<FileConfigStore> {
  for (;;) {
    try {
      return await openFileConfigStore({
        strategies: settings.strategies ?? defaultRegistry,
        runtimeDir: settings.runtimeDir,
        fs: settings.fs,
        pollMs: settings.configPollMs,
        settle: settings.fileSettle,
        maxFileBytes: settings.fileLimits?.maxRuntimeFileBytes,
        parseDeadlineMs: settings.fileLimits?.parseDeadlineMs,
        warn: sayOn(settings.logger, 'warn'),
        // A runner-only process reads what the API process beside it records.
        auditHandEdits: settings.api ?? true,
        // ... and, while that API runs (it holds `.lock`), takes no hand edit it has not recorded.
        ...(settings.api === false && { apiProcess: lockHolderLook(path.join(settings.runtimeDir, SERVE_LOCK_FILE)) }),
        ...(settings.store?.kind === 'file' && settings.store.auditKeep !== undefined && { auditKeep: settings.store.auditKeep }),
      });
    } catch (err) {
      if (!(err instanceof ConfigFileError) || !settings.onInvalidConfig || (await settings.onInvalidConfig(err)) === 'stop') throw err;
    }
  }
}

async function assemble(settings: ControlPlaneSettings, api: boolean, releaseLocks: () => Promise<unknown>): Promise<ControlPlane> {
  const { logger, runtimeDir } = settings;
  const warn = sayOn(logger, 'warn');
  // The end of a problem a `warn` said: INFO, so that a log alert on WARN+ does not fire on the recovery.
  const info = sayOn(logger, 'info');
  const etcd = settings.store?.kind === 'etcd' ? await openEtcd(settings, settings.store, warn, info) : null;
  const store = etcd?.config ?? (await openStore(settings));
  const admin = api ? await loadAdminToken(runtimeDir, settings.adminToken, { warn, info }) : null;
  const tokens =
    etcd?.tokens ??
    fileTokenStore(runtimeDir, {
      warn,
      info,
      maxBytes: settings.fileLimits?.maxRuntimeFileBytes,
      parseDeadlineMs: settings.fileLimits?.parseDeadlineMs,
      settle: settings.fileSettle,
    });
  const events = createEvents();

  let runner: Runner | null = null;
  let publisher: RunnerStatePublisher | null = null;
  let source: RunnerStateSource;
  if (settings.runner) {
    const id = settings.runner.id ?? `${hostname()}:${process.pid}`;
    // Beside an API the state is read in process; the file is then a record, written at heartbeat pace.
    publisher = etcd
      ? etcd.runnerPublisher(id, (holder) => settings.onRunnerIdTakenOver?.(id, holder))
      : fileRunnerStatePublisher(runtimeDir, {
          minIntervalMs: api ? (settings.runner.heartbeatMs ?? DEFAULT_HEARTBEAT_MS) : 0,
          readInProcess: api,
          warn,
          info,
        });
    try {
      await publisher.claim?.({ host: hostname(), pid: process.pid }, settings.abort);
    } catch (err) {
      await etcd?.close();
      throw err;
    }
    runner = new Runner({
      store,
      feed: settings.runner.feed,
      publisher,
      heartbeatMs: settings.runner.heartbeatMs,
      id,
      instruments: settings.runner.instruments,
      logger,
    });
    // With etcd an API's fleet is every runner's key, this process's own included. A runner-only
    // process serves no fleet: it follows its own state, and does no work for other runners' keys.
    source = api ? (etcd?.runners ?? runner) : runner;
  } else {
    source = etcd?.runners ?? (await fileRunnerStateSource(runtimeDir, { pollMs: settings.runnerPollMs, warn, info }));
  }
  const runners = new RunnerFleet(source);
  const signals = new SignalHistory((scan) => events.publish('signals', scan));
  const stopRecordingScans = recordPublishedScans(source, signals);
  // A runner-only process on the file store cannot tell the API's writes from hand edits (it writes
  // no audit line, and takes a change as the file holds it, its line read or not): it says a change
  // came, not where from.
  const fromOutside = api || etcd !== null ? ' outside the API' : '';
  // The one record of a spell of failed writes (a full or read-only disk), until a change is written:
  // opened by the store's writeFailed event; /ready says its last failure as a warning (reads go on,
  // so not a reason to take the replica out); each failure is logged where it is answered
  // (request-log.ts), the first of a spell with its stack, the rest as a count at most once a minute,
  // so a client retrying cannot flood the log.
  const writeFailureLogger = writeFailureLog({ logger, now: settings.now });
  /** Why the store is unreachable, when this process can tell (its etcd client certificate ran out). */
  let storeLostBecause: { log: string; public: string | undefined } | undefined;
  const unsubscribeStore = store.subscribe((event) => {
    // Each failure is logged where it is answered (writeFailureLogger, above).
    if (event.type === 'writeFailed') writeFailureLogger.noted(event.step, event.errno);
    if ((event.type === 'changed' || event.type === 'presetsChanged') && event.source === 'commit') {
      // The end of the spell, in the log beside its errors (after the count of those not yet said).
      const spell = writeFailureLogger.ended();
      if (spell)
        logger.info(
          spell.failures > 0 ? { failedWrites: spell.failures, failingSince: spell.since } : {},
          'config changes are written again',
        );
    }
    // Fields beside the words, so that a JSON log can be filtered on version, subject or actor.
    if (event.type === 'invalid')
      logger.warn(
        { subject: 'config', keptVersion: store.state().config.config.version },
        `config is invalid; keeping the last good config (version ${store.state().config.config.version}).\n${event.error.message}`,
      );
    if (event.type === 'changed' && event.source === 'handEdit')
      logger.info(
        { subject: 'config', version: event.current.config.version, digest: event.current.digest, source: 'handEdit' },
        `config changed${fromOutside}; now in force: version ${event.current.config.version} (${event.current.digest})`,
      );
    // Who changed what, in the process log too (journald, docker logs), not only in the audit trail.
    // A runner alone says the API's changes too (who made the change it is about to apply).
    if (
      (event.type === 'changed' || event.type === 'presetsChanged') &&
      (api || event.source === 'replica') &&
      event.source !== 'handEdit' &&
      event.audit
    )
      logger.info(acceptedChangeFields(event.audit, event.source, event.requestId), acceptedChangeLine(event.audit, event.source, api));
    if (event.type === 'valid') logger.info({ subject: 'config', version: store.state().config.config.version }, 'config is valid again');
    // The outage's start and end in the log (status.store and /ready say it while it lasts).
    if (event.type === 'connection') {
      const location = store.info().location;
      // Refused (a password rotated, a role revoked): a setting to fix, not a network to look at.
      const expired = event.failure?.certificateExpired;
      storeLostBecause = event.connected || !expired ? undefined : { log: expired, public: event.failure?.certificateExpiredPublic };
      const lost = event.failure?.accessRefused
        ? `config store refused this process (${event.failure.detail ?? location}); ${ACCESS_REFUSED_HINT}`
        : `config store unreachable (${location})${storeLostBecause ? `: ${storeLostBecause.log}` : ''}`;
      // What failed, in a field of its own (the operation, the store, gRPC's words): the message says only "unreachable".
      const fields = { store: location, connected: event.connected, ...(event.failure?.detail && { reason: event.failure.detail }) };
      if (event.connected) logger.info(fields, `config store reachable again (${location})`);
      // What this process does meanwhile: an API refuses writes; a runner alone writes nothing, and runs on.
      else if (api) logger.warn(fields, `${lost}: writes are refused until it answers again`);
      else
        logger.warn(
          fields,
          `${lost}: the runner keeps scanning with config version ${store.state().config.config.version}; its heartbeats cannot be published until it answers again`,
        );
    }
    if (event.type === 'presetsInvalid')
      logger.warn(
        { subject: 'presets', keptVersion: store.state().presets.version },
        `presets are not in force; keeping version ${store.state().presets.version} of the set.\n${event.error.message}`,
      );
    if (event.type === 'presetsChanged') {
      if (event.source === 'handEdit')
        logger.info(
          { subject: 'presets', version: event.current.version, source: 'handEdit' },
          `presets changed${fromOutside}; now in force: version ${event.current.version}`,
        );
      events.publish('strategies');
    }
    if (event.type === 'presetsValid')
      logger.info({ subject: 'presets', version: store.state().presets.version }, 'presets are in force again');
    events.publish('status');
  });
  const unsubscribeRunners = runners.subscribe(() => events.publish('status'));
  // A runner going STALE or into ERROR, and back, in the log (not only in /ready, status and metrics):
  // from start(), once the runner runs. Attached here, a start that could not bind its port said
  // "runner ... is RUNNING" of a runner that never started, then exited 98.
  let stopLoggingRunnerHealth: (() => void) | undefined;
  const authenticator = scopedAuthenticator({ adminToken: admin?.follow ?? admin?.token ?? '', tokens, now: settings.now, warn });
  // The proof's key (scrypt, slow on purpose): derived once per admin token in force, on the first
  // proof asked for it (not at start), with a salt of its own; a replaced token gets a new one.
  let proofKey: { token: string; salt: string; key: Promise<Buffer> } | undefined;
  const proofKeyFor = (token: string) => {
    if (proofKey?.token !== token) {
      const salt = newAdminProofSalt();
      proofKey = { token, salt, key: adminProofKey(token, salt) };
    }
    return proofKey;
  };

  const production = settings.production ?? false;
  const readsRequireToken = settings.readsRequireToken ?? false;
  let started = false;
  let stopping: Promise<void> | undefined;
  let unregisterReplica: (() => Promise<void>) | undefined;
  return {
    settings: { ...settings, production, readsRequireToken },
    services: {
      store,
      runners,
      events,
      tokens,
      authenticator,
      signals,
      writeFailureLog: writeFailureLogger,
      faultLog: faultLog({ logger, now: settings.now }),
    },
    logger,
    runner,
    startedAt: Date.now(),
    versionInfo: () => ({ version: PACKAGE_VERSION, node: process.version, store: etcd ? 'etcd' : 'file', commit: BUILD_COMMIT }),
    adminTokenSource: admin?.source ?? null,
    // With the token in force now: stratctl reads admin.token per command, and a replaced one is proved at once.
    adminTokenProof: async (challenge, address, port) => {
      if (admin?.source.kind !== 'file' || !admin.follow) return null;
      await admin.follow.refresh();
      const { salt, key } = proofKeyFor(admin.follow.current());
      return adminTokenProof(await key, salt, challenge, address, port);
    },
    async readiness() {
      // First (it may read the file): everything below is then said as of the same moment.
      const tokensProblem = (await tokens.problem?.()) ?? null;
      const reasons: string[] = [];
      const problem = store.problem();
      if (problem) reasons.push(`config invalid: ${problem.publicMessage}`);
      const presetsProblem = store.strategiesProblem();
      if (presetsProblem) reasons.push(`presets not in force: ${presetsProblem.publicMessage}`);
      // No path here: /ready needs no token (the log names the file).
      if (!store.info().connected)
        reasons.push(`config store unreachable${storeLostBecause?.public ? `: ${storeLostBecause.public}` : ''}`);
      if (runner) {
        // This process's own runner (with etcd the fleet lists every runner; another one's state is not ours).
        const own = runner.latest();
        const health = runnerHealth(own, Date.now());
        if (health === 'STALE') reasons.push(`runner is STALE: no heartbeat since ${own.heartbeatAt}`);
        if (health === 'ERROR') reasons.push(`runner reports an error: ${own.error}`);
      }
      // Not a reason to take this replica out (reads, the admin token and the config are fine), but
      // the first place to look when CI's named token gets 401, then 429: said here too, not only in the log.
      const warnings: string[] = [];
      if (tokensProblem) warnings.push(tokensProblem);
      // Was only a counter: a disk that refuses every write left /ready green with nothing said. A
      // no-op commit (changed: false) writes no file, so it proves nothing about the disk: it leaves this.
      const writeFailure = writeFailureLogger.last();
      if (writeFailure)
        warnings.push(
          `config changes cannot be written: the last one failed at ${writeFailure.at} (step "${writeFailure.step}"${writeFailure.errno ? `, ${writeFailure.errno}` : ''}); each is refused with CONFIG_WRITE_FAILED and nothing changes, reads go on; until a change is written (one that changes nothing writes nothing, so it does not end this)`,
        );
      return {
        ready: reasons.length === 0,
        configVersion: store.state().config.config.version,
        reasons,
        ...(warnings.length > 0 && { warnings }),
      };
    },
    async start() {
      if (started) return;
      started = true;
      await store.start();
      await admin?.save();
      // An API on etcd says it serves the prefix (`store migrate --force` refuses a prefix still served).
      if (api && etcd) {
        unregisterReplica = await etcd.registerReplica(`${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`, {
          host: hostname(),
          pid: process.pid,
          startedAt: new Date().toISOString(),
        });
      }
      runner?.start();
      stopLoggingRunnerHealth = logRunnerHealth(runners, logger);
    },
    stop() {
      stopping ??= (async () => {
        events.close(); // ends open subscriptions, so their responses finish
        // etcd: what follows says goodbye to the store (the replica's key, the runner's STOPPED state,
        // leases) within STORE_STOP_MS together, after a drain of at most 10 s (README: Stopping).
        etcd?.stopping();
        await Promise.all([unregisterReplica?.(), runner?.stop()]);
        unsubscribeRunners();
        stopLoggingRunnerHealth?.();
        stopRecordingScans();
        unsubscribeStore();
        runners.close();
        source.close();
        await store.close(); // waits for a write in progress: no half-written file
        await tokens.close();
        await etcd?.close();
        await releaseLocks();
      })();
      return stopping;
    },
  };
}

/**
 * The etcd stores, loaded only when asked for: the file store never pays for the etcd client. An
 * API refuses to start on an invalid stored config or presets (like config.yaml and strategies.yaml:
 * a replica starting now has no last good set to keep); a runner-only process keeps the last
 * audited good config and reports the problem. A put of `strategies` kept out beside the kept set
 * (`strategies.kept`, which the config is valid with) is not refused: that set runs and the put is
 * reported, as the file store opens with strategies.yaml kept out.
 */
async function openEtcd(settings: ControlPlaneSettings, store: StoreSettings & { kind: 'etcd' }, warn: Say, info: Say) {
  const { openEtcdStores } = await import('./store-etcd/index.js');
  throwIfStartAborted(settings.abort);
  // An etcd that does not answer takes up to the call timeout (2 s) to fail: a stop signal meanwhile
  // ends the start at once, and what was opened is closed whenever its open settles.
  let gateway: { close(): void } | undefined;
  const opening = openEtcdStores(store.url, {
    registry: settings.strategies ?? defaultRegistry,
    tls: store.tls,
    auth: store.auth,
    auditKeep: store.auditKeep,
    tlsReloadMs: store.tlsReloadMs,
    // The limits of the file store's runtime files hold for the same values in etcd.
    maxTextBytes: settings.fileLimits?.maxRuntimeFileBytes,
    parseDeadlineMs: settings.fileLimits?.parseDeadlineMs,
    warn,
    info,
    ...(settings.runner && { selfRunnerId: settings.runner.id ?? `${hostname()}:${process.pid}` }),
    onGateway: (g) => {
      gateway = g;
    },
  });
  const stores = await unlessAborted(opening, settings.abort, () => {
    opening.then(
      (s) => s.close().catch(() => {}),
      () => {},
    );
    gateway?.close();
  });
  // A migration into the prefix cut short: refused by serve and by runners (which wait for it to be finished).
  const unfinished = await unlessAborted(stores.unfinishedMigration(), settings.abort, () => {}).catch(async (err: unknown) => {
    await stores.close();
    throw err;
  });
  if (unfinished) {
    await stores.close();
    throw unfinished;
  }
  const problem = stores.startProblem();
  if (problem && (settings.api ?? true)) {
    await stores.close();
    throw problem;
  }
  return stores;
}
