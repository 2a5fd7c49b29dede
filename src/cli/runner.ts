import { hostname } from 'node:os';
import { StartAbortedError } from '../abort.js';
import { ConfigFileError } from '../config/errors.js';
import { type ControlPlane, createControlPlane } from '../control-plane.js';
import { createLogger, type Logger, logProcessWarnings, resolveLogSettings } from '../log.js';
import { getStrategyRegistry, instrumentSchema } from '../registry/index.js';
import type { CandleFeed } from '../runner/feed.js';
import { openFeed, resolveRunnerSettings } from '../runner/settings.js';
import type { RunnerState } from '../runner/state.js';
import { fileRunnerStatePublisher } from '../runner/state-file.js';
import { resolveServerSettings } from '../settings.js';
import { resolveStoreSettings, type StoreFlags } from '../store-settings.js';
import { UsageError } from '../usage-error.js';
import { requireExistingRuntimeDir } from './existing-runtime-dir.js';
import { EXIT } from './exit-codes.js';
import { type Action, stringFlag } from './program.js';
import { lockLostReason, runnerIdLostReason, stopOnSignal } from './serve.js';
import { startFailure } from './start-failures.js';

/**
 * Reports an invalid config as the runner's error while it waits for a valid one: a bad file never
 * stops the runner (it holds the runner lock meanwhile, so no second runner starts beside it).
 * Stopped before it started, it publishes the last state once more as stopped (`stopped()`, and
 * before the wait gives up, while the lock is still held): no Runner ran to say so, and the last
 * state said ERROR, then STALE for ever once its heartbeat aged.
 */
function reportWhileInvalid(
  runtimeDir: string,
  runner: { feed: CandleFeed; heartbeatMs: number; id: string | undefined; instruments: readonly string[] | undefined },
  logger: Logger,
  stopping: () => boolean,
) {
  const { feed, heartbeatMs } = runner;
  const publisher = fileRunnerStatePublisher(runtimeDir);
  const startedAt = new Date().toISOString();
  const host = hostname();
  // As the runner will publish itself once it starts (--runner-id, --instruments): the same runner, not another one.
  const id = runner.id ?? `${host}:${process.pid}`;
  const instruments = runner.instruments ? [...runner.instruments] : null;
  let reported = '';
  let last: RunnerState | null = null;
  let closed: Promise<void> | null = null;
  const stopped = () => {
    closed ??= (async () => {
      if (last) await publisher.publish({ ...last, stopped: true, heartbeatAt: new Date().toISOString() });
      await publisher.close();
    })();
    return closed;
  };
  const onInvalidConfig = async (err: ConfigFileError): Promise<'retry' | 'stop'> => {
    if (stopping()) return stopped().then(() => 'stop');
    if (err.message !== reported)
      logger.warn({ problem: err.message }, 'config file invalid; waiting for a valid one before the first scan');
    reported = err.message;
    last = {
      id,
      host,
      pid: process.pid,
      instruments,
      feed: feed.description,
      startedAt,
      heartbeatAt: new Date().toISOString(),
      heartbeatIntervalMs: heartbeatMs,
      stopped: false,
      applied: null,
      lastScanAt: null,
      lastSignals: [],
      error: `config file invalid: ${err.publicMessage}`,
    };
    await publisher.publish(last);
    await new Promise((r) => setTimeout(r, Math.min(heartbeatMs, 500)));
    return stopping() ? stopped().then(() => 'stop') : 'retry';
  };
  return { onInvalidConfig, stopped };
}

