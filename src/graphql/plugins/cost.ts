import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  GraphQLIncludeDirective,
  type GraphQLNamedType,
  type GraphQLSchema,
  GraphQLSkipDirective,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { COST_LIMITS } from '../../limit-defaults.js';
import { argumentGiven, LAST_MAX_EXTENSION } from '../schema/list-args.js';
import type { OnDocumentRefusal } from './refusal.js';

export type CostLimits = { -readonly [K in keyof typeof COST_LIMITS]: number };

/** 2 per object, 1 per scalar, x1.5 per level (GraphQL Armor's weights, which the README documented). */
const OBJECT_COST = 2;
const SCALAR_COST = 1;
const DEPTH_FACTOR = 1.5;
/** Arguments that say how many items a list field returns. */
export const LIST_SIZE_ARGUMENTS = ['first', 'last'] as const;

export interface ListSize {
  /** `Query.auditLog` */
  readonly field: string;
  readonly argument: string;
  /** The size asked for, after variables and defaults; null when neither says (then the caller's largest is assumed). */
  readonly size: number | null;
  /** The argument's own maximum (its `lastMax` extension), under any caller's limit; none stated: none. */
  readonly max?: number;
}

export interface OperationCost {
  readonly cost: number;
  readonly lists: readonly ListSize[];
}

/**
 * The cost of one operation as it will execute: fields collected the way execution collects them
 * (fragments merged by response key, `@skip`/`@include` applied), each list field's cost multiplied
 * by its `first`/`last` as coerced from the literal or the variable, or left out, the argument's default
 * at most the caller's list limit (as the resolvers apply it: list-args.ts `lastOf`). Pure:
 * the same rule for the server's per-request check and for the test over `operations/`.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  options: {
    operationName?: string | null;
    /** Coerced variable values (a variable left out falls back to its default, as in execution). */
    variables?: Readonly<Record<string, unknown>>;
    /** The caller's list limit: the multiplier for a list whose size nothing gives, and the most a left-out size counts as. */
    unknownListSize: number;
  },
): OperationCost {
  const operation = getOperationAST(document, options.operationName ?? undefined);
  if (!operation) return { cost: 0, lists: [] };
  const variables = withVariableDefaults(schema, operation, options.variables ?? {});
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const lists: ListSize[] = [];

  const included = (node: { directives?: readonly unknown[] }) => {
    if (!node.directives?.length) return true;
    try {
      const skip = getDirectiveValues(GraphQLSkipDirective, node as FieldNode, variables);
      if (skip?.if === true) return false;
      const include = getDirectiveValues(GraphQLIncludeDirective, node as FieldNode, variables);
      return include?.if !== false;
    } catch {
      // `if` names a variable left out or one that does not coerce: execution refuses it (400,
      // BAD_USER_INPUT), as for any argument; costed as included meanwhile. Thrown from here, the
      // error reached the client as a 200 without a code, a mutation's refusal too.
      return true;
    }
  };

  /** Fields by response key, as execution merges them (each fragment at most once per selection). */
  const collect = (sets: readonly SelectionSetNode[]): Map<string, FieldNode[]> => {
    const fields = new Map<string, FieldNode[]>();
    const visited = new Set<string>();
    const walk = (set: SelectionSetNode) => {
      for (const selection of set.selections) {
        if (!included(selection)) continue;
        if (selection.kind === Kind.FIELD) {
          const key = selection.alias?.value ?? selection.name.value;
          const list = fields.get(key);
          if (list) list.push(selection);
          else fields.set(key, [selection]);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          walk(selection.selectionSet);
        } else {
          const name = selection.name.value;
          if (visited.has(name)) continue;
          visited.add(name);
          const fragment = fragments.get(name);
          if (fragment) walk(fragment.selectionSet);
        }
      }
    };
    for (const set of sets) walk(set);
    return fields;
  };

  const sizeOf = (type: GraphQLNamedType, nodes: FieldNode[]): number => {
    if (!isObjectType(type)) return 1;
    const definition = type.getFields()[nodes[0]!.name.value];
    if (!definition) return 1;
    let multiplier = 1;
    for (const name of LIST_SIZE_ARGUMENTS) {
      const argument = definition.args.find((a) => a.name === name);
      if (!argument) continue;
      let size: number | null = null;
      try {
        const value = getArgumentValues(definition, nodes[0]!, variables)[name];
        // Left out, a list's size is its default at most the caller's limit (list-args.ts `lastOf`, as the resolvers apply it).
        size =
          typeof value === 'number' && argumentGiven(nodes[0]!, name, variables)
            ? value
            : typeof argument.defaultValue === 'number'
              ? Math.min(argument.defaultValue, options.unknownListSize)
              : null;
      } catch {
        size = null; // a value execution will refuse anyway
      }
      const max = argument.extensions[LAST_MAX_EXTENSION];
      lists.push({ field: `${type.name}.${definition.name}`, argument: name, size, ...(typeof max === 'number' && { max }) });
      multiplier = Math.max(multiplier, size ?? options.unknownListSize, 1);
    }
    return multiplier;
  };

  const costOf = (type: GraphQLNamedType, sets: readonly SelectionSetNode[]): number => {
    let total = 0;
    for (const nodes of collect(sets).values()) {
      const name = nodes[0]!.name.value;
      // Introspection answers from the schema, whose size is fixed (and production mode refuses it).
      if (name === '__schema' || name === '__type') continue;
      const definition = isObjectType(type) ? type.getFields()[name] : undefined;
      const subsets = nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
      if (!definition || subsets.length === 0) {
        total += SCALAR_COST;
        continue;
      }
      total += sizeOf(type, nodes) * (OBJECT_COST + DEPTH_FACTOR * costOf(getNamedType(definition.type), subsets));
    }
    return total;
  };

  const root = schema.getRootType(operation.operation);
  return { cost: root ? costOf(root, [operation.selectionSet]) : 0, lists };
}

