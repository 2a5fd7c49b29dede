import { type LimitSettings, resolveLimitSettings } from '../limit-settings.js';
import { createLogger, type Logger, resolveLogSettings } from '../log.js';
import { openFeed, type RunnerSettings, resolveRunnerSettings } from '../runner/settings.js';
import { startControlPlane } from '../server.js';
import { bindWarning, resolveServerSettings, type ServerSettings } from '../settings.js';
import { resolveStoreSettings, type StoreSettings } from '../store-settings.js';
import { EXIT } from './exit-codes.js';
import type { CommandContext } from './io.js';
import type { Action } from './program.js';
import { startFailure } from './start-failures.js';

/** A started server: where it listens, and how it stops (drain, then release). */
interface Serving {
  url: string;
  /** Logged once it listens. */
  summary: string;
  stop(): Promise<void>;
}

/**
 * DESIGN's start order: settings (done), then startControlPlane: runtime-dir locks and the config
 * validated (createControlPlane: nothing written), the port bound (EADDRINUSE -> 98), and only then
 * files written and the runner started.
 */
async function startServing(
  settings: ServerSettings,
  limits: LimitSettings,
  store: StoreSettings,
  runnerSettings: RunnerSettings,
  logger: Logger,
  ctx: CommandContext,
): Promise<Serving> {
  const feed = settings.runner ? await openFeed(runnerSettings.feed) : undefined;
  const plane = await startControlPlane({
    host: settings.host,
    port: settings.port,
    runtimeDir: settings.runtimeDir,
    store,
    adminToken: ctx.io.env.CONTROL_PLANE_TOKEN,
    production: settings.production,
    readsRequireToken: settings.readsRequireToken,
    runner: feed ? { feed, heartbeatMs: runnerSettings.heartbeatMs } : false,
    security: {
      ...limits.security,
      behindTlsProxy: settings.behindTlsProxy,
      authFailures: { failuresPerMinute: settings.authFailuresPerMinute },
    },
    fileLimits: limits.files,
    logger,
  });
  const source = plane.adminTokenSource;
  if (source?.kind === 'file') {
    logger.info({ file: source.file }, `admin token ${source.created ? 'generated and saved to' : 'read from'} ${source.file}`);
  } else {
    logger.info('admin token taken from CONTROL_PLANE_TOKEN');
  }
  const { config } = plane.services.store.state().config;
  return {
    url: plane.url,
    summary: `active strategy ${config.activeStrategyKey}, config version ${config.version} (${plane.services.store.info().location})${settings.production ? ', production mode' : ''}`,
    stop: () => plane.close(),
  };
}

/**
 * Announces the address: a log line with `url` (in json format, the only line: every line is JSON);
 * in text format also `... listening on <url>` on stdout, one line, for scripts and people.
 */
export function announceListening(ctx: CommandContext, logger: Logger, format: 'text' | 'json', url: string): void {
  if (format === 'text') ctx.print(`strategy-control-plane listening on ${url}`);
  else logger.info({ url }, `listening on ${url}`);
}

/**
 * Hears SIGTERM/SIGINT from the moment a long-running command starts: with no listener, the default
 * action would kill the process at once (a signal during start-up, or between "listening" and the
 * handler). The first signal calls `stop`; a second one while stopping gives up (exit 1).
 */
export function stopOnSignal(ctx: CommandContext, logger: Logger, what: string) {
  let requested: (signal: NodeJS.Signals) => void = () => {};
  const firstSignal = new Promise<NodeJS.Signals>((resolve) => {
    requested = resolve;
  });
  let signals = 0;
  let giveUp: () => void = () => {};
  const unsubscribe = ctx.io.onStopSignal((signal) => {
    signals += 1;
    if (signals === 1) requested(signal);
    else {
      logger.warn(`${signal} again: exiting now`);
      giveUp();
    }
  });
  return {
    /** Forget the signals (start-up failed: the failure's exit code stands). */
    dispose: unsubscribe,
    /** After the first signal, runs `stop`: 0 once it is done, 1 if it failed or a second signal came. */
    afterSignal: async (stop: () => Promise<void>): Promise<number> => {
      const signal = await firstSignal;
      logger.info({ signal }, `${signal}: ${what}`);
      try {
        return await new Promise<number>((resolve) => {
          giveUp = () => resolve(EXIT.unexpected);
          stop().then(
            () => resolve(EXIT.ok),
            (err) => {
              logger.error({ err }, 'shutdown failed');
              resolve(EXIT.unexpected);
            },
          );
        });
      } finally {
        unsubscribe();
      }
    },
  };
}

/** `stratctl serve`: the API with the embedded runner (or not), until SIGTERM/SIGINT. */
export const serve: Action = async (flags, _args, ctx) => {
  const env = ctx.io.env;
  const settings = resolveServerSettings(flags, env);
  const limits = resolveLimitSettings(flags, env);
  const runnerSettings = resolveRunnerSettings(flags, env);
  const store = resolveStoreSettings(flags, env);
  const log = resolveLogSettings(flags, env, ctx.io.stderr.isTTY === true);
  const logger = createLogger({ ...log, destination: ctx.io.stderr });
  const warning = bindWarning(settings);
  if (warning) logger.warn(warning);

  const stopping = stopOnSignal(ctx, logger, 'finishing in-flight requests and writes, then stopping');
  let serving: Serving;
  try {
    serving = await startServing(settings, limits, store, runnerSettings, logger, ctx);
  } catch (err) {
    stopping.dispose();
    const failure = startFailure(err, settings);
    logger.fatal({ exitCode: failure.code, ...(failure.unexpected && { err }) }, failure.message);
    return failure.code;
  }
  announceListening(ctx, logger, log.format, serving.url);
  logger.info(serving.summary);
  return stopping.afterSignal(() => serving.stop());
};
