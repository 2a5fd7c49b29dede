import { StartAbortedError } from '../abort.js';
import { WEAK_TOKEN_BITS } from '../auth/tokens.js';
import { codeCacheLogFields, codeCacheOutcome } from '../code-cache-state.js';
import { envSetting } from '../env-setting.js';
import { childLogger } from '../http/log.js';
import { type LimitSettings, resolveLimitSettings } from '../limit-settings.js';
import type { LockHolder } from '../lock.js';
import { createLogger, type Logger, logProcessWarnings, resolveLogSettings } from '../log.js';
import { openFeed, type RunnerSettings, resolveRunnerSettings } from '../runner/settings.js';
import { startControlPlane } from '../server.js';
import { bindWarning, resolveServerSettings, type ServerSettings } from '../settings.js';
import type { RunnerIdHolder } from '../store-etcd/runners.js';
import { resolveStoreSettings, type StoreSettings } from '../store-settings.js';
import { UsageError } from '../usage-error.js';
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
  onLost: (reason: string) => void,
  abort: AbortSignal,
): Promise<Serving> {
  const feed = settings.runner ? await openFeed(runnerSettings.feed) : undefined;
  const plane = await startControlPlane({
    host: settings.host,
    port: settings.port,
    runtimeDir: settings.runtimeDir,
    store,
    adminToken: envSetting(ctx.io.env, 'CONTROL_PLANE_TOKEN'),
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
    onLockLost: (file, holder) => onLost(lockLostReason(file, holder)),
    onRunnerIdTakenOver: (id, holder) => onLost(runnerIdLostReason(id, holder)),
    abort,
  });
  const source = plane.adminTokenSource;
  if (source?.kind === 'file') {
    announcing(logger).info({ file: source.file }, `admin token ${source.created ? 'generated and saved to' : 'read from'} ${source.file}`);
    // On etcd every replica serves one deployment, but an admin token from a file is this host's
    // own: each replica would answer to a different one.
    if (store.kind === 'etcd')
      logger.warn(
        { file: source.file },
        `CONTROL_PLANE_TOKEN is not set: this replica's admin token is ${source.file}, its own; other replicas of this etcd deployment have theirs. Set the same CONTROL_PLANE_TOKEN on every replica (named tokens, in etcd, work on all of them)`,
      );
  } else {
    logger.info('admin token taken from CONTROL_PLANE_TOKEN');
  }
  if (source?.weakBits !== undefined) {
    // A warning, not a refusal: DESIGN sets no strength rule beyond the 16 characters checked above.
    const where = source.kind === 'env' ? 'CONTROL_PLANE_TOKEN' : source.file;
    logger.warn(
      { tokenFrom: where, estimatedBits: source.weakBits, minimumBits: WEAK_TOKEN_BITS },
      `the admin token in ${where} looks chosen by hand: about ${source.weakBits} bits by a rough estimate, under ${WEAK_TOKEN_BITS}; a guess checked offline (the operator page's tab names, a copied digest) or a slow spray of wrong tokens may find it. Use a generated one: ${source.kind === 'env' ? 'CONTROL_PLANE_TOKEN=$(openssl rand -base64 32)' : `delete ${source.file} and restart to have one generated`}`,
    );
  }
  const { config } = plane.services.store.state().config;
  return {
    url: plane.url,
    summary: `active strategy ${config.activeStrategyKey}, config version ${config.version} (${plane.services.store.info().location})${settings.production ? ', production mode' : ''}`,
    stop: () => plane.close(),
  };
}

/** Why a process that lost its runtime-dir lock stops (it exits 75, as a second process refused at start does). */
export function lockLostReason(file: string, holder: LockHolder | null): string {
  const now = holder ? `process ${holder.pid} on ${holder.host} holds it now` : 'it is not a lock file any more';
  return `lost ${file}: ${now}, so this process no longer owns the runtime directory`;
}

