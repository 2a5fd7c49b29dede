import { type ExecutionResult, GraphQLError } from 'graphql';
import { processRegularResult } from 'graphql-yoga';
import type { Credentials } from '../../auth/identity.js';
import type { Authenticator } from '../../auth/tokens.js';
import type { ControlPlaneServices } from '../../control-plane.js';
import { DocumentCache } from '../../graphql/document-cache.js';
import { maskError } from '../../graphql/errors.js';
import { JIT_EXECUTION, type JitCompileBudget } from '../../graphql/jit.js';
import type { ControlPlaneYoga } from '../../graphql/yoga.js';
import type { Exchange, MaybePromise, Reply } from '../exchange.js';
import { requestScopeOf } from '../in-process.js';
import type { Route } from '../router.js';
import type { YogaHandler, YogaScope } from '../yoga-route.js';
import { isJsonContentType, type RegularMediaType, regularMediaType } from './media-type.js';
import { readRevision } from './read-revision.js';
import { type CachedAnswer, callerKey, ResponseCache } from './response-cache.js';

export interface FastLaneOptions {
  /** Serve plain JSON POSTs in front of yoga (default true); off, yoga answers every /graphql request. */
  enabled?: boolean;
  /** Execute with graphql-jit where that is correct (default true); off, yoga's own executor. */
  jit?: boolean;
  /** How many documents graphql-jit may compile a second (default 20; see JitCompileBudget). */
  jitCompiles?: JitCompileBudget;
  /** Cache whole answers to cacheable queries (default true). */
  responseCache?: boolean;
}

interface Params {
  query: string;
  variables: Record<string, unknown> | undefined;
  operationName: string | undefined;
}

const PARAM_NAMES = new Set(['query', 'variables', 'operationName', 'extensions']);

/** The body as plain GraphQL-over-HTTP params, or null for anything yoga should judge (batches, extensions, bad JSON, bad types). */
function plainParams(body: string): Params | null {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const params = value as Record<string, unknown>;
  for (const name in params) if (!PARAM_NAMES.has(name) && params[name] != null) return null;
  const { query, variables, operationName, extensions } = params;
  if (typeof query !== 'string' || extensions != null) return null;
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) return null;
  if (operationName != null && typeof operationName !== 'string') return null;
  return {
    query,
    variables: (variables ?? undefined) as Record<string, unknown> | undefined,
    operationName: (operationName ?? undefined) as string | undefined,
  };
}

/** yoga's regular result processor, writing into a plain reply instead of a fetch Response: same status, headers and bytes. */
const CAPTURE = {
  Response: function Captured(body: string, init: { status: number; headers: Record<string, string> }) {
    return { body, init };
  },
};

function regularReply(result: ExecutionResult, mediaType: RegularMediaType): Reply {
  const { body, init } = processRegularResult(result, CAPTURE as never, mediaType) as unknown as {
    body: string | null;
    init: { status: number; headers?: Record<string, string> };
  };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
  return { status: init.status, headers, body };
}

const COUNTED: YogaScope = { documentCounted: true };

const answerOf = (cached: CachedAnswer): Reply => ({
  status: cached.status,
  headers: { 'content-type': cached.contentType },
  body: cached.body,
  length: cached.length,
});

/**
 * The fast lane: `/graphql` POSTs of one JSON operation (not batched, no extensions), answered
 * through yoga's envelop orchestrator (`yoga.getEnveloped`: the same context factory, document
 * limits, masking, logging and every other envelop plugin as yoga's own path) without yoga's
 * fetch-API HTTP layer. Parse and validation are cached by document text (DocumentCache);
 * execution is graphql-jit's where correct (jit.ts); whole answers to cacheable queries are
 * cached by everything they depend on (response-cache.ts, read-revision.ts). Anything else (GET,
 * SSE, multipart, batches, a document that does not validate, a refused token, a subscription)
 * goes to yoga (`fallback`), which answers it exactly as it always has.
 */
