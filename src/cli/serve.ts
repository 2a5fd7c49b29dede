import { parseArgs } from 'node:util';
import { ConfigFileError, StoreUnavailableError } from '../config/errors.js';
import { LockHeldError, RuntimeDirNotWritableError } from '../control-plane.js';
import { createLogger } from '../log.js';
import { FeedError } from '../runner/feed.js';
import { openFeed, RUNNER_OPTIONS_HELP, resolveRunnerSettings } from '../runner/settings.js';
import { startControlPlane } from '../server.js';
import { bindWarning, resolveServerSettings, UsageError } from '../settings.js';
import { resolveStoreSettings, STORE_OPTIONS_HELP, STORE_PARSE_OPTIONS } from '../store-settings.js';
import { EXIT } from './exit-codes.js';

export const help = `Usage: stratctl serve [options]

Runs the GraphQL API (http://127.0.0.1:8787/graphql by default) with the runner embedded.

Options (flags win over environment variables):
  --host <addr>           bind address            CONTROL_PLANE_HOST (127.0.0.1)
  --port <n>              port, 0 for any free    CONTROL_PLANE_PORT (8787)
  --runtime-dir <dir>     config and token dir    CONTROL_PLANE_RUNTIME_DIR (./runtime)
  --no-runner             API only                CONTROL_PLANE_RUNNER=off
${STORE_OPTIONS_HELP}
${RUNNER_OPTIONS_HELP}
  --production            no introspection, field suggestions or GraphiQL   NODE_ENV=production
  --reads-require-token   queries need a token too                          CONTROL_PLANE_READS_REQUIRE_TOKEN=1
  --auth-failures-per-minute <n>  failed authentications per client and minute
                          before it is refused (429)  CONTROL_PLANE_AUTH_FAILURES_PER_MINUTE (10)
  --behind-tls-proxy      a TLS proxy is in front: no warning for a non-loopback --host
                                                  CONTROL_PLANE_BEHIND_TLS_PROXY=1
  -h, --help              this help

The admin token is CONTROL_PLANE_TOKEN, or <runtime-dir>/admin.token (generated on first start).
Named tokens with scopes: <runtime-dir>/tokens.yaml (stratctl token --help), re-read on change.
Every accepted change is appended to <runtime-dir>/audit.log before it is answered.
Exit codes: 0 stopped cleanly, 2 bad usage, 78 config.yaml is invalid (the file is left as it is).
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'runtime-dir': { type: 'string' },
      'no-runner': { type: 'boolean' },
      feed: { type: 'string' },
      'heartbeat-ms': { type: 'string' },
      production: { type: 'boolean' },
      'reads-require-token': { type: 'boolean' },
      'auth-failures-per-minute': { type: 'string' },
      'behind-tls-proxy': { type: 'boolean' },
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
  const settings = resolveServerSettings(values, process.env);
  const runnerSettings = resolveRunnerSettings(values, process.env);
  const store = resolveStoreSettings(values, process.env);
  const logger = createLogger(process.env.CONTROL_PLANE_LOG_LEVEL === 'debug' ? 'debug' : 'info');
  const warning = bindWarning(settings);
  if (warning) logger.warn(warning);

  let plane: Awaited<ReturnType<typeof startControlPlane>>;
  try {
    const feed = settings.runner ? await openFeed(runnerSettings.feed) : undefined;
    plane = await startControlPlane({
      host: settings.host,
      port: settings.port,
      runtimeDir: settings.runtimeDir,
      store,
      adminToken: process.env.CONTROL_PLANE_TOKEN,
      production: settings.production,
      readsRequireToken: settings.readsRequireToken,
      runner: feed ? { feed, heartbeatMs: runnerSettings.heartbeatMs } : false,
      security: { behindTlsProxy: settings.behindTlsProxy, authFailures: { failuresPerMinute: settings.authFailuresPerMinute } },
      logger,
    });
    const source = plane.adminTokenSource;
    if (source?.kind === 'file') {
      logger.info(`admin token ${source.created ? 'generated and saved to' : 'read from'} ${source.file}`);
    } else {
      logger.info('admin token taken from CONTROL_PLANE_TOKEN');
    }
  } catch (err) {
    if (err instanceof ConfigFileError) {
      process.stderr.write(
        `error: cannot start: ${err.message}\nThe file was left as it is: fix it (or move it away to start from defaults) and start again.\n`,
      );
      return EXIT.config;
    }
    if (err instanceof UsageError) throw err;
    if (err instanceof StoreUnavailableError) {
      const detail = (err as { detail?: string }).detail;
      process.stderr.write(`error: cannot start: ${err.message}${detail ? ` (${detail})` : ''}\n`);
      return EXIT.unexpected;
    }
    if (err instanceof LockHeldError) {
      process.stderr.write(`error: cannot start: the runtime directory is in use by process ${err.pid} (${err.file})\n`);
      return 75;
    }
    if (err instanceof RuntimeDirNotWritableError) {
      process.stderr.write(`error: cannot start: ${err.message}\n`);
      return 73;
    }
    if (err instanceof FeedError) {
      process.stderr.write(`error: cannot open the feed: ${err.message}\n`);
      return EXIT.usage;
    }
    const code = (err as { code?: string }).code;
    if (code === 'EADDRINUSE') {
      process.stderr.write(
        `error: cannot start: ${settings.host}:${settings.port} is already in use (another control plane running?). Pick another --port.\n`,
      );
      return 98;
    }
    if (code === 'EACCES' || code === 'EROFS') {
      process.stderr.write(`error: cannot start: ${(err as Error).message}\n`);
      return EXIT.unexpected;
    }
    throw err;
  }

  const { config } = plane.services.store.state().config;
  // Printed on stdout, one line, so scripts and tests can find the address (port 0 picks one).
  process.stdout.write(`strategy-control-plane listening on ${plane.url}\n`);
  logger.info(
    `active strategy ${config.activeStrategyKey}, config version ${config.version} (${plane.services.store.info().location})${settings.production ? ', production mode' : ''}`,
  );

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn(`${signal} again: exiting now`);
        resolve(EXIT.unexpected);
        return;
      }
      stopping = true;
      logger.info(`${signal}: finishing in-flight requests and writes, then stopping`);
      plane.close().then(
        () => resolve(EXIT.ok),
        (err) => {
          logger.error('shutdown failed', err);
          resolve(EXIT.unexpected);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
