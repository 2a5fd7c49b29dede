import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import {
  ActivateStrategyDocument,
  StatusDocument,
  StrategiesDocument,
  UpdateConfigDocument,
  type UpdateConfigInput,
  type UpdateConfigMutation,
} from '../generated/graphql.js';
import type { Logger } from '../log.js';
import { bodyTooLargeMessage, MAX_REQUEST_BODY_BYTES } from './plugins/body-limit.js';

/** The API's one body limit: far more than any partial config; a bigger body is refused before it is read in full. */
export const REST_BODY_LIMIT_BYTES = MAX_REQUEST_BODY_BYTES;

/** A refusal in the predecessor's shape: `{"detail": "<message>"}` with the status. */
class RestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

type Config = UpdateConfigMutation['updateConfig']['config'];
const configBody = (c: Config) => ({
  active_strategy_key: c.activeStrategyKey,
  trading_enabled: c.tradingEnabled,
  scan_interval_seconds: c.scanIntervalSeconds,
  tunable_overrides: c.tunableOverrides,
  version: c.version,
  updated_at: c.updatedAt,
});

// The file's snake_case keys, as the predecessor's POST /api/config took them.
const CONFIG_KEYS: Record<string, keyof UpdateConfigInput> = {
  active_strategy_key: 'activeStrategyKey',
  trading_enabled: 'tradingEnabled',
  scan_interval_seconds: 'scanIntervalSeconds',
  tunable_overrides: 'tunableOverrides',
};

async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  // A declared oversize is refused before this route runs (body-limit plugin); a chunked one here.
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > REST_BODY_LIMIT_BYTES) throw new RestError(413, bodyTooLargeMessage(REST_BODY_LIMIT_BYTES));
      chunks.push(chunk);
    }
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new RestError(400, 'Request body must be JSON (Content-Type: application/json)');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RestError(400, 'Request body must be a JSON object');
  return body as Record<string, unknown>;
}

// Answers a route produces from the GraphQL operation's data.
type Route = (request: Request, run: Runner) => Promise<unknown>;
type Runner = <R, V>(document: TypedDocumentNode<R, V>, variables: V) => Promise<R>;

const routes: Record<string, { method: 'GET' | 'POST'; handle: Route }> = {
  '/api/strategies': {
    method: 'GET',
    handle: async (_req, run) => {
      const { strategies } = await run(StrategiesDocument, {});
      return {
        strategies: strategies.map((s) => ({
          key: s.key,
          name: s.name,
          description: s.description,
          instruments: s.instruments,
          tunables: s.tunables,
          risk_level: s.riskLevel.toLowerCase(),
          session_preference: s.sessionPreference.toLowerCase(),
        })),
      };
    },
  },
  '/api/status': {
    method: 'GET',
    handle: async (_req, run) => {
      const { status } = await run(StatusDocument, {});
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
  '/api/strategy/activate': {
    method: 'POST',
    handle: async (req, run) => {
      const body = await readJsonObject(req);
      if (typeof body.strategy_key !== 'string') throw new RestError(400, 'strategy_key is required (a strategy key, e.g. "gold")');
      const { activateStrategy: a } = await run(ActivateStrategyDocument, { strategyKey: body.strategy_key });
      return { active_strategy_key: a.activeStrategyKey, previous_strategy_key: a.previousStrategyKey, config_version: a.configVersion };
    },
  },
  '/api/config': {
    method: 'POST',
    handle: async (req, run) => {
      const body = await readJsonObject(req);
      const input: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(body)) {
        const field = CONFIG_KEYS[key];
        if (!field) throw new RestError(400, `Unknown config key: ${key} (allowed: ${Object.keys(CONFIG_KEYS).join(', ')})`);
        input[field] = value;
      }
      const { updateConfig } = await run(UpdateConfigDocument, { input: input as UpdateConfigInput });
      return configBody(updateConfig.config);
    },
  },
};

export interface RestCompatOptions {
  /** Runs a GraphQL request through the whole yoga server (every plugin), e.g. `yoga.fetch`. */
  graphql: (request: Request, serverContext: object) => Promise<Response> | Response;
  logger: Pick<Logger, 'error'>;
  graphqlPath?: string;
}

const PASSED_ON_HEADERS = ['www-authenticate', 'retry-after'];

/**
 * The predecessor's REST endpoints (seed note), served as thin routes that execute the same typed
 * GraphQL operations through yoga, so auth, limits and error masking are the GraphQL path's own.
 */
export function useRestCompat(options: RestCompatOptions): Plugin {
  const graphqlPath = options.graphqlPath ?? '/graphql';
  return {
    async onRequest({ request, url, endResponse, serverContext, fetchAPI }) {
      if (!url.pathname.startsWith('/api/')) return;
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
        endResponse(
          new fetchAPI.Response(JSON.stringify(body), {
            status,
            headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
          }),
        );
      const route = Object.hasOwn(routes, url.pathname) ? routes[url.pathname] : undefined;
      if (!route) return json(404, { detail: 'Not Found' });
      if (request.method !== route.method) return json(405, { detail: 'Method Not Allowed' }, { allow: route.method });
      const run: Runner = async (document, variables) => {
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
        };
        // The inner request is the outer one's: same credentials, same Host (the host check applies to both).
        for (const name of ['authorization', 'host']) {
          const value = request.headers.get(name);
          if (value !== null) headers[name] = value;
        }
        const inner = new fetchAPI.Request(new URL(graphqlPath, url), {
          method: 'POST',
          headers,
          body: JSON.stringify({ query: print(document), variables }),
        });
        const response = await options.graphql(inner, serverContext);
        const result = (await response.json()) as { data?: unknown; errors?: { message: string }[] };
        if (result.errors?.length || !result.data) {
          const passed = Object.fromEntries(
            PASSED_ON_HEADERS.flatMap((h) => (response.headers.has(h) ? [[h, response.headers.get(h)!]] : [])),
          );
          throw new RestError(response.status >= 400 ? response.status : 500, result.errors?.[0]?.message ?? 'Unexpected error.', passed);
        }
        return result.data as never;
      };
      try {
        json(200, await route.handle(request, run));
      } catch (err) {
        if (err instanceof RestError) return json(err.status, { detail: err.message }, err.headers);
        options.logger.error({ err }, 'REST compatibility route failed');
        json(500, { detail: 'Unexpected error.' });
      }
    },
  };
}