/** Why a runner whose etcd runner id another process took over stops (exit 75, as at a refused start). */
export function runnerIdLostReason(id: string, holder: RunnerIdHolder): string {
  // A runner just started that lost the id to the holder it judged gone: "not heard from" would
  // send the operator looking for a stall of this one.
  if (holder.how === 'resumed')
    return `runner id ${id} is process ${holder.pid}'s on ${holder.host} again: it had stopped publishing, so this runner's start took the id over, but it published again before this runner's first heartbeat (it was frozen, and resumed), so this runner stops: two runners never run under one id`;
  if (holder.how === 'together')
    return `runner id ${id}: another runner started under the same id at the same time (process ${holder.pid} on ${holder.host}) and published first; this one stops: two runners never run under one id`;
  return `runner id ${id} was taken over by process ${holder.pid} on ${holder.host} while this runner was not heard from (stopped, frozen, or cut off from etcd for 3 heartbeats), so this runner stops: two runners never run under one id`;
}

/**
 * Announces the address: a log line with `url` (in json format, the only line: every line is JSON);
 * in text format also `... listening on <url>` on stdout, one line, for scripts and people.
 */
export function announceListening(ctx: CommandContext, logger: Logger, format: 'text' | 'json', url: string): void {
  if (format === 'text') ctx.print(`strategy-control-plane listening on ${url}`);
  else announcing(logger).info({ url }, `listening on ${url}`);
}

/**
 * The logger for what a start must say whatever --log-level is (where it listens, where its admin
 * token is): at info, below the level asked for. With --log-format json --log-level warn, `serve
 * --port 0` said nothing at all, so its address (and a generated token's file) could not be known.
 */
export function announcing(logger: Logger): Logger {
  return logger.isLevelEnabled('info') ? logger : childLogger(logger, {}, { level: 'info' });
}

/** A stop signal this soon after the first is the same stop, delivered twice (see stopOnSignal). */
export const SAME_STOP_MS = 1000;

/**
 * Hears SIGTERM/SIGINT from the moment a long-running command starts: with no listener, the default
 * action would kill the process at once (a signal during start-up, or between "listening" and the
 * handler). The first signal calls `stop`; a second one while stopping gives up (exit 1), unless it
 * comes within `SAME_STOP_MS` of the first: then it is the same stop delivered twice. Under
 * `npm start`, Ctrl-C in a terminal (and a service manager stopping the whole process group, as
 * systemd does by default) signals npm and this process both, and npm passes its own on: the
 * second signal came 1 ms after the first, and the server exited without finishing its in-flight
 * requests and writes.
 */