export function fastLaneRoute(
  yoga: ControlPlaneYoga,
  services: Pick<ControlPlaneServices, 'store' | 'runners'> & Partial<Pick<ControlPlaneServices, 'faultLog'>>,
  authenticator: Authenticator,
  fallback: YogaHandler,
  options: FastLaneOptions = {},
): Route & { close(): void } {
  const documents = new DocumentCache();
  const jit = options.jit ?? true;
  const cache = (options.responseCache ?? true) ? new ResponseCache() : null;
  const revision = readRevision(services);

  // Synchronous up to a cache hit (a cached read costs no promise); execution is `execute` below.
  const handle = (exchange: Exchange): MaybePromise<Reply> => {
    const mediaType = regularMediaType(exchange.req.headers.accept);
    if (mediaType === null) return fallback(exchange);
    const authenticated = authenticator.authenticate(exchange.req.headers.authorization ?? null);
    return authenticated instanceof Promise
      ? authenticated.then((credentials) => answer(exchange, mediaType, credentials))
      : answer(exchange, mediaType, authenticated);
  };

  const answer = (exchange: Exchange, mediaType: RegularMediaType, credentials: Credentials): MaybePromise<Reply> => {
    const caller = callerKey(credentials);
    // A refused token is answered by yoga's own path (401, WWW-Authenticate), like any refusal before execution.
    if (caller === null) return fallback(exchange);
    const body = (exchange.body as Buffer).toString('utf8');
    const readAt = cache ? revision.current() : 0;
    const hit = cache?.get(body, caller, mediaType, readAt);
    if (hit) return answerOf(hit);
    return execute(exchange, mediaType, credentials, caller, body, readAt);
  };

  const execute = async (
    exchange: Exchange,
    mediaType: RegularMediaType,
    credentials: Credentials,
    caller: string,
    body: string,
    readAt: number,
  ): Promise<Reply> => {
    const params = plainParams(body);
    if (!params) return fallback(exchange);
    const initialContext = { ...requestScopeOf(exchange), credentials, params, ...(jit && { [JIT_EXECUTION]: true }) };
    let enveloped: ReturnType<ControlPlaneYoga['getEnveloped']> | undefined;
    const envelopedNow = () => {
      enveloped ??= yoga.getEnveloped(initialContext);
      return enveloped;
    };
    let checkedNow = false;
    const checked = documents.check(
      params.query,
      () => {
        checkedNow = true;
        const e = envelopedNow();
        return { schema: e.schema, validate: e.validate, parse: e.parse };
      },
      // As yoga's path: an operationName that names no operation is refused before validation.
      (document) => documents.operation(document, params.operationName) !== null,
    );
    // Yoga answers the rest. A document checked here just now ran the parse and validate hooks (the
    // metrics counted them): yoga runs them again, and is told so, for the request to count once.
    const handOver = () => fallback(exchange, checkedNow ? COUNTED : undefined);
    if (checked === null || !checked.valid) return handOver();
    const operation = documents.operation(checked.document, params.operationName);
    if (!operation || operation.operation === 'subscription') return handOver();

    const { contextFactory, execute, schema, parse } = envelopedNow();
    // A document checked before still passes the orchestrator's parse (yoga's parser cache answers
    // it), for its hooks: the metrics plugin labels the operation there, and counts and times an
    // execution only for an operation it labelled. Without it only a document's first execution was
    // counted. Validation stays cached: through the orchestrator it cost ~90 µs an activation (its
    // rules are added per call), parse ~8 (CPU A/B, 6 rounds).
    if (!checkedNow) parse(params.query);
    let result: ExecutionResult;
    try {
      const contextValue = await contextFactory();
      const executed = await execute({
        schema,
        document: checked.document,
        contextValue,
        variableValues: params.variables,
        operationName: params.operationName,
      });
      result = executed as ExecutionResult;
    } catch (err) {
      // As yoga's own path: the context factory's refusals arrive masked; anything else is masked here.
      // A fault of ours: once per kind with its stack, then counted (faultLog).
      if (!(err instanceof GraphQLError)) {
        if (services.faultLog) services.faultLog.failed(exchange.log, err, 'GraphQL operation failed; answered masked');
        else exchange.log.error({ err }, 'GraphQL operation failed; answered masked');
      }
      result = { errors: [err instanceof GraphQLError ? err : (maskError(err, 'Unexpected error.') as GraphQLError)] };
    }
    const reply = regularReply(result, mediaType);
    if (
      cache !== null &&
      reply.status === 200 &&
      !result.errors?.length &&
      cache.isCacheable(checked.document, operation) &&
      // The state moved while this executed: the answer may mix old and new, so it is not kept as the old revision's.
      revision.current() === readAt
    ) {
      const answer: CachedAnswer = {
        status: 200,
        contentType: reply.headers['content-type'] ?? `${mediaType}; charset=utf-8`,
        body: reply.body as string,
        length: Buffer.byteLength(reply.body as string),
      };
      cache.set(body, caller, mediaType, readAt, answer);
      return answerOf(answer);
    }
    return reply;
  };

  return {
    path: '/graphql',
    methods: ['POST'],
    accepts: (exchange) =>
      exchange.body !== null && isJsonContentType(exchange.req.headers['content-type']) && firstNonSpace(exchange.body) === 0x7b,
    handle,
    close: () => revision.close(),
  };
}

/** The first byte that is not JSON whitespace (`{` for one operation, `[` for a batch). */
function firstNonSpace(body: Buffer): number | undefined {
  for (let i = 0; i < body.length; i++) {
    const byte = body[i]!;
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return byte;
  }
  return undefined;
}
