import { parseArgs } from 'node:util';
import { ConfigFileError } from '../config/errors.js';
import { openYamlConfigStore, type YamlConfigStore } from '../config/yaml-store.js';
import { createLogger, type Logger } from '../log.js';
import { defaultRegistry } from '../registry/index.js';
import { FeedError } from '../runner/feed.js';
import { Runner } from '../runner/runner.js';
import { openFeed, RUNNER_OPTIONS_HELP, resolveRunnerSettings } from '../runner/settings.js';
import { type RunnerStatePublisher, runnerIdentity } from '../runner/state.js';
import { fileRunnerStatePublisher } from '../runner/state-file.js';
import { resolveServerSettings } from '../settings.js';
import { EXIT } from './exit-codes.js';

export const help = `Usage: stratctl runner [options]

Runs the strategy runner on its own, beside an API started with "stratctl serve --no-runner".
The two share only the runtime directory: the runner follows config.yaml and publishes its state
to runner-state.json, which the API reports as status.runner.

Options (flags win over environment variables):
  --runtime-dir <dir>     config and state dir                                 CONTROL_PLANE_RUNTIME_DIR (./runtime)
${RUNNER_OPTIONS_HELP}
  -h, --help              this help

An invalid config.yaml does not stop it: it reports the problem (status.runner.error) and starts
as soon as the file is fixed. Exit codes: 0 stopped cleanly (SIGTERM/SIGINT), 2 bad usage or feed.
`;

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
      if (err.message !== reported) logger.warn(`config file invalid; waiting for a valid one before the first scan.\n${err.message}`);
      reported = err.message;
      const at = new Date().toISOString();
      const state = {
        ...runnerIdentity(),
        pid: process.pid,
        feed,
        startedAt,
        heartbeatAt: at,
        heartbeatIntervalMs: heartbeatMs,
        stopped: false,
      };
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

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'runtime-dir': { type: 'string' },
      feed: { type: 'string' },
      'heartbeat-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(help);
    return EXIT.ok;
  }
  const { runtimeDir } = resolveServerSettings({ 'runtime-dir': values['runtime-dir'] }, process.env);
  const settings = resolveRunnerSettings(values, process.env);
  const logger = createLogger(process.env.CONTROL_PLANE_LOG_LEVEL === 'debug' ? 'debug' : 'info');
  let feed: Awaited<ReturnType<typeof openFeed>>;
  try {
    feed = await openFeed(settings.feed);
  } catch (err) {
    if (!(err instanceof FeedError)) throw err;
    process.stderr.write(`error: cannot open the feed: ${(err as Error).message}\n`);
    return EXIT.usage;
  }
  const publisher = fileRunnerStatePublisher(runtimeDir);

  // The runner's own timers are unref'd (they must not hold an API process open); this one holds this process.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  let store: YamlConfigStore | undefined;
  let runner: Runner | undefined;
  const stopped = new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return resolve(EXIT.unexpected);
      stopping = true;
      logger.info(`${signal}: stopping the runner`);
      (async () => {
        await runner?.stop();
        await store?.close();
        clearInterval(keepAlive);
      })().then(
        () => resolve(EXIT.ok),
        (err) => {
          logger.error('runner shutdown failed', err);
          resolve(EXIT.unexpected);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

  store = await openStoreWhenValid(runtimeDir, publisher, settings.heartbeatMs, feed.description, logger, () => stopping);
  if (!store || stopping) {
    await store?.close();
    return stopped;
  }
  runner = new Runner({ registry: defaultRegistry, store, feed, publisher, heartbeatMs: settings.heartbeatMs, logger });
  runner.start();
  // One line on stdout, so scripts and tests know it is up.
  process.stdout.write(`strategy runner started (pid ${process.pid}) on ${runtimeDir}, feed ${settings.feed}\n`);
  return stopped;
}
