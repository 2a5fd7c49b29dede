import type { Scope } from '../auth/identity.js';
import { fileTermsPath, fromSnakeKeys, snakeCase, toSnakeKeys } from '../config/case.js';
import { fitsGraphQLInt } from '../config/scan-interval.js';
import { configUpdateSchema, SETTABLE_FIELDS, type SettableField } from '../config/schema.js';
import {
  ActivateStrategyDocument,
  StatusDocument,
  StrategiesDocument,
  UpdateConfigDocument,
  type UpdateConfigInput,
  type UpdateConfigMutation,
} from '../generated/graphql.js';
import { clippedMessage, shownName, shownValue } from '../registry/index.js';
import { type Exchange, jsonReply, type Reply } from './exchange.js';
import { type Authorizer, OperationFailed, type OperationRunner } from './in-process.js';
import type { Route } from './router.js';

/** A refusal in the predecessor's shape: `{"detail": "<message>"}` with the status. */
class RestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Config = UpdateConfigMutation['updateConfig']['config'];
/** The whole config in the file's snake_case keys, as the predecessor answered it. */
const configBody = ({ __typename: _, ...c }: Config & { __typename?: string }) => toSnakeKeys(c);

/**
 * A body said to be something else is refused (415), as the predecessor (FastAPI) refused it and as
 * /graphql does: curl's `-d` without a content type sends a form, and `text/plain` is what a page on
 * another origin may send without asking first. No content type (or an empty one) is read as JSON.
 */
function checkContentType(exchange: Exchange): void {
  const contentType = exchange.req.headers['content-type'];
  const mediaType = contentType?.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (mediaType === '' || mediaType === 'application/json' || /^application\/[^/]*\+json$/.test(mediaType)) return;
  throw new RestError(415, `Content-Type must be application/json, got ${shownName(mediaType)}`);
}

