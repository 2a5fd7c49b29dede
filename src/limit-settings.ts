import { decimalSetting, envSetting } from './env-setting.js';
import type { RuntimeFileLimits } from './fs/runtime-file.js';
import type { HttpSecurity } from './http/plane.js';
import {
  CONNECTION_LIMITS,
  COST_LIMITS,
  DEFAULT_PARSE_DEADLINE_MS,
  MAX_REQUEST_BODY_BYTES,
  MAX_RESPONSE_BYTES,
  MAX_RUNTIME_FILE_BYTES,
  MAX_STREAM_BUFFER_BYTES,
  MAX_SUBSCRIPTIONS_PER_CLIENT,
  QUERY_LIMITS,
} from './limit-defaults.js';
import { UsageError } from './usage-error.js';

export interface LimitSettings {
  security: HttpSecurity;
  files: RuntimeFileLimits;
  /** A default moved to fit a value given (README: Security): said in the start's log. */
  adjusted?: { message: string; fields: Record<string, number> }[];
}

interface LimitSetting {
  /** `--max-connections` */
  readonly flag: string;
  readonly env: string;
  readonly defaultValue: number;
  readonly min: number;
  readonly describe: string;
  readonly apply: (settings: LimitSettings, value: number) => void;
}

const setting = (flag: string, defaultValue: number, min: number, describe: string, apply: LimitSetting['apply']): LimitSetting => ({
  flag,
  env: `CONTROL_PLANE_${flag.replace(/-/g, '_').toUpperCase()}`,
  defaultValue,
  min,
  describe,
  apply,
});

const connections = (s: LimitSettings) => {
  s.security.connections ??= {};
  return s.security.connections;
};
const costs = (s: LimitSettings) => {
  s.security.costLimits ??= {};
  return s.security.costLimits;
};
const shape = (s: LimitSettings) => {
  s.security.queryLimits ??= {};
  return s.security.queryLimits;
};

/**
 * Every limit of DESIGN "Limits and hostile input" as a `serve` setting: a flag, and an environment
 * variable named after it (`--max-connections` / `CONTROL_PLANE_MAX_CONNECTIONS`), each with its safe
 * default. The README's Security section lists them (a test keeps the two in step).
 */
export const LIMIT_SETTINGS: readonly LimitSetting[] = [
  setting(
    'max-connections',
    CONNECTION_LIMITS.maxConnections,
    1,
    'open connections at once; at the cap the one idle longest is closed',
    (s, v) => {
      connections(s).maxConnections = v;
    },
  ),
  setting(
    'max-connections-per-client',
    CONNECTION_LIMITS.maxConnectionsPerClient,
    1,
    'open connections per client address (not behind a TLS proxy)',
    (s, v) => {
      connections(s).maxConnectionsPerClient = v;
    },
  ),
  setting('headers-timeout-ms', CONNECTION_LIMITS.headersTimeoutMs, 1_000, 'a request’s headers must arrive within this', (s, v) => {
    connections(s).headersTimeoutMs = v;
  }),
  setting('request-timeout-ms', CONNECTION_LIMITS.requestTimeoutMs, 1_000, 'a whole request must arrive within this', (s, v) => {
    connections(s).requestTimeoutMs = v;
  }),
  setting(
    'keep-alive-timeout-ms',
    CONNECTION_LIMITS.keepAliveTimeoutMs,
    1_000,
    'an idle keep-alive connection is kept this long',
    (s, v) => {
      connections(s).keepAliveTimeoutMs = v;
    },
  ),
  setting('max-subscriptions-per-client', MAX_SUBSCRIPTIONS_PER_CLIENT, 1, 'open subscriptions per client', (s, v) => {
    s.security.maxSubscriptionsPerClient = v;
  }),
  setting(
    'max-stream-buffer-bytes',
    MAX_STREAM_BUFFER_BYTES,
    1_024,
    'unread bytes a slow subscription reader may leave (or a /graphql/stream reservation queue before its GET) before its stream ends',
    (s, v) => {
      s.security.maxStreamBufferBytes = v;
    },
  ),
  setting('max-request-body-bytes', MAX_REQUEST_BODY_BYTES, 1_024, 'request body, after gzip inflation', (s, v) => {
    s.security.maxRequestBodyBytes = v;
  }),
  setting('max-response-bytes', MAX_RESPONSE_BYTES, 1_024, 'a query result or one subscription event', (s, v) => {
    s.security.maxResponseBytes = v;
  }),
  setting('max-cost', COST_LIMITS.maxCost, 1, 'document cost without a token, per request after variables', (s, v) => {
    costs(s).maxCost = v;
  }),
  setting('max-cost-with-token', COST_LIMITS.maxCostWithToken, 1, 'document cost with a token', (s, v) => {
    costs(s).maxCostWithToken = v;
  }),
  setting('max-list-size', COST_LIMITS.maxListSize, 1, 'first/last without a token', (s, v) => {
    costs(s).maxListSize = v;
  }),
  setting('max-list-size-with-token', COST_LIMITS.maxListSizeWithToken, 1, 'first/last with a token', (s, v) => {
    costs(s).maxListSizeWithToken = v;
  }),
  setting('max-depth', QUERY_LIMITS.maxDepth, 1, 'nesting of fields and fragments', (s, v) => {
    shape(s).maxDepth = v;
  }),
  setting('max-aliases', QUERY_LIMITS.maxAliases, 1, 'aliases per operation', (s, v) => {
    shape(s).maxAliases = v;
  }),
  setting('max-directives', QUERY_LIMITS.maxDirectives, 1, 'directives per operation', (s, v) => {
    shape(s).maxDirectives = v;
  }),
  setting('max-tokens', QUERY_LIMITS.maxTokens, 10, 'lexical tokens per document', (s, v) => {
    shape(s).maxTokens = v;
  }),
  setting('max-runtime-file-bytes', MAX_RUNTIME_FILE_BYTES, 1_024, 'config.yaml, strategies.yaml, tokens.yaml', (s, v) => {
    s.files.maxRuntimeFileBytes = v;
  }),
  setting('parse-deadline-ms', DEFAULT_PARSE_DEADLINE_MS, 10, 'one parse of a runtime file, in the parse worker', (s, v) => {
    s.files.parseDeadlineMs = v;
  }),
];