/** Variables as execution sees them: coerced where they coerce, defaults for those left out. */
function withVariableDefaults(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  given: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], given, { maxErrors: 50 });
  if (coerced.coerced) return coerced.coerced;
  // Some variable does not coerce (execution will refuse it): cost the rest as they are given.
  const values: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    const alone = getVariableValues(schema, [definition], Object.hasOwn(given, name) ? { [name]: given[name] } : {});
    if (alone.coerced && Object.hasOwn(alone.coerced, name)) values[name] = alone.coerced[name];
  }
  return values;
}

interface CallerContext {
  readonly identity?: unknown;
}

/**
 * A JSON.stringify replacer that throws where two different values would give the same text
 * (undefined, -0, a non-finite number, a function, a class instance such as a Date): such
 * variables are costed every time instead of sharing an answer with others.
 */
function exactJson(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  switch (typeof original) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(original) && !Object.is(original, -0)) return value;
      break;
    case 'object':
      if (original === null || Array.isArray(original)) return value;
      if (Object.getPrototypeOf(original) === Object.prototype || Object.getPrototypeOf(original) === null) return value;
      break;
  }
  throw new TypeError('not exact JSON');
}

/** Cost answers kept per document (a client repeats its requests: the same document and variables). */
export const COST_CACHE_PER_DOCUMENT = 16;
/** Requests whose variables (as JSON) are longer are costed every time: the cache stays small. */
export const COST_CACHE_MAX_KEY_CHARS = 1024;

/**
 * `operationCost`, remembered by what it depends on: the schema, the document (parsed once per text
 * by the document cache, so the same object for a repeated request), the operation name, the
 * variables exactly as given and the caller's list limit. Nothing else goes in, so a hit is the
 * answer the walk would give; every request is still checked against its own variables and limits.
 * Held by the document, weakly: an answer lives only as long as the caches that parsed it keep the
 * document (a cache of its own holding documents pinned 300 distinct 60 KB documents from a client
 * without a token, 22 MB: test/e2e/parse-cache.test.ts), and at most `perDocument` per document.
 */
