import {
  BREAK,
  type DocumentNode,
  type ExecutionResult,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLInputType,
  type GraphQLSchema,
  getNullableType,
  getOperationAST,
  getVariableValues,
  isListType,
  isNonNullType,
  Kind,
  type OperationDefinitionNode,
  type Source,
  TypeInfo,
  type ValueNode,
  type VariableDefinitionNode,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import type { CompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';
import { operationKey } from './document-cache.js';

/** Set on an execution's initial context to ask for graphql-jit (the fast lane does, when its switch is on). */
export const JIT_EXECUTION = Symbol.for('strategy-control-plane.jit');

/** Executions of a document before it is compiled: compiling costs milliseconds, so only repeated documents pay it. */
export const JIT_AFTER_EXECUTIONS = 2;

/**
 * Compilations a second at most (default 20), each costing milliseconds of the event loop: a client
 * that repeats its documents gets them compiled at once, and a fuzzer sending every new document
 * twice cannot buy more than this much compile time; the rest runs on the reference executor.
 */
export interface JitCompileBudget {
  readonly perSecond?: number;
  readonly now?: () => number;
}

interface Compiled {
  runs: number;
  query: CompiledQuery | null;
  /** Not for graphql-jit (it could not compile it, or would not answer it as graphql-js does): never tried again. */
  failed?: boolean;
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
 * queries and mutations only (subscriptions never reach here), a document jit can compile and reads
 * the variables of as graphql-js does (`jitReadsVariablesAsGraphqlJs`), and variables that coerce
 * (a variable error is answered by the reference executor, word for word).
 * It only swaps the execute function: every plugin's onExecute hooks (limits, cost, masking,
 * logging, metrics) run around it as they do around the default executor.
 */
export function jitExecutionPlugin(budget: JitCompileBudget = {}): Plugin {
  const compiled = new WeakMap<DocumentNode, Map<string | symbol, Compiled>>();
  const perSecond = budget.perSecond ?? 20;
  const now = budget.now ?? Date.now;
  // A token bucket: up to `perSecond` compilations at once, refilled at that rate.
  let tokens = perSecond;
  let filledAt = now();
  const mayCompile = (): boolean => {
    const at = now();
    tokens = Math.min(perSecond, tokens + ((at - filledAt) / 1000) * perSecond);
    filledAt = at;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };

  const compiledFor = async (
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    operationName: string | undefined,
  ): Promise<Compiled> => {
    let byName = compiled.get(document);
    if (!byName) {
      byName = new Map();
      compiled.set(document, byName);
    }
    const key = operationKey(operationName);
    let entry = byName.get(key);
    if (!entry) {
      entry = { runs: 0, query: null };
      if (byName.size < 16) byName.set(key, entry);
    }
    entry.runs += 1;
    if (entry.query === null && !entry.failed && entry.runs >= JIT_AFTER_EXECUTIONS) {
      if (!jitReadsVariablesAsGraphqlJs(schema, document, operation)) {
        entry.failed = true; // decided once, and no compilation spent on it
      } else if (mayCompile()) {
        const { compileQuery, isCompiledQuery } = await loadJit();
        const result = compileQuery(schema, document, operationName);
        entry.query = isCompiledQuery(result) ? result : null;
        entry.failed = entry.query === null;
      }
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
      const { query } = await compiledFor(args.schema, args.document, operation, operationName);
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
 * Whether graphql-jit (0.8) reads the operation's variables as graphql-js does, whatever values a
 * request sends: decided from the document alone, once. It reads them right where a variable is a
 * whole argument value, or a whole item of a list literal given to a list argument. Elsewhere it
 * does not, and the operation runs on graphql-js:
 * - a variable inside an input-object literal (`input: { scanIntervalSeconds: $n }`): omitted, it
 *   becomes null instead of leaving the field out;
 * - a variable inside a custom scalar's literal (`tunableOverrides: { momentum: { lookback_bars: $v } }`):
 *   the literal is parsed once, when compiling, without variables, so every run sends that value;
 * - `@include`/`@skip(if: $v)` with `$v` nullable (`Boolean = true`): given null, graphql-js answers an
 *   error, jit leaves the field out;
 * - a list item `$v` of a nullable type in a non-null item position: given null, jit lets it through;
 * - a variable named like an `Object.prototype` member (`$toString`): left out, jit reads the
 *   inherited member as its value;
 * - any other directive argument that is a variable, and a variable the operation does not declare.
 * Fragments count where the operation spreads them.
 */
export function jitReadsVariablesAsGraphqlJs(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): boolean {
  const declared = new Map<string, VariableDefinitionNode>();
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (name in Object.prototype) return false;
    declared.set(name, definition);
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const declaredNonNull = (name: string) => {
    const definition = declared.get(name);
    return definition !== undefined && definition.type.kind === Kind.NON_NULL_TYPE;
  };
  /** An argument's value, `directive` naming the directive it is given to (null: a field's). */
  const wholeValueRead = (value: ValueNode, type: GraphQLInputType | undefined, directive: string | null, argument: string) => {
    if (value.kind === Kind.VARIABLE) {
      if (!declared.has(value.name.value)) return false;
      if (!directive) return true;
      const condition = (directive === 'include' || directive === 'skip') && argument === 'if';
      return condition && declaredNonNull(value.name.value);
    }
    const listType = type && getNullableType(type);
    if (value.kind === Kind.LIST && !directive && isListType(listType)) {
      const itemType: GraphQLInputType = listType.ofType;
      return value.values.every((item) =>
        item.kind === Kind.VARIABLE
          ? declared.has(item.name.value) && (!isNonNullType(itemType) || declaredNonNull(item.name.value))
          : !holdsVariable(item),
      );
    }
    return !holdsVariable(value);
  };

  let reads = true;
  const spread = new Set<string>();
  const pending: (OperationDefinitionNode | FragmentDefinitionNode)[] = [operation];
  const typeInfo = new TypeInfo(schema);
  const visitor = visitWithTypeInfo(typeInfo, {
    FragmentSpread(node) {
      const fragment = fragments.get(node.name.value);
      if (fragment && !spread.has(node.name.value)) {
        spread.add(node.name.value);
        pending.push(fragment);
      }
    },
    Argument(node) {
      if (wholeValueRead(node.value, typeInfo.getInputType() ?? undefined, typeInfo.getDirective()?.name ?? null, node.name.value)) {
        return false; // its value is judged whole
      }
      reads = false;
      return BREAK;
    },
  });
  for (let next = pending.pop(); next && reads; next = pending.pop()) visit(next, visitor);
  return reads;
}

const holdsVariable = (value: ValueNode): boolean =>
  value.kind === Kind.VARIABLE ||
  (value.kind === Kind.LIST && value.values.some(holdsVariable)) ||
  (value.kind === Kind.OBJECT && value.fields.some((field) => holdsVariable(field.value)));

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