const MAX_VALUE = 1_000_000_000;

function parseLimit(raw: string, source: string, min: number): number {
  const n = decimalSetting(raw);
  if (!Number.isInteger(n) || n < min || n > MAX_VALUE) {
    throw new UsageError(`${source}: "${raw}" is not a whole number from ${min} to ${MAX_VALUE}`);
  }
  return n;
}

/** Where a limit's value came from: its flag, its variable, or (undefined) its default. */
type Source = string | undefined;

/**
 * Node refuses to start a server whose headers timeout is above its request timeout (the headers
 * are part of the request): `serve` crashed with a RangeError (exit 1, restarted in a loop). Both
 * given: a usage error naming both. One given: the other, a default, follows it (a request timeout
 * of 5 s means headers within 5 s too; headers allowed 40 s means the request is too), and the
 * start's log says so.
 */
function fitTimeouts(settings: LimitSettings, sources: ReadonlyMap<string, Source>): void {
  const given = settings.security.connections;
  const headers = given?.headersTimeoutMs ?? CONNECTION_LIMITS.headersTimeoutMs;
  const request = given?.requestTimeoutMs ?? CONNECTION_LIMITS.requestTimeoutMs;
  if (given === undefined || headers <= request) return;
  const headersFrom = sources.get('headers-timeout-ms');
  const requestFrom = sources.get('request-timeout-ms');
  if (headersFrom !== undefined && requestFrom !== undefined) {
    throw new UsageError(
      `headers timeout ${headers} ms (${headersFrom}) is above request timeout ${request} ms (${requestFrom}): the headers are part of the request; give a headers timeout at most the request timeout`,
    );
  }
  const message =
    requestFrom !== undefined
      ? `headers timeout lowered to ${request} ms (its default: ${headers}): the request timeout is ${request} ms (${requestFrom}) and the headers are part of the request`
      : `request timeout raised to ${headers} ms (its default: ${request}): the headers timeout is ${headers} ms (${headersFrom}) and the headers are part of the request`;
  // The one given wins: both become its value.
  const fitted = requestFrom !== undefined ? request : headers;
  given.headersTimeoutMs = fitted;
  given.requestTimeoutMs = fitted;
  settings.adjusted = [{ message, fields: { headersTimeoutMs: fitted, requestTimeoutMs: fitted } }];
}

/** The limits from flags (by long name, without `--`), then the environment, then the defaults. */
export function resolveLimitSettings(flags: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv): LimitSettings {
  const settings: LimitSettings = {
    security: {},
    files: { maxRuntimeFileBytes: MAX_RUNTIME_FILE_BYTES, parseDeadlineMs: DEFAULT_PARSE_DEADLINE_MS },
  };
  const sources = new Map<string, Source>();
  for (const limit of LIMIT_SETTINGS) {
    const flag = flags[limit.flag];
    // An empty flag is refused (a script's "$MAX" with MAX unset), an empty or blank variable is unset (README, Settings).
    const raw = typeof flag === 'string' ? flag : envSetting(env, limit.env);
    if (raw === undefined) continue;
    const source = typeof flag === 'string' ? `--${limit.flag}` : limit.env;
    sources.set(limit.flag, source);
    limit.apply(settings, parseLimit(raw, source, limit.min));
  }
  fitTimeouts(settings, sources);
  return settings;
}
