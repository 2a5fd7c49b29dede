/**
 * The default of every limit (DESIGN "Limits and hostile input"), in a module that imports nothing.
 * stratctl's command tree lists them in `serve --help` (src/limit-settings.ts) and must not load the
 * server to do it: taken from the modules that enforce them, these constants brought graphql, yoga
 * and their plugins into every stratctl command's start. Everything that needs a default takes it from here.
 */

/** DESIGN "Limits": connections. */
export const CONNECTION_LIMITS = {
  /** Open connections at once (`--max-connections`). */
  maxConnections: 1_024,
  /** Open connections per client address (not applied behind a TLS proxy: every connection is the proxy's). */
  maxConnectionsPerClient: 64,
  /** A request's headers must have arrived within this, counted from the connection (or the previous answer). */
  headersTimeoutMs: 10_000,
  /** A whole request (headers and body) must have arrived within this. */
  requestTimeoutMs: 30_000,
  /** An idle keep-alive connection is kept this long (longer than common proxies' 60 s). */
  keepAliveTimeoutMs: 65_000,
} as const;

/**
 * Query-shape limits, generous for every operation this schema serves (its deepest real selection,
 * a mutation payload's `status.activeStrategy.tunableDefinitions.name`, is depth 5) and tight
 * enough that no document can make the server do much work. The README's Security section lists them.
 */
export const QUERY_LIMITS = {
  /** Nesting of fields and fragments. */
  maxDepth: 10,
  /** Aliased fields in one operation (an alias repeats a field's work). */
  maxAliases: 15,
  /** Lexical tokens in the document (bounds parse work before anything else runs). */
  maxTokens: 1_000,
  /** Directives in one operation (`@include`, `@skip`, ...). */
  maxDirectives: 20,
} as const;

/** DESIGN "Limits": the defaults of the per-request document limits. */
export const COST_LIMITS = {
  /** Cost of one operation without a token. */
  maxCost: 5_000,
  /** Cost of one operation with a valid token. */
  maxCostWithToken: 20_000,
  /** Largest `first`/`last` without a token. */
  maxListSize: 100,
  /** Largest `first`/`last` with a valid token. */
  maxListSizeWithToken: 1_000,
} as const;

/** DESIGN "Limits": 1 MiB for a query result and for each subscription event. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** DESIGN "Limits": open subscriptions per client address. */
export const MAX_SUBSCRIPTIONS_PER_CLIENT = 16;
/** How the refusal past that limit begins (stratctl tells it from the failed-auth limit's, whose code is the same). */
export const TOO_MANY_SUBSCRIPTIONS = 'Too many open subscriptions';

/** DESIGN "Limits": what a stream may have waiting for a slow reader before it is ended. */
export const MAX_STREAM_BUFFER_BYTES = 1024 * 1024;

/** 64 KiB: a hundred times the largest real request (an `updateConfig` with overrides). */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024;

/** The largest config, presets or tokens file read (DESIGN "Limits": 1 MiB). */
export const MAX_RUNTIME_FILE_BYTES = 1024 * 1024;

/** How long one parse (or edit) of a runtime file may take before it is given up (DESIGN: a deadline). */
export const DEFAULT_PARSE_DEADLINE_MS = 2_000;
