import type { Plugin } from 'graphql-yoga';
import { throwIfStartAborted } from './abort.js';
import { type ControlPlane, type ControlPlaneSettings, createControlPlane, type RunnerSettings } from './control-plane.js';
import type { FastLaneOptions } from './http/fast-lane/route.js';
import { type HttpServer, listenHttp } from './http/listen.js';
import type { OperatorPageOptions } from './http/page.js';
import type { HttpSecurity } from './http/plane.js';
import { createLogger, type Logger } from './log.js';
import { createSimulatedFeed } from './runner/sim-feed.js';

export interface ControlPlaneOptions extends Omit<ControlPlaneSettings, 'logger' | 'runner'> {
  host: string;
  /** 0 picks a free port. */
  port: number;
  logger?: Logger;
  /** The runner in this process (default feed: the simulation); false: API only. */
  runner?: false | Partial<RunnerSettings>;
  /** HTTP and document limits beyond the defaults (src/http/, src/graphql/plugins/). */
  security?: HttpSecurity;
  /** More yoga plugins (tests count what reaches yoga's own HTTP handling). */
  yogaPlugins?: Plugin[];
  /** The operator page at `/` (default: the build in dist/page). */
  page?: OperatorPageOptions;
  /** The `/graphql` fast lane, its JIT and response cache (all on by default; tests run each way). */
  fastLane?: FastLaneOptions;
}

export type RunningControlPlane = ControlPlane &
  Pick<HttpServer, 'url' | 'origin' | 'server' | 'yoga' | 'refusals' | 'connections'> & { close(): Promise<void> };

/**
 * A whole control-plane process in DESIGN's start order: the plane (locks, config validated,
 * nothing written), then the HTTP port, then start (files written, runner started). `close()`
 * drains HTTP, then stops the plane.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<RunningControlPlane> {
  const { host, port, security, yogaPlugins, page, fastLane, ...settings } = options;
  const plane = await createControlPlane({
    ...settings,
    logger: options.logger ?? createLogger(),
    runner: options.runner ? { feed: createSimulatedFeed(), ...options.runner } : false,
  });
  let http: HttpServer | undefined;
  try {
    // A stop signal while the plane was being made: the port is not bound, nothing is written.
    throwIfStartAborted(settings.abort);
    http = await listenHttp(plane, { host, port, security, yogaPlugins, page, fastLane });
    await plane.start();
  } catch (err) {
    await http?.close();
    await plane.stop();
    throw err;
  }
  const server = http;
  let closing: Promise<void> | undefined;
  return Object.assign(plane, {
    url: server.url,
    origin: server.origin,
    server: server.server,
    yoga: server.yoga,
    refusals: server.refusals,
    connections: server.connections,
    close: () => {
      if (!closing) {
        // Waits for the runner end first (answered with what is applied so far), so their answers go
        // out while HTTP drains instead of being cut when the drain runs out.
        plane.services.runners.endWaits();
        closing = server.close().then(() => plane.stop());
      }
      return closing;
    },
  });
}