/** The body the body step read (already size-checked and decoded), as a JSON object. */
function jsonObject(exchange: Exchange): Record<string, unknown> {
  checkContentType(exchange);
  let body: unknown;
  try {
    body = JSON.parse((exchange.body ?? Buffer.alloc(0)).toString('utf8'));
  } catch {
    throw new RestError(400, 'Request body must be JSON (Content-Type: application/json)');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RestError(400, 'Request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** An own property only (`__proto__`, `toString` and the like never answer by inheritance). */
const own = (object: Record<string, unknown>, key: string): unknown => (Object.hasOwn(object, key) ? object[key] : undefined);

/**
 * Refuses a body with a key the route does not take. A key that is ignored is worse than a refusal:
 * a script that sends `expected_version` believes it made a conflict-safe write and would silently
 * overwrite someone else's change.
 */
function onlyKeys(body: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(body).find((key) => !allowed.includes(key));
  // Quoted as GraphQL quotes a client's name (README, Errors): cut to 60 characters, hidden ones shown as \u….
  if (unknown !== undefined) throw new RestError(400, `Unknown key: ${shownName(unknown)} (allowed: ${allowed.join(', ')})`);
}

/** What GraphQL's input type takes for each settable field (null is refused before: leave a field out to keep it). */
const GRAPHQL_TAKES: Record<SettableField, (value: unknown) => boolean> = {
  activeStrategyKey: (v) => typeof v === 'string',
  tradingEnabled: (v) => typeof v === 'boolean',
  // GraphQL's Int is 32-bit: 3000000000 would be refused before the domain's bounds are checked.
  scanIntervalSeconds: fitsGraphQLInt,
  tunableOverrides: () => true,
};

/**
 * Refuses a value GraphQL's input type would refuse, in REST's terms: GraphQL's own message names
 * `$input` and the camelCase field, which a snake_case API never showed. The words are the config
 * schema's, as a value that passed GraphQL but not the domain would hear them.
 */
function checkTypes(input: Partial<Record<SettableField, unknown>>): void {
  for (const field of SETTABLE_FIELDS) {
    const value = input[field];
    // Worded as the domain's refusals (`Invalid config: <field>: ...`): one spelling for a script to match, whichever check refused.
    if (value === null) throw new RestError(400, `Invalid config: ${snakeCase(field)}: cannot be null: leave it out to keep its value`);
    if (value === undefined || GRAPHQL_TAKES[field](value)) continue;
    const issue = configUpdateSchema.shape[field].safeParse(value).error?.issues[0]?.message;
    throw new RestError(400, `Invalid config: ${snakeCase(field)}: ${issue ?? 'has the wrong type'}`);
  }
}

type RestHandler = (exchange: Exchange, run: OperationRunner) => Promise<unknown>;

const ROUTES: { path: string; method: 'GET' | 'POST'; scope: Scope; handle: RestHandler }[] = [
  {
    path: '/api/strategies',
    method: 'GET',
    scope: 'read',
    handle: async (exchange, run) => {
      const { strategies } = await run(exchange, StrategiesDocument, {});
      return {
        strategies: strategies.map((s) => ({
          key: s.key,
          name: s.name,
          description: s.description,
          instruments: s.instruments,
          tunables: s.tunables,
          risk_level: s.riskLevel.toLowerCase(),
          session_preference: s.sessionPreference.toLowerCase(),
          // Presets list after the static strategies; `base` names the static strategy a preset varies.
          source: s.source.toLowerCase(),
          base: s.base,
        })),
      };
    },
  },
  {
    path: '/api/status',
    method: 'GET',
    scope: 'read',
    handle: async (exchange, run) => {
      const { status } = await run(exchange, StatusDocument, {});
      const { runner } = status;
      return {
        active_strategy_key: status.activeStrategyKey,
        config_version: status.configVersion,
        updated_at: status.configUpdatedAt,
        runner: {
          state: runner.state.toLowerCase(),
          in_sync: runner.inSync,
          applied_config_version: runner.appliedConfigVersion,
          applied_strategy_key: runner.appliedStrategyKey,
          applied_at: runner.appliedAt,
          last_scan_at: runner.lastScanAt,
          heartbeat_at: runner.heartbeatAt,
          error: runner.error,
        },
      };
    },
  },
  {
    path: '/api/strategy/activate',
    method: 'POST',
    scope: 'operate',
    handle: async (exchange, run) => {
      const body = jsonObject(exchange);
      onlyKeys(body, ['strategy_key']);
      const strategyKey = own(body, 'strategy_key');
      if (strategyKey === undefined) throw new RestError(400, 'strategy_key is required (a strategy key, e.g. "gold")');
      if (typeof strategyKey !== 'string') {
        throw new RestError(400, `strategy_key must be a strategy key as text (e.g. "gold"), got ${shownValue(strategyKey)}`);
      }
      const { activateStrategy: a } = await run(exchange, ActivateStrategyDocument, { strategyKey });
      return {
        active_strategy_key: a.activeStrategyKey,
        previous_strategy_key: a.previousStrategyKey,
        config_version: a.configVersion,
        changed: a.changed,
      };
    },
  },
  {
    path: '/api/config',
    method: 'POST',
    scope: 'admin',
    handle: async (exchange, run) => {
      // The file's snake_case keys, as the predecessor's POST /api/config took them (own keys only).
      const { known: input, unknown } = fromSnakeKeys(jsonObject(exchange), SETTABLE_FIELDS);
      if (unknown[0] !== undefined) {
        throw new RestError(400, `Unknown config key: ${shownName(unknown[0])} (allowed: ${SETTABLE_FIELDS.map(snakeCase).join(', ')})`);
      }
      checkTypes(input);
      const { updateConfig } = await run(exchange, UpdateConfigDocument, { input: input as UpdateConfigInput });
      return { ...configBody(updateConfig.config), changed: updateConfig.changed };
    },
  },
];

/**
 * A refusal's words in the body's terms: an invalid config's fields named as the body spells them
 * (`scan_interval_seconds`, `tunable_overrides.gold.lookback`), not GraphQL's camelCase, so a script
 * matching on the field meets one spelling whichever check refused it.
 */
function detailOf(err: OperationFailed): string {
  const prefix = 'Invalid config: ';
  if (err.issues.length === 0 || !err.message.startsWith(prefix)) return err.message;
  const shown = err.issues.map(({ path, message }) => `${fileTermsPath(path)}: ${message}`);
  return `${prefix}${shown.join('; ')}`;
}

/**
 * The predecessor's REST endpoints (seed note): thin routes that run the same typed GraphQL
 * operations in process, with the outer request's credentials, so auth, limits and masking are the
 * GraphQL path's own. Errors answer `{"detail": "<message>"}` with the error table's status and
 * headers (WWW-Authenticate on 401, Retry-After on 429 and on 503 UNAVAILABLE; a failed write has
 * none, as on /graphql).
 */
export function restRoutes(run: OperationRunner, authorize: Authorizer): Route[] {
  return ROUTES.map(({ path, method, scope, handle }) => ({
    path,
    // HEAD as GET without the body (uptime checkers use it); it runs the same read.
    methods: method === 'GET' ? ['GET', 'HEAD'] : [method],
    handle: async (exchange): Promise<Reply> => {
      try {
        // The token and its scope first: a caller without the right hears 401/403, not what was wrong with its body.
        await authorize(exchange, scope);
        return jsonReply(200, await handle(exchange, run));
      } catch (err) {
        // No detail over 500 characters, as no GraphQL error message is (README, Errors): the last guard.
        if (err instanceof OperationFailed) return jsonReply(err.status, { detail: clippedMessage(detailOf(err)) }, err.headers);
        if (err instanceof RestError) return jsonReply(err.status, { detail: clippedMessage(err.message) });
        throw err;
      }
    },
  }));
}