export function costCache(perDocument = COST_CACHE_PER_DOCUMENT): typeof operationCost {
  const byDocument = new WeakMap<DocumentNode, { schema: GraphQLSchema; costs: Map<string, OperationCost> }>();
  return (schema, document, options) => {
    let key: string | undefined;
    try {
      // undefined and null both mean "no operationName" to getOperationAST; '' names none.
      key = JSON.stringify([options.unknownListSize, options.operationName ?? null, options.variables ?? null], exactJson);
    } catch {
      key = undefined; // values JSON cannot say exactly (not from a JSON body): costed every time
    }
    if (key === undefined || key.length > COST_CACHE_MAX_KEY_CHARS) return operationCost(schema, document, options);
    let known = byDocument.get(document);
    if (known?.schema !== schema) {
      known = { schema, costs: new Map() };
      byDocument.set(document, known);
    }
    const hit = known.costs.get(key);
    if (hit) return hit;
    const cost = operationCost(schema, document, options);
    known.costs.set(key, cost);
    if (known.costs.size > perDocument) known.costs.delete(known.costs.keys().next().value as string);
    return cost;
  };
}

/**
 * The document's cost and list sizes, checked for every execution (query, mutation, each
 * subscription) after its variables are coerced: never part of a cached validation, so a variable
 * cannot hide what a literal would show. Over the limit (5,000 without a token, 20,000 with one;
 * `first`/`last` at most 100 / 1,000): refused before any resolver runs, BAD_USER_INPUT, HTTP 400.
 */
export function costPlugin(options: { limits?: Partial<CostLimits>; onRefusal?: OnDocumentRefusal } = {}): Plugin {
  const limits: CostLimits = { ...COST_LIMITS, ...options.limits };
  const costOf = costCache();
  const check = (args: {
    schema: GraphQLSchema;
    document: DocumentNode;
    operationName?: string | null;
    variableValues?: unknown;
    contextValue: unknown;
  }): GraphQLError | null => {
    const withToken = Boolean((args.contextValue as CallerContext | undefined)?.identity);
    const maxCost = withToken ? limits.maxCostWithToken : limits.maxCost;
    const maxList = withToken ? limits.maxListSizeWithToken : limits.maxListSize;
    const { cost, lists } = costOf(args.schema, args.document, {
      operationName: args.operationName,
      variables: (args.variableValues ?? {}) as Record<string, unknown>,
      unknownListSize: maxList,
    });
    const tooLong = lists.find((l) => l.size !== null && l.size > maxList);
    if (tooLong) {
      options.onRefusal?.('list-size');
      // What a token would allow, where it allows more: configHistory's own 100 was promised as "1000 with a token".
      const withTokenMax = Math.min(limits.maxListSizeWithToken, tooLong.max ?? Number.POSITIVE_INFINITY);
      const other = withToken || withTokenMax <= maxList ? '' : ` (${withTokenMax} with a token)`;
      return new GraphQLError(`Invalid ${tooLong.argument}: at most ${maxList}${other}, got ${tooLong.size}`, {
        extensions: { code: 'BAD_USER_INPUT', http: { status: 400 }, field: tooLong.field, maxListSize: maxList },
      });
    }
    if (cost > maxCost) {
      options.onRefusal?.('cost');
      const other = withToken ? '' : ` without a token (${limits.maxCostWithToken} with one)`;
      return new GraphQLError(`Query cost ${Math.ceil(cost)} is over the limit of ${maxCost}${other}`, {
        extensions: { code: 'BAD_USER_INPUT', http: { status: 400 }, cost: Math.ceil(cost), maxCost },
      });
    }
    return null;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const refusal = check(args);
      if (refusal) setResultAndStopExecution({ errors: [refusal] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refusal = check(args);
      if (refusal) setResultAndStopExecution({ errors: [refusal] });
    },
  };
}
