import { decimalSetting, envSetting, runtimeDirSetting } from './env-setting.js';
import { DEFAULT_AUTH_FAILURES_PER_MINUTE } from './http/steps/auth-failure-limit.js';
import { UsageError } from './usage-error.js';

export { UsageError };

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)$/i;

/**
 * A boolean environment setting: a true or false spelling, or unset (absent or empty). Anything else
 * is refused: quietly reading a typo (`enabled`) as off would leave reads public with
 * CONTROL_PLANE_READS_REQUIRE_TOKEN set, and nobody would know.
 */
export function envBoolean(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const value = envSetting(env, name);
  if (value === undefined) return undefined;
  if (TRUE.test(value)) return true;
  if (FALSE.test(value)) return false;
  throw new UsageError(`${name} must be 1, true, yes or on (or 0, false, no, off), not "${env[name]}"`);
}

export interface ServerSettings {
  host: string;
  port: number;
  runtimeDir: string;
  runner: boolean;
  production: boolean;
  readsRequireToken: boolean;
  /** Failed authentications per client per minute before it is refused (429). */
  authFailuresPerMinute: number;
  /** The operator says a TLS proxy is in front: no warning for a non-loopback bind. */
  behindTlsProxy: boolean;
}

export interface ServerFlags {
  host?: string;
  port?: string;
  'runtime-dir'?: string;
  'no-runner'?: boolean;
  production?: boolean;
  'reads-require-token'?: boolean;
  'auth-failures-per-minute'?: string;
  'behind-tls-proxy'?: boolean;
}

function parseAuthFailures(raw: string, source: string): number {
  const n = decimalSetting(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) {
    throw new UsageError(`${source}: "${raw}" is not a whole number from 1 to 1000000`);
  }
  return n;
}

function parsePort(raw: string, source: string): number {
  if (raw.trim() === '') throw new UsageError(`${source}: "${raw}" is not a port (empty)`);
  // Decimal digits only: 0x10 and 1e3 were read as 16 and 1000, -0 as 0 (any free port: the
  // server moved without a word) and 8787.0 as 8787 (which stratctl and the image's health check refuse).
  const port = decimalSetting(raw);
  if (Number.isNaN(port)) throw new UsageError(`${source}: "${raw}" is not a port (a whole number from 0 to 65535, in decimal digits)`);
  if (port > 65_535) throw new UsageError(`${source}: "${raw}" is not a port (must be 0 to 65535)`);
  return port;
}

/** A variable read by `parse` (which quotes it as written), or undefined when it is unset, empty or blank. */
function fromEnv<T>(env: NodeJS.ProcessEnv, name: string, parse: (raw: string, source: string) => T): T | undefined {
  return envSetting(env, name) === undefined ? undefined : parse(env[name] as string, name);
}

/** Flags win over the environment, which wins over the defaults. */
export function resolveServerSettings(flags: ServerFlags, env: NodeJS.ProcessEnv): ServerSettings {
  const host = flags.host ?? envSetting(env, 'CONTROL_PLANE_HOST') ?? '127.0.0.1';
  if (host.trim() === '') throw new UsageError('--host must not be empty');
  const port = flags.port !== undefined ? parsePort(flags.port, '--port') : (fromEnv(env, 'CONTROL_PLANE_PORT', parsePort) ?? 8787);
  const runtimeDir = runtimeDirSetting(flags['runtime-dir'], env);
  // Every boolean setting is checked, whatever the flags say: a typo is refused even where a flag wins.
  const runnerEnv = envBoolean(env, 'CONTROL_PLANE_RUNNER');
  const readsRequireTokenEnv = envBoolean(env, 'CONTROL_PLANE_READS_REQUIRE_TOKEN');
  const behindTlsProxyEnv = envBoolean(env, 'CONTROL_PLANE_BEHIND_TLS_PROXY');
  return {
    host,
    port,
    runtimeDir,
    runner: !(flags['no-runner'] ?? runnerEnv === false),
    production: (flags.production ?? false) || env.NODE_ENV === 'production',
    readsRequireToken: (flags['reads-require-token'] ?? false) || readsRequireTokenEnv === true,
    authFailuresPerMinute:
      flags['auth-failures-per-minute'] !== undefined
        ? parseAuthFailures(flags['auth-failures-per-minute'], '--auth-failures-per-minute')
        : (fromEnv(env, 'CONTROL_PLANE_AUTH_FAILURES_PER_MINUTE', parseAuthFailures) ?? DEFAULT_AUTH_FAILURES_PER_MINUTE),
    behindTlsProxy: (flags['behind-tls-proxy'] ?? false) || behindTlsProxyEnv === true,
  };
}

/** Loopback addresses: binding anything else exposes the API beyond this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/i.test(host);
}

/** The start-up warning for a bind beyond this machine, unless a TLS proxy in front was acknowledged. */
export function bindWarning(settings: Pick<ServerSettings, 'host' | 'behindTlsProxy'>): string | null {
  if (isLoopback(settings.host) || settings.behindTlsProxy) return null;
  return (
    `binding ${settings.host}: the API is reachable beyond this machine, and bearer tokens travel in clear text ` +
    'unless a TLS proxy is in front. Put one in front and pass --behind-tls-proxy (CONTROL_PLANE_BEHIND_TLS_PROXY=1) to acknowledge it.'
  );
}
