import {
  type DocumentNode,
  type ExecutionResult,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  getVariableValues,
  type OperationDefinitionNode,
  type Source,
} from 'graphql';
import type { CompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';

/** Set on an execution's initial context to ask for graphql-jit (the fast lane does, when its switch is on). */
export const JIT_EXECUTION = Symbol.for('strategy-control-plane.jit');

/** Executions of a document before it is compiled: compiling costs milliseconds, so only repeated documents pay it. */
export const JIT_AFTER_EXECUTIONS = 2;

interface Compiled {
  runs: number;
  query: CompiledQuery | null;
}

type Jit = typeof import('graphql-jit');
let jit: Promise<Jit> | undefined;
/** graphql-jit (and the JSON-schema compiler it brings) is loaded when a first document is compiled: most processes never do. */
const loadJit = () => {
  jit ??= import('graphql-jit');
  return jit;
};

/**
 * Executes with graphql-jit where that is correct, else leaves yoga's own executor in place:
 * queries and mutations only (subscriptions never reach here), a document jit can compile, and
 * variables that coerce (a variable error is answered by the reference executor, word for word).
 * It only swaps the execute function: every plugin's onExecute hooks (limits, cost, masking,
 * logging, metrics) run around it as they do around the default executor.
 */
export function jitExecutionPlugin(): Plugin {
  const compiled = new WeakMap<DocumentNode, Map<string, Compiled>>();

  const compiledFor = async (schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): Promise<Compiled> => {
    let byName = compiled.get(document);
    if (!byName) {
      byName = new Map();
      compiled.set(document, byName);
    }
    const key = operationName ?? '';
    let entry = byName.get(key);
    if (!entry) {
      entry = { runs: 0, query: null };
      if (byName.size < 16) byName.set(key, entry);
    }
    entry.runs += 1;
    if (entry.query === null && entry.runs === JIT_AFTER_EXECUTIONS) {
      const { compileQuery, isCompiledQuery } = await loadJit();
      const result = compileQuery(schema, document, operationName);
      entry.query = isCompiledQuery(result) ? result : null;
    }
    return entry;
  };

  const variablesCoerce = (schema: GraphQLSchema, operation: OperationDefinitionNode, inputs: unknown): boolean => {
    const definitions = operation.variableDefinitions ?? [];
    if (definitions.length === 0) return true;
    const coerced = getVariableValues(schema, definitions, (inputs ?? {}) as Record<string, unknown>, { maxErrors: 1 });
    return coerced.errors === undefined;
  };

  return {
    async onExecute({ args, setExecuteFn }) {
      if (!(args.contextValue as unknown as Record<symbol, unknown> | undefined)?.[JIT_EXECUTION]) return;
      const operationName = args.operationName ?? undefined;
      const operation = getOperationAST(args.document, operationName);
      if (!operation || operation.operation === 'subscription') return;
      const { query } = await compiledFor(args.schema, args.document, operationName);
      if (!query || !variablesCoerce(args.schema, operation, args.variableValues)) return;
      const source = args.document.loc?.source;
      setExecuteFn(function jitExecute(a) {
        const result = query.query(a.rootValue, a.contextValue, a.variableValues ?? {});
        return result instanceof Promise ? result.then((r) => asGraphqlJsWould(r, source)) : asGraphqlJsWould(result, source);
      });
    },
  };
}

/**
 * graphql-jit's errors carry `locations` but not the source positions graphql-js's do, and yoga
 * rebuilds every error from those when it answers (masking, then its serializer): they are given
 * back here, so an error reads the same whichever executor ran. Errors first, as graphql-js orders them.
 */
function asGraphqlJsWould(result: ExecutionResult, source: Source | undefined): ExecutionResult {
  if (!result.errors?.length) return result;
  const lineStarts = source ? lineStartsOf(source.body) : [];
  const errors = result.errors.map((error) => {
    if (!source || error.positions || !error.locations?.length) return error;
    const positions = error.locations.map(({ line, column }) => (lineStarts[line - 1] ?? 0) + column - 1);
    return new GraphQLError(error.message, {
      source,
      positions,
      path: error.path,
      originalError: error.originalError,
      extensions: error.extensions,
    });
  });
  const { data, extensions } = result;
  return { errors, data, ...(extensions && { extensions }) };
}

/** Where each line starts, counting lines as graphql-js does (\r\n, \n or \r). */
function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (const match of text.matchAll(/\r\n|[\n\r]/g)) starts.push(match.index + match[0].length);
  return starts;
}
