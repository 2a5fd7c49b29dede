import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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
import { LOOPBACK_HOSTNAMES } from './graphql/plugins/host-check.js';
import { type ControlPlaneYoga, createControlPlaneYoga, type YogaOptions } from './graphql/yoga.js';
import { createOperatorPage, type OperatorPageOptions, operatorPageHandler } from './http/page.js';
import { createLogger, type Logger } from './log.js';
import { defaultRegistry, type StrategyRegistry } from './registry/index.js';
import type { CandleFeed } from './runner/feed.js';
import { RunnerMonitor } from './runner/monitor.js';
import { Runner } from './runner/runner.js';
import { recordPublishedScans, SignalHistory } from './runner/signal-history.js';
import { createSimulatedFeed } from './runner/sim-feed.js';
import type { RunnerStateChannel } from './runner/state.js';
import { fileRunnerStatePublisher, watchRunnerStateFile } from './runner/state-file.js';
import { isLoopback } from './settings.js';

export interface ControlPlaneOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  runtimeDir: string;
  adminToken: string;
  production?: boolean;
  readsRequireToken?: boolean;
  /** Abuse limits (failed-auth rate limit, body size, query shape); defaults in src/graphql/plugins/. */
  security?: YogaOptions['security'];
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
  /** The operator page at `/` (default: the build in dist/page). */
  page?: Pick<OperatorPageOptions, 'dir'>;
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
  readonly yoga: ControlPlaneYoga;
  /** The store's watch on config.yaml (tests pause it to simulate a missed event). */
  readonly configWatch: FileWatch | undefined;
  /** The embedded runner, when there is one. */
  readonly runner: Runner | null;
  readonly services: ControlPlaneServices;
  /** Stops accepting, lets in-flight requests (and writes) finish, then closes. Idempotent. */
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
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

/**
 * The HTTP adapter: `/health` and `/ready` answered directly, everything else handed to yoga.
 * Request policy (auth, limits, masking) lives in yoga plugins, not here.
 */
export function createRequestHandler(
  yoga: ControlPlaneYoga,
  services: ControlPlaneServices,
  startedAt: number,
  page?: (req: IncomingMessage, res: ServerResponse) => boolean,
) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (page?.(req, res)) return;
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      sendJson(res, 200, { status: 'ok', uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) });
      return;
    }
    if (path === '/ready' && (req.method === 'GET' || req.method === 'HEAD')) {
      const reasons = notReadyReasons(services);
      const { version } = services.store.current().config;
      sendJson(res, reasons.length ? 503 : 200, { ready: reasons.length === 0, configVersion: version, reasons });
      return;
    }
    void yoga.requestListener(req, res);
  };
}

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
  const signals = new SignalHistory();
  const stopRecordingScans = recordPublishedScans(channel, signals);
  const events = createInProcessEventBus<StatusEvent>();
  store.subscribe(() => events.publish({ source: 'config' }));
  monitor.subscribe(() => events.publish({ source: 'runner' }));
  runner?.start();
  const services: ControlPlaneServices = { registry, store, runner: monitor, events, audit, history: new ConfigHistory(audit), signals };
  // Bound to loopback: answer only to loopback names (DNS-rebinding guard), the page included.
  const allowedHostnames = isLoopback(options.host) ? [...LOOPBACK_HOSTNAMES, options.host] : undefined;
  const yoga = createControlPlaneYoga({
    services,
    authenticator: scopedAuthenticator({ adminToken: options.adminToken, runtimeDir: options.runtimeDir, warn: (m) => logger.warn(m) }),
    logger,
    production: options.production ?? false,
    readsRequireToken: options.readsRequireToken ?? false,
    security: {
      ...(allowedHostnames && { allowedHostnames }),
      ...options.security,
    },
  });

  const inFlight = new Set<ServerResponse>();
  const page = createOperatorPage({ ...options.page, allowedHostnames: options.security?.allowedHostnames ?? allowedHostnames });
  const handle = createRequestHandler(yoga, services, Date.now(), operatorPageHandler(page));
  const server = createServer((req, res) => {
    inFlight.add(res);
    res.on('close', () => inFlight.delete(res));
    handle(req, res);
  });
  // Longer than a fronting proxy's idle timeout (nginx, ALB: 60 s), so neither side sends a request
  // onto a connection the other is closing; with Node's 5 s, 500 busy clients saw resets (load soak).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const origin = `http://${hostForUrl}:${address.port}`;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      server.close();
      events.close(); // ends open subscriptions, so their responses finish
      stopRecordingScans();
      signals.close();
      server.closeIdleConnections();
      const deadline = Date.now() + 10_000;
      while (inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await runner?.stop();
      monitor.close();
      channel.close();
      await store.close(); // waits for a write in progress: no half-written file
      await audit.idle();
      server.closeAllConnections();
      await yoga.dispose?.();
    })();
    return closing;
  };

  return { url: `${origin}/graphql`, origin, server, store, audit, configWatch: store.watch, yoga, runner, services, close };
}