/** `stratctl runner`: the runner alone, holding <runtime-dir>/.runner.lock, until SIGTERM, SIGINT or SIGHUP (exit 0). */
export const runner: Action = async (flags, _args, ctx) => {
  const env = ctx.io.env;
  const { runtimeDir } = resolveServerSettings({ 'runtime-dir': flags['runtime-dir'] as string | undefined }, env);
  const settings = resolveRunnerSettings(flags, env);
  const store = resolveStoreSettings(flags as StoreFlags, env);
  // The API process beside it writes audit.log (and trims it): a runner only reads it. On etcd a
  // runner writes the trail (it audits a hand edit or an unaudited config, as every replica tries
  // to), and each write deletes beyond its --audit-keep: there it takes the flag, as serve does.
  if (store.kind === 'file' && store.auditKeep !== undefined)
    throw new UsageError(
      '--audit-keep: a runner does not write audit.log (the API process beside it does): give it to stratctl serve (on an etcd store a runner takes it)',
    );
  if (store.kind === 'file') requireExistingRuntimeDir(runtimeDir, 'the runtime directory of the server whose config this runner applies');
  const id = stringFlag(flags, 'runner-id');
  if (id !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/.test(id)) {
    throw new UsageError(`--runner-id "${id}": up to 128 characters of A-Z a-z 0-9 . _ : @ -`);
  }
  const instruments = stringFlag(flags, 'instruments')
    ?.split(',')
    .map((i) => i.trim());
  // What the strategies trade: a preset's instruments are among its base's, so the static ones are all.
  const traded = [...new Set(Object.values(getStrategyRegistry()).flatMap((s) => s.instruments))].sort();
  for (const instrument of instruments ?? []) {
    if (!instrumentSchema.safeParse(instrument).success)
      throw new UsageError(`--instruments: "${instrument}" is not an instrument like EUR_USD`);
    // A typo (EUR_UDS) made a runner that scanned nothing, whatever strategy was active, and said so nowhere.
    if (!traded.includes(instrument))
      throw new UsageError(`--instruments: no strategy trades ${instrument} (the strategies trade ${traded.join(', ')})`);
  }
  const log = resolveLogSettings(flags, env, ctx.io.stderr.isTTY === true);
  const logger = createLogger({ ...log, destination: ctx.io.stderr });
  logProcessWarnings(logger, ctx.io.stderr);
  const stopping = stopOnSignal(ctx, logger, 'stopping the runner');
  // The runner's own timers are unref'd (they must not hold an API process open); this one holds this process.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopRequested = false;
  let plane: ControlPlane | undefined;
  let waiting: ReturnType<typeof reportWhileInvalid> | undefined;
  let planeStarted = false;
  // Settled once the start below has ended either way, its outcome logged. A stop waits for it: a
  // start a signal abandoned says so ("stopped before it finished") before the end line ("stopped
  // after ... s"), which otherwise came first, written while the start was still unwinding.
  let startEnded: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    startEnded = resolve;
  });
  const stopped = stopping.afterSignal(async () => {
    stopRequested = true;
    try {
      await started;
      // A valid config came with the signal (the plane made, never started): the wait's ERROR state
      // is the last one published, and no Runner will say it stopped; said before the lock goes.
      if (!planeStarted) await waiting?.stopped();
      await plane?.stop();
    } finally {
      clearInterval(keepAlive);
    }
  });
  try {
    const feed = await openFeed(settings.feed);
    waiting = reportWhileInvalid(runtimeDir, { feed, heartbeatMs: settings.heartbeatMs, id, instruments }, logger, () => stopRequested);
    plane = await createControlPlane({
      runtimeDir,
      api: false,
      store,
      runner: { feed, heartbeatMs: settings.heartbeatMs, id, instruments },
      logger,
      onInvalidConfig: waiting.onInvalidConfig,
      onLockLost: (file, holder) => stopping.stopBecause(lockLostReason(file, holder), EXIT.runtimeDirInUse),
      onRunnerIdTakenOver: (runnerId, holder) => stopping.stopBecause(runnerIdLostReason(runnerId, holder), EXIT.runtimeDirInUse),
      abort: stopping.startAborted,
    });
  } catch (err) {
    if (stopRequested && (err instanceof ConfigFileError || err instanceof StartAbortedError)) {
      if (err instanceof StartAbortedError) logger.info(`${err.reason} during start-up: stopped before it finished (lock files released)`);
      startEnded();
      return stopped;
    }
    stopping.dispose();
    clearInterval(keepAlive);
    const failure = startFailure(err, { runtimeDir, etcd: store.kind === 'etcd' });
    // A stop asked for meanwhile never says its end line: this one is the last (the exit code is the failure's).
    logger.fatal({ exitCode: failure.code, ...(failure.unexpected && { err }) }, failure.message);
    return failure.code;
  }
  // The signal came while the plane was being made: the stop (waiting for this) stops it.
  if (stopRequested) {
    startEnded();
    return stopped;
  }
  planeStarted = true;
  await plane.start();
  startEnded();
  // Scripts and tests know it is up from this line: on stdout in text format, a log line with `runtimeDir` in json.
  const upLine = `strategy runner started (pid ${process.pid}) on ${runtimeDir}, feed ${settings.feed}`;
  if (log.format === 'text') ctx.print(upLine);
  else logger.info({ pid: process.pid, runtimeDir, feed: settings.feed }, upLine);
  return stopped;
};
