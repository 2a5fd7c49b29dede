import {
  type ExecutionArgs,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  getOperationAST,
  Kind,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { AuthenticationError, ForbiddenError, type Scope } from '../../auth/identity.js';
import { callerHasScope, type GraphQLContext } from '../context.js';
import { extensionsFor } from '../errors.js';

function rootFields(
  set: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  seen: Set<string>,
  into: FieldNode[],
): FieldNode[] {
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) into.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) rootFields(selection.selectionSet, fragments, seen, into);
    else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = fragments.get(selection.name.value);
      if (fragment) rootFields(fragment.selectionSet, fragments, seen, into);
    }
  }
  return into;
}

/** The scope a root field's `authScopes` names (`{ scope: 'admin' }`), as the schema was built with it. */
function requiredScope(extensions: Readonly<Record<string, unknown>> | undefined | null): Scope | undefined {
  const options = extensions?.pothosOptions as { authScopes?: unknown } | undefined;
  const scopes = options?.authScopes;
  return scopes !== null && typeof scopes === 'object' && 'scope' in scopes ? ((scopes as { scope: Scope }).scope ?? undefined) : undefined;
}

type Refusal = { error: AuthenticationError | ForbiddenError; node: FieldNode };

/** The refusal scope-auth would give the first root field the caller may not run, or null. */
function refusal(args: ExecutionArgs): Refusal | null {
  const operation = getOperationAST(args.document, args.operationName ?? undefined);
  const root = operation ? args.schema.getRootType(operation.operation) : undefined;
  if (!operation || !root) return null;
  const context = args.contextValue as GraphQLContext;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of args.document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const fields = root.getFields();
  for (const node of rootFields(operation.selectionSet, fragments, new Set(), [])) {
    const name = node.name.value;
    // Introspection is a read like any other: with --reads-require-token it needs a token too.
    const scope = name === '__schema' || name === '__type' ? 'read' : requiredScope(fields[name]?.extensions);
    if (scope !== undefined && !callerHasScope(context, scope)) {
      return { error: context.identity ? new ForbiddenError(scope) : new AuthenticationError('missing'), node };
    }
  }
  return null;
}

// The error as scope-auth raises it on that field: its message, code, status, location and path.
const refused = ({ error, node }: Refusal) => ({
  data: null,
  errors: [
    new GraphQLError(error.message, {
      nodes: [node],
      path: [(node.alias ?? node.name).value],
      originalError: error,
      extensions: extensionsFor(error),
    }),
  ],
});

/**
 * The token and its scope before anything about the input, variables included. Scope-auth checks
 * a field as it resolves, and GraphQL coerces the variables before any field resolves: a caller
 * with no token who sent `scanIntervalSeconds: 1.5` heard 400 and what was wrong with it, not 401.
 * This checks the operation's root fields' scopes (the same rule, `callerHasScope`) before
 * execution starts and answers as scope-auth would; scope-auth still checks every field as before.
 * Introspection (`__schema`, `__type`) counts as a read: with --reads-require-token it answered
 * anyone.
 */
export function rootScopesPlugin(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const found = refusal(args);
      if (found) setResultAndStopExecution(refused(found));
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const found = refusal(args);
      if (found) setResultAndStopExecution(refused(found));
    },
  };
}
