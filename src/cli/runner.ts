import { ConfigFileError } from '../config/errors.js';
import { openYamlConfigStore, type YamlConfigStore } from '../config/yaml-store.js';
import { createLogger, type Logger, resolveLogSettings } from '../log.js';
import { defaultRegistry } from '../registry/index.js';
import { Runner } from '../runner/runner.js';
import { openFeed, resolveRunnerSettings } from '../runner/settings.js';
import type { RunnerStatePublisher } from '../runner/state.js';
import { fileRunnerStatePublisher } from '../runner/state-file.js';
import { lockRuntimeDir, type RuntimeDirLocks } from '../runtime-dir.js';
import { resolveServerSettings } from '../settings.js';
import type { Action } from './program.js';
import { stopOnSignal } from './serve.js';
import { startFailure } from './start-failures.js';

/** Opens the store, waiting (and reporting) while config.yaml is invalid: a bad file never stops the runner. */
async function openStoreWhenValid(
  runtimeDir: string,
  publisher: RunnerStatePublisher,
  heartbeatMs: number,
  feed: string,
  logger: Logger,
  stopping: () => boolean,
): Promise<YamlConfigStore | undefined> {
  let reported = '';
  const startedAt = new Date().toISOString();
  while (!stopping()) {
    try {
      return await openYamlConfigStore({ registry: defaultRegistry, runtimeDir, watch: true, pollMs: 1000, warn: (m) => logger.warn(m) });
    } catch (err) {
      if (!(err instanceof ConfigFileError)) throw err;
      if (err.message !== reported)
        logger.warn({ problem: err.message }, 'config file invalid; waiting for a valid one before the first scan');
      reported = err.message;
      const at = new Date().toISOString();
      const state = { pid: process.pid, feed, startedAt, heartbeatAt: at, heartbeatIntervalMs: heartbeatMs, stopped: false };
      await publisher.publish({
        ...state,
        applied: null,
        lastScanAt: null,
        lastSignals: [],
        error: `config file invalid: ${err.publicMessage}`,
      });
      await new Promise((r) => setTimeout(r, Math.min(heartbeatMs, 500)));
    }
  }
  return undefined;
}

/** `stratctl runner`: the runner alone, holding <runtime-dir>/.runner.lock, until SIGTERM/SIGINT. */
export const runner: Action = async (flags, _args, ctx) => {
  const env = ctx.io.env;
  const { runtimeDir } = resolveServerSettings({ 'runtime-dir': flags['runtime-dir'] as string | undefined }, env);
  const settings = resolveRunnerSettings(flags, env);
  const log = resolveLogSettings(flags, env, ctx.io.stderr.isTTY === true);
  const logger = createLogger({ ...log, destination: ctx.io.stderr });
  const stopping = stopOnSignal(ctx, logger, 'stopping the runner');
  let locks: RuntimeDirLocks | undefined;
  let feed: Awaited<ReturnType<typeof openFeed>>;
  try {
    locks = await lockRuntimeDir(runtimeDir, { serve: false, runner: true });
    feed = await openFeed(settings.feed);
  } catch (err) {
    stopping.dispose();
    await locks?.release();
    const failure = startFailure(err, { runtimeDir });
    logger.fatal({ exitCode: failure.code, ...(failure.unexpected && { err }) }, failure.message);
    return failure.code;
  }
  const publisher = fileRunnerStatePublisher(runtimeDir);

  // The runner's own timers are unref'd (they must not hold an API process open); this one holds this process.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopRequested = false;
  let store: YamlConfigStore | undefined;
  let running: Runner | undefined;
  const stopped = stopping.afterSignal(async () => {
    stopRequested = true;
    try {
      await running?.stop();
      await store?.close();
    } finally {
      clearInterval(keepAlive);
      await locks?.release();
    }
  });

  store = await openStoreWhenValid(runtimeDir, publisher, settings.heartbeatMs, feed.description, logger, () => stopRequested);
  if (!store || stopRequested) {
    await store?.close();
    return stopped;
  }
  running = new Runner({ registry: defaultRegistry, store, feed, publisher, heartbeatMs: settings.heartbeatMs, logger });
  running.start();
  // Scripts and tests know it is up from this line: on stdout in text format, a log line with `runtimeDir` in json.
  const started = `strategy runner started (pid ${process.pid}) on ${runtimeDir}, feed ${settings.feed}`;
  if (log.format === 'text') ctx.print(started);
  else logger.info({ pid: process.pid, runtimeDir, feed: settings.feed }, started);
  return stopped;
};
