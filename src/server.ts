import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ControlPlane, type ControlPlaneSettings, createControlPlane, type RunnerSettings } from './control-plane.js';
import { LOOPBACK_HOSTNAMES } from './graphql/plugins/host-check.js';
import { type ControlPlaneYoga, createControlPlaneYoga, type YogaOptions } from './graphql/yoga.js';
import { createLogger, type Logger } from './log.js';
import { createSimulatedFeed } from './runner/sim-feed.js';
import { isLoopback } from './settings.js';

export interface ControlPlaneOptions extends Omit<ControlPlaneSettings, 'logger' | 'runner'> {
  host: string;
  /** 0 picks a free port. */
  port: number;
  logger?: Logger;
  /** The runner in this process (default feed: the simulation); false: API only. */
  runner?: false | Partial<RunnerSettings>;
  /** Abuse limits (failed-auth rate limit, body size, query shape); defaults in src/graphql/plugins/. */
  security?: YogaOptions['security'];
}

export interface RunningControlPlane extends ControlPlane {
  /** `http://host:port/graphql` */
  readonly url: string;
  readonly origin: string;
  readonly server: Server;
  readonly yoga: ControlPlaneYoga;
  /** Stops accepting, lets in-flight requests (and writes) finish, then stops the plane. Idempotent. */
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

/** The HTTP adapter: `/health` and `/ready` answered directly, everything else handed to yoga. */
export function createRequestHandler(yoga: ControlPlaneYoga, plane: ControlPlane, startedAt: number) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      sendJson(res, 200, { status: 'ok', uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) });
      return;
    }
    if (path === '/ready' && (req.method === 'GET' || req.method === 'HEAD')) {
      const { ready, reasons } = plane.readiness();
      const { version } = plane.services.store.state().config.config;
      sendJson(res, ready ? 200 : 503, { ready, configVersion: version, reasons });
      return;
    }
    void yoga.requestListener(req, res);
  };
}

/** Binds the HTTP server for a plane (EADDRINUSE rejects). */
async function listenHttp(plane: ControlPlane, options: ControlPlaneOptions) {
  const yoga = createControlPlaneYoga({
    services: plane.services,
    logger: plane.logger,
    production: plane.settings.production,
    readsRequireToken: plane.settings.readsRequireToken,
    security: {
      // Bound to loopback: answer only to loopback names (DNS-rebinding guard).
      ...(isLoopback(options.host) && { allowedHostnames: [...LOOPBACK_HOSTNAMES, options.host] }),
      ...options.security,
    },
  });
  const inFlight = new Set<ServerResponse>();
  const handle = createRequestHandler(yoga, plane, Date.now());
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
  const close = async () => {
    server.close();
    plane.services.events.close(); // ends open subscriptions, so their responses finish
    server.closeIdleConnections();
    const deadline = Date.now() + 10_000;
    while (inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    server.closeAllConnections();
    await yoga.dispose?.();
  };
  return { yoga, server, origin, url: `${origin}/graphql`, close };
}

/** createControlPlane, then the HTTP port, then start: nothing is written before the port is bound. */
export async function startControlPlane(options: ControlPlaneOptions): Promise<RunningControlPlane> {
  const { host: _host, port: _port, security: _security, ...rest } = options;
  const plane = await createControlPlane({
    ...rest,
    logger: options.logger ?? createLogger(),
    runner: options.runner ? { feed: createSimulatedFeed(), ...options.runner } : false,
  });
  let http: Awaited<ReturnType<typeof listenHttp>>;
  try {
    http = await listenHttp(plane, options);
  } catch (err) {
    await plane.stop();
    throw err;
  }
  try {
    await plane.start();
  } catch (err) {
    await http.close();
    await plane.stop();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return Object.assign(plane, {
    url: http.url,
    origin: http.origin,
    server: http.server,
    yoga: http.yoga,
    close: () => {
      closing ??= (async () => {
        await http.close();
        await plane.stop();
      })();
      return closing;
    },
  });
}
