import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { Plugin } from 'graphql-yoga';
import { AuditLog } from './audit/audit-log.js';
import type { AuditFileSystem } from './audit/file-system.js';
import { ConfigHistory } from './audit/history.js';
import { scopedAuthenticator } from './auth/tokens.js';
import type { FileSystem } from './config/file-system.js';
import type { ConfigStore } from './config/store.js';
import type { FileWatch } from './config/watch.js';
import { openYamlConfigStore } from './config/yaml-store.js';
import { createInProcessEventBus } from './events/bus.js';
import type { ControlPlaneServices, StatusEvent } from './graphql/context.js';
import { listenHttp } from './http/listen.js';
import type { HttpPlane, HttpSecurity, Readiness } from './http/plane.js';
import { createLogger, type Logger } from './log.js';
import { defaultRegistry, type StrategyRegistry } from './registry/index.js';
import type { CandleFeed } from './runner/feed.js';
import { RunnerMonitor } from './runner/monitor.js';
import { Runner } from './runner/runner.js';
import { createSimulatedFeed } from './runner/sim-feed.js';
import type { RunnerStateChannel } from './runner/state.js';
import { fileRunnerStatePublisher, watchRunnerStateFile } from './runner/state-file.js';

export interface ControlPlaneOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  runtimeDir: string;
  adminToken: string;
  production?: boolean;
  readsRequireToken?: boolean;
  /** Abuse limits (failed-auth rate limit, body size, Host names, query shape); defaults in src/http/ and src/graphql/plugins/. */
  security?: HttpSecurity;
  /** More yoga plugins (tests count what reaches yoga's own HTTP handling). */
  yogaPlugins?: Plugin[];
  registry?: StrategyRegistry;
  logger?: Logger;
  /** The store's file-system seam (fault injection in tests). */
  fs?: FileSystem;
  /** The audit log's file-system seam (fault injection in tests). */
  auditFs?: AuditFileSystem;
  /** How often the API re-checks config.yaml for hand edits, besides fs.watch. */
  configPollMs?: number;
  /**
   * Run the runner in this process (`npm start`). False: API only; the status then reports a
   * separate runner (`stratctl runner`) from its state file in the runtime dir.
   */
  runner?: false | EmbeddedRunnerOptions;
}

export interface EmbeddedRunnerOptions {
  /** Default: the simulated feed. */
  feed?: CandleFeed;
  heartbeatMs?: number;
}

export interface ControlPlane {
  /** `http://host:port/graphql` */
  readonly url: string;
  readonly origin: string;
  readonly server: Server;
  readonly store: ConfigStore;
  readonly audit: AuditLog;
  /** The store's watch on config.yaml (tests pause it to simulate a missed event). */
  readonly configWatch: FileWatch | undefined;
  /** The embedded runner, when there is one. */
  readonly runner: Runner | null;
  readonly services: ControlPlaneServices;
  /** Stops accepting, lets in-flight requests (and writes) finish, then closes. Idempotent. */
  close(): Promise<void>;
}

/** Why the control plane should not take traffic now (empty: ready). */
function notReadyReasons(services: ControlPlaneServices): string[] {
  const reasons: string[] = [];
  const fileError = services.store.fileError();
  if (fileError) reasons.push(`config file invalid: ${fileError.publicMessage}`);
  const runner = services.runner.view();
  if (runner.health === 'STALE') reasons.push(`runner is STALE: no heartbeat since ${runner.state?.heartbeatAt}`);
  if (runner.health === 'ERROR') reasons.push(`runner reports an error: ${runner.state?.error}`);
  return reasons;
}

function readiness(services: ControlPlaneServices): Readiness {
  const reasons = notReadyReasons(services);
  return { ready: reasons.length === 0, configVersion: services.store.current().config.version, reasons };
}

const packageVersion = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const logger = options.logger ?? createLogger();
  const registry = options.registry ?? defaultRegistry;
  const audit = await AuditLog.open({ runtimeDir: options.runtimeDir, fs: options.auditFs, warn: (m) => logger.warn(m) });
  const store = await openYamlConfigStore({
    registry,
    runtimeDir: options.runtimeDir,
    fs: options.fs,
    watch: true,
    pollMs: options.configPollMs ?? 1000,
    // Write order: config file (durable), then its audit line (durable), then the answer.
    commitHooks: [audit.record],
    warn: (m) => logger.warn(m),
  });
  const recovered = await audit.reconcile(store.current()).catch(async (err: unknown) => {
    await store.close();
    const errno = (err as { errno?: string }).errno;
    // Serving changes that cannot be audited would break the audit's promise: refuse to start.
    throw Object.assign(new Error(`cannot write the audit log ${audit.file} (${errno ?? String(err)})`, { cause: err }), { code: errno });
  });
  if (recovered?.operation === 'recovery' || recovered?.operation === 'handEdit') {
    logger.warn(`config version ${recovered.version} had no audit line; recorded now as "${recovered.operation}"`);
  }
  store.subscribe((event) => {
    if (event.type === 'invalid')
      logger.warn(
        `config file is invalid; keeping the last good config (version ${store.current().config.version}).\n${event.error.message}`,
      );
    if (event.type === 'reloaded') {
      logger.info(`config file changed on disk; now in force: ${event.current.digest}`);
      audit.recordHandEdit(event.current).catch((err) => logger.error('could not record a hand edit in the audit log', err));
    }
    if (event.type === 'recovered') logger.info('config file is valid again');
  });
  let runner: Runner | null = null;
  let channel: RunnerStateChannel;
  if (options.runner) {
    runner = new Runner({
      registry,
      store,
      feed: options.runner.feed ?? createSimulatedFeed(),
      publisher: fileRunnerStatePublisher(options.runtimeDir),
      heartbeatMs: options.runner.heartbeatMs,
      logger,
    });
    channel = runner;
  } else {
    channel = await watchRunnerStateFile(options.runtimeDir);
  }
  const monitor = new RunnerMonitor(channel);
  const events = createInProcessEventBus<StatusEvent>();
  store.subscribe(() => events.publish({ source: 'config' }));
  monitor.subscribe(() => events.publish({ source: 'runner' }));
  runner?.start();
  const services: ControlPlaneServices = { registry, store, runner: monitor, events, audit, history: new ConfigHistory(audit) };
  const plane: HttpPlane = {
    services,
    authenticator: scopedAuthenticator({ adminToken: options.adminToken, runtimeDir: options.runtimeDir, warn: (m) => logger.warn(m) }),
    settings: {
      production: options.production ?? false,
      readsRequireToken: options.readsRequireToken ?? false,
      security: options.security,
    },
    logger,
    startedAt: Date.now(),
    readiness: () => readiness(services),
    versionInfo: () => ({ version: packageVersion, node: process.version, store: 'file' }),
  };
  const http = await listenHttp(plane, { host: options.host, port: options.port, yogaPlugins: options.yogaPlugins }).catch(async (err) => {
    await runner?.stop();
    monitor.close();
    channel.close();
    await store.close();
    throw err;
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await http.close(); // ends open subscriptions, lets in-flight requests (and writes) finish
      events.close();
      await runner?.stop();
      monitor.close();
      channel.close();
      await store.close(); // waits for a write in progress: no half-written file
      await audit.idle();
    })();
    return closing;
  };

  return { url: http.url, origin: http.origin, server: http.server, store, audit, configWatch: store.watch, runner, services, close };
}
