import { type ExecutionArgs, type FieldNode, type FragmentDefinitionNode, getOperationAST, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AuthenticationError, ForbiddenError, Scope } from '../../auth/identity.js';
import { type GraphQLContext, scopeRefusal } from '../context.js';
import { refusalError } from '../errors.js';
import { rootFieldNodes } from '../root-fields.js';

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
  for (const node of rootFieldNodes(operation.selectionSet, (name) => fragments.get(name))) {
    const name = node.name.value;
    // Introspection is a read like any other: with --reads-require-token it needs a token too.
    const scope = name === '__schema' || name === '__type' ? 'read' : requiredScope(fields[name]?.extensions);
    const error = scope === undefined ? null : scopeRefusal(context, scope);
    if (error) return { error, node };
  }
  return null;
}

// The error as scope-auth raises it on that field: its message, code, status, location and path.
const refused = ({ error, node }: Refusal) => ({
  data: null,
  errors: [refusalError(error, { nodes: [node], path: [(node.alias ?? node.name).value] })],
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
