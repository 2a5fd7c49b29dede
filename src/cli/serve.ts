import { resolveAdminToken } from '../auth/tokens.js';
import { createLogger, type Logger, resolveLogSettings } from '../log.js';
import { openFeed, type RunnerSettings, resolveRunnerSettings } from '../runner/settings.js';
import { lockRuntimeDir } from '../runtime-dir.js';
import { startControlPlane } from '../server.js';
import { bindWarning, resolveServerSettings, type ServerSettings } from '../settings.js';
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
 * DESIGN's start order: settings (done), runtime-dir locks, config validated, port bound, and only
 * then files written and the runner started. Until createControlPlane lands, startControlPlane does
 * the last three in its own order; with it, the body becomes:
 *   const plane = await createControlPlane(settings);            // locks, config: nothing written
 *   const http = await listenHttp(plane, { host, port });         // EADDRINUSE -> 98
 *   await plane.start();                                          // writes, runner
 *   return { url: http.url, summary, stop: async () => { await http.close(); await plane.stop(); } };
 */
async function startServing(
  settings: ServerSettings,
  runnerSettings: RunnerSettings,
  logger: Logger,
  ctx: CommandContext,
): Promise<Serving> {
  const locks = await lockRuntimeDir(settings.runtimeDir, { serve: true, runner: settings.runner });
  try {
    const feed = settings.runner ? await openFeed(runnerSettings.feed) : undefined;
    const admin = await resolveAdminToken(settings.runtimeDir, ctx.io.env.CONTROL_PLANE_TOKEN);
    const plane = await startControlPlane({
      host: settings.host,
      port: settings.port,
      runtimeDir: settings.runtimeDir,
      adminToken: admin.token,
      production: settings.production,
      readsRequireToken: settings.readsRequireToken,
      runner: feed ? { feed, heartbeatMs: runnerSettings.heartbeatMs } : false,
      security: { behindTlsProxy: settings.behindTlsProxy, authFailures: { failuresPerMinute: settings.authFailuresPerMinute } },
      logger,
    });
    if (admin.source.kind === 'file') {
      logger.info(
        { file: admin.source.file },
        `admin token ${admin.source.created ? 'generated and saved to' : 'read from'} ${admin.source.file}`,
      );
    } else {
      logger.info('admin token taken from CONTROL_PLANE_TOKEN');
    }
    const { config } = plane.store.current();
    return {
      url: plane.url,
      summary: `active strategy ${config.activeStrategyKey}, config version ${config.version} (${plane.store.location})${settings.production ? ', production mode' : ''}`,
      stop: async () => {
        try {
          await plane.close();
        } finally {
          await locks.release();
        }
      },
    };
  } catch (err) {
    await locks.release();
    throw err;
  }
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
 * Resolves after the first SIGTERM/SIGINT has been handled by `stop` (0, or 1 if stopping failed);
 * a second signal while stopping gives up at once (1).
 */
export function untilStopped(ctx: CommandContext, logger: Logger, what: string, stop: () => Promise<void>): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const unsubscribe = ctx.io.onStopSignal((signal) => {
      if (stopping) {
        logger.warn(`${signal} again: exiting now`);
        unsubscribe();
        resolve(EXIT.unexpected);
        return;
      }
      stopping = true;
      logger.info({ signal }, `${signal}: ${what}`);
      stop().then(
        () => {
          unsubscribe();
          resolve(EXIT.ok);
        },
        (err) => {
          logger.error({ err }, 'shutdown failed');
          unsubscribe();
          resolve(EXIT.unexpected);
        },
      );
    });
  });
}

/** `stratctl serve`: the API with the embedded runner (or not), until SIGTERM/SIGINT. */
export const serve: Action = async (flags, _args, ctx) => {
  const env = ctx.io.env;
  const settings = resolveServerSettings(flags, env);
  const runnerSettings = resolveRunnerSettings(flags, env);
  const log = resolveLogSettings(flags, env, ctx.io.stderr.isTTY === true);
  const logger = createLogger({ ...log, destination: ctx.io.stderr });
  const warning = bindWarning(settings);
  if (warning) logger.warn(warning);

  let serving: Serving;
  try {
    serving = await startServing(settings, runnerSettings, logger, ctx);
  } catch (err) {
    const failure = startFailure(err, settings);
    logger.fatal({ exitCode: failure.code, ...(failure.unexpected && { err }) }, failure.message);
    return failure.code;
  }
  announceListening(ctx, logger, log.format, serving.url);
  logger.info(serving.summary);
  return untilStopped(ctx, logger, 'finishing in-flight requests and writes, then stopping', () => serving.stop());
};