export function stopOnSignal(ctx: CommandContext, logger: Logger, what: string, now: () => number = () => performance.now()) {
  type Request = { signal: NodeJS.Signals } | { reason: string; code: number };
  let requested: (request: Request) => void = () => {};
  const first = new Promise<Request>((resolve) => {
    requested = resolve;
  });
  let firstAt: number | undefined;
  /** When the stop began: the first signal, or `stopBecause` (which is not a signal: a signal after it is still a first one). */
  let stopAt: number | undefined;
  let giveUp: () => void = () => {};
  const starting = new AbortController();
  /**
   * The stop is over (or a start was abandoned to a signal): the process writes its last lines and
   * exits. A stop signal now is taken and let go. Left without a handler, it killed the process by
   * default: under `npm start` a terminal's Ctrl-C reaches the server twice, from the terminal and
   * passed on by npm, and on a loaded machine npm's copy came after the stop had finished; npm
   * then reported the signal instead of the server's exit 0 (seen in CI). Until exit, so never
   * unsubscribed on these paths.
   */
  let over = false;
  const unsubscribe = ctx.io.onStopSignal((signal) => {
    if (over) return;
    const at = now();
    if (firstAt === undefined) {
      firstAt = at;
      stopAt ??= at;
      requested({ signal });
      starting.abort(signal);
    } else if (at - firstAt < SAME_STOP_MS) {
      logger.info(
        `${signal} again within ${SAME_STOP_MS} ms: the same stop (npm start passes its signals on); another one after that exits now`,
      );
    } else {
      logger.warn({ signal }, `${signal} again: exiting now`);
      giveUp();
    }
  });
  /** The last line of a stop: how long it took from the first signal (or `stopBecause`), and the exit code. */
  const endLine = (code: number) => {
    const seconds = ((now() - (stopAt ?? now())) / 1000).toFixed(2);
    logger.info({ exitCode: code, stopSeconds: Number(seconds) }, `stopped after ${seconds} s (exit ${code})`);
  };
  return {
    /** Forget the signals (start-up failed: the failure's exit code stands). */
    dispose: unsubscribe,
    /**
     * Aborted by the first signal (its reason: the signal's name): a start still waiting (a lock, etcd)
     * gives up at once with StartAbortedError instead of finishing and then stopping.
     */
    startAborted: starting.signal,
    /**
     * A start that a signal ended (see `startAborted`): its cause, then the end line a stop by signal
     * writes (`stopped after ... s (exit 0)`), so a log (and a script reading its last line) ends the
     * same way however the stop came; the exit code of a stop by signal (0).
     */
    abandonedStart: (err: StartAbortedError): number => {
      over = true;
      logger.info(
        { signal: err.reason },
        `${err.reason} during start-up: stopped before it finished (lock files released, nothing else written)`,
      );
      endLine(EXIT.ok);
      return EXIT.ok;
    },
    /** Stops as the first signal would, for a reason of this process's own; it then exits `code`. (Once stopping, nothing.) */
    stopBecause: (reason: string, code: number) => {
      stopAt ??= now();
      requested({ reason, code });
    },
    /**
     * After the first signal (or `stopBecause`), runs `stop`: 0 once it is done (or the code given to
     * `stopBecause`), 1 if it failed or a second signal came.
     */
    afterSignal: async (stop: () => Promise<void>): Promise<number> => {
      const request = await first;
      if ('signal' in request) logger.info({ signal: request.signal }, `${request.signal}: ${what}`);
      else logger.error({ exitCode: request.code }, `${request.reason}: ${what}`);
      const done = 'code' in request ? request.code : EXIT.ok;
      try {
        return await new Promise<number>((resolve) => {
          giveUp = () => resolve(EXIT.unexpected);
          stop().then(
            () => {
              // The end of the stop in the log: without it, a log ending at "SIGTERM: ..." could not say
              // whether the drain finished or the process was killed in the middle of it.
              endLine(done);
              resolve(done);
            },
            (err) => {
              logger.error({ err }, 'shutdown failed');
              resolve(EXIT.unexpected);
            },
          );
        });
      } finally {
        over = true;
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
  // Taken and ignored, --feed told the operator the market data was set here (as --etcd-ca on a file
  // store is refused), and --heartbeat-ms that STALE was judged by it (a runner publishes its own
  // interval, which the API judges by). Their environment variables may be shared with a `stratctl
  // runner` unit: not refused.
  if (!settings.runner)
    for (const runnerFlag of ['feed', 'heartbeat-ms'] as const)
      if (flags[runnerFlag] !== undefined)
        throw new UsageError(
          `--${runnerFlag} applies only to the embedded runner, which is off here (--no-runner, CONTROL_PLANE_RUNNER=off): give it to stratctl runner`,
        );
  const store = resolveStoreSettings(flags, env);
  const log = resolveLogSettings(flags, env, ctx.io.stderr.isTTY === true);
  const logger = createLogger({ ...log, destination: ctx.io.stderr });
  logProcessWarnings(logger, ctx.io.stderr);
  for (const { fields, message } of limits.adjusted ?? []) logger.info(fields, message);

  const stopping = stopOnSignal(ctx, logger, 'finishing in-flight requests and writes, then stopping');
  let serving: Serving;
  try {
    serving = await startServing(
      settings,
      limits,
      store,
      runnerSettings,
      logger,
      ctx,
      (reason) => stopping.stopBecause(reason, EXIT.runtimeDirInUse),
      stopping.startAborted,
    );
  } catch (err) {
    if (err instanceof StartAbortedError) return stopping.abandonedStart(err);
    stopping.dispose();
    const failure = startFailure(err, { ...settings, etcd: store.kind === 'etcd' });
    logger.fatal({ exitCode: failure.code, ...(failure.unexpected && { err }) }, failure.message);
    return failure.code;
  }
  // Once bound: a --host that does not resolve (exit 2) was warned of as "reachable beyond this machine" first.
  const warning = bindWarning(settings);
  if (warning) logger.warn({ host: settings.host }, warning);
  announceListening(ctx, logger, log.format, serving.url);
  // Whether this start took V8's code cache, and if not why (a node upgraded without a rebuild, other node flags).
  const codeCache = codeCacheLogFields(codeCacheOutcome());
  logger.info(codeCache.fields, `${serving.summary}${codeCache.text}`);
  return stopping.afterSignal(() => serving.stop());
};
