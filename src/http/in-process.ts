import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type ExecutionResult, GraphQLError, print } from 'graphql';
import type { Scope } from '../auth/identity.js';
import type { FaultLog } from '../fault-log.js';
import { type GraphQLContext, scopeRefusal } from '../graphql/context.js';
import { refusalError } from '../graphql/errors.js';
import type { RequestScope } from '../graphql/request-scope.js';
import type { ControlPlaneYoga } from '../graphql/yoga.js';
import type { Exchange } from './exchange.js';
import { httpStatusOf } from './graphql-status.js';

/** A GraphQL operation that answered errors (or no data), with the status and headers the error table gives it. */
export class OperationFailed extends Error {
  override name = 'OperationFailed';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string>,
    /** A refused input's issues (BAD_USER_INPUT), paths in GraphQL's field names. */
    readonly issues: readonly { path: readonly (string | number)[]; message: string }[] = [],
  ) {
    super(message);
  }
}

/** The scope GraphQL gets for an exchange: the same on yoga's path and in-process. */
export function requestScopeOf(exchange: Exchange): RequestScope {
  return {
    requestId: exchange.requestId,
    log: exchange.log,
    authorization: exchange.req.headers.authorization ?? null,
    clientKey: exchange.clientKey,
  };
}

export type OperationRunner = <R, V>(exchange: Exchange, document: TypedDocumentNode<R, V>, variables: V) => Promise<R>;

/**
 * Runs a typed document in this process through yoga's envelop orchestrator (parse, validate,
 * context, execute: every envelop plugin, so limits, auth context and masking are GraphQL's own)
 * with the outer request's scope (its credentials and request id). No second HTTP request.
 */
export function inProcessRunner(yoga: ControlPlaneYoga, faults?: FaultLog): OperationRunner {
  const sources = new WeakMap<object, string>();
  const sourceOf = (document: TypedDocumentNode<unknown, unknown>) => {
    let source = sources.get(document);
    if (source === undefined) {
      source = print(document);
      sources.set(document, source);
    }
    return source;
  };

  const run = async (exchange: Exchange, query: string, variables: unknown): Promise<ExecutionResult> => {
    const { parse, validate, contextFactory, execute, schema } = yoga.getEnveloped({
      ...requestScopeOf(exchange),
      params: { query, variables: variables as Record<string, unknown> },
    });
    try {
      const document = parse(query);
      const errors = validate(schema, document);
      if (errors.length > 0) return { errors };
      const contextValue = await contextFactory();
      const result = await execute({ schema, document, contextValue, variableValues: variables as Record<string, unknown> });
      if (Symbol.asyncIterator in result) throw new Error('an in-process operation answered a stream');
      return result;
    } catch (err) {
      // The context factory's refusals arrive masked (a GraphQLError with its status); anything else is a fault.
      if (err instanceof GraphQLError) return { errors: [err] };
      if (faults) faults.failed(exchange.log, err, 'in-process GraphQL operation failed');
      else exchange.log.error({ err }, 'in-process GraphQL operation failed');
      return { errors: [new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR', http: { status: 500 } } })] };
    }
  };

  return async <R, V>(exchange: Exchange, document: TypedDocumentNode<R, V>, variables: V): Promise<R> => {
    const result = await run(exchange, sourceOf(document as TypedDocumentNode<unknown, unknown>), variables);
    if (result.errors?.length || !result.data) throw failed(result.errors ?? []);
    return result.data as R;
  };
}

const failed = (errors: readonly GraphQLError[]) => {
  const { status, headers } = httpStatusOf(errors);
  const issues = errors[0]?.extensions.issues;
  return new OperationFailed(status, errors[0]?.message ?? 'Unexpected error.', headers, Array.isArray(issues) ? issues : []);
};

/** Refuses (OperationFailed: 401 or 403, as GraphQL answers them) a caller without `scope`. */
export type Authorizer = (exchange: Exchange, scope: Scope) => Promise<void>;

/**
 * The caller's scope checked before anything about its request is judged, as on /graphql: a REST
 * route checks its body itself (keys, types), and a caller with no token heard what was wrong with
 * the body instead of 401. The context is GraphQL's own (the same credentials, a wrong token refused
 * the same way) and the rule is scope-auth's (`callerHasScope`).
 */
export function inProcessAuthorizer(yoga: ControlPlaneYoga): Authorizer {
  return async (exchange, scope) => {
    const { contextFactory } = yoga.getEnveloped({ ...requestScopeOf(exchange), params: { query: '' } });
    let context: GraphQLContext;
    try {
      context = (await contextFactory()) as unknown as GraphQLContext;
    } catch (err) {
      if (err instanceof GraphQLError) throw failed([err]);
      throw err;
    }
    const refusal = scopeRefusal(context, scope);
    if (refusal) throw failed([refusalError(refusal)]);
  };
}
