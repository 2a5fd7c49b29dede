import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { ConfigFileError } from '../config/errors.js';
import { type ControlPlane, createControlPlane } from '../control-plane.js';
import { createLogger, type Logger } from '../log.js';
import { instrumentSchema } from '../registry/index.js';
import { type CandleFeed, FeedError } from '../runner/feed.js';
import { openFeed, RUNNER_OPTIONS_HELP, resolveRunnerSettings } from '../runner/settings.js';
import { fileRunnerStatePublisher } from '../runner/state-file.js';
import { resolveServerSettings, UsageError } from '../settings.js';
import { resolveStoreSettings, STORE_OPTIONS_HELP, STORE_PARSE_OPTIONS, type StoreSettings } from '../store-settings.js';
import { EXIT } from './exit-codes.js';

export const help = `Usage: stratctl runner [options]

Runs the strategy runner on its own, beside an API started with "stratctl serve --no-runner".
The two share only the runtime directory: the runner follows config.yaml and publishes its state
to runner-state.json, which the API reports as status.runner.

Options (flags win over environment variables):
  --runtime-dir <dir>     config and state dir                                 CONTROL_PLANE_RUNTIME_DIR (./runtime)
  --runner-id <id>        this runner's name in the fleet (default <host>:<pid>)
  --instruments <list>    scan only these of the active strategy's instruments, e.g. EUR_USD,XAU_USD
${STORE_OPTIONS_HELP}
${RUNNER_OPTIONS_HELP}
  -h, --help              this help

An invalid config.yaml does not stop it: it reports the problem (status.runner.error) and starts
as soon as the file is fixed. Exit codes: 0 stopped cleanly (SIGTERM/SIGINT), 2 bad usage or feed.
`;

/**
 * Builds the runner's control plane, waiting (and reporting) while the config is invalid: a bad
 * file never stops the runner.
 */
async function openWhenValid(
  runtimeDir: string,
  runner: { feed: CandleFeed; heartbeatMs: number; id?: string; instruments?: readonly string[] },
  store: StoreSettings,
  logger: Logger,
  stopping: () => boolean,
): Promise<ControlPlane | undefined> {
  let reported = '';
  const startedAt = new Date().toISOString();
  const publisher = fileRunnerStatePublisher(runtimeDir);
  while (!stopping()) {
    try {
      return await createControlPlane({ runtimeDir, api: false, runner, store, logger });
    } catch (err) {
      if (!(err instanceof ConfigFileError)) throw err;
      if (err.message !== reported) logger.warn(`config file invalid; waiting for a valid one before the first scan.\n${err.message}`);
      reported = err.message;
      const at = new Date().toISOString();
      const host = hostname();
      await publisher.publish({
        id: runner.id ?? `${host}:${process.pid}`,
        host,
        pid: process.pid,
        instruments: null,
        feed: runner.feed.description,
        startedAt,
        heartbeatAt: at,
        heartbeatIntervalMs: runner.heartbeatMs,
        stopped: false,
        applied: null,
        lastScanAt: null,
        lastSignals: [],
        error: `config file invalid: ${err.publicMessage}`,
      });
      await new Promise((r) => setTimeout(r, Math.min(runner.heartbeatMs, 500)));
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
      'runner-id': { type: 'string' },
      instruments: { type: 'string' },
      ...STORE_PARSE_OPTIONS,
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
  const store = resolveStoreSettings(values, process.env);
  const id = values['runner-id'];
  if (id !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/.test(id)) {
    throw new UsageError(`--runner-id "${id}": up to 128 characters of A-Z a-z 0-9 . _ : @ -`);
  }
  const instruments = values.instruments?.split(',').map((i) => i.trim());
  for (const instrument of instruments ?? []) {
    if (!instrumentSchema.safeParse(instrument).success)
      throw new UsageError(`--instruments: "${instrument}" is not an instrument like EUR_USD`);
  }
  const logger = createLogger(process.env.CONTROL_PLANE_LOG_LEVEL === 'debug' ? 'debug' : 'info');
  let feed: Awaited<ReturnType<typeof openFeed>>;
  try {
    feed = await openFeed(settings.feed);
  } catch (err) {
    if (!(err instanceof FeedError)) throw err;
    process.stderr.write(`error: cannot open the feed: ${(err as Error).message}\n`);
    return EXIT.usage;
  }
  // The runner's own timers are unref'd (they must not hold an API process open); this one holds this process.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  let plane: ControlPlane | undefined;
  const stopped = new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return resolve(EXIT.unexpected);
      stopping = true;
      logger.info(`${signal}: stopping the runner`);
      (async () => {
        await plane?.stop();
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

  plane = await openWhenValid(
    runtimeDir,
    { feed, heartbeatMs: settings.heartbeatMs, ...(id && { id }), ...(instruments && { instruments }) },
    store,
    logger,
    () => stopping,
  );
  if (!plane || stopping) {
    await plane?.stop();
    return stopped;
  }
  await plane.start();
  // One line on stdout, so scripts and tests know it is up.
  const where = store.kind === 'etcd' ? plane.services.store.info().location : runtimeDir;
  process.stdout.write(`strategy runner started (pid ${process.pid}) on ${where}, feed ${settings.feed}\n`);
  return stopped;
}
