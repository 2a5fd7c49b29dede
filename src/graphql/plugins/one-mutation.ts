import { type ASTVisitor, type FieldNode, GraphQLError, Kind, type SelectionSetNode, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** The mutation fields a selection set on Mutation holds, through fragments (`__typename` is no change). */
function mutationFields(set: SelectionSetNode, context: ValidationContext, seen: Set<string>, into: FieldNode[]): FieldNode[] {
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== '__typename') into.push(selection);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      mutationFields(selection.selectionSet, context, seen, into);
    } else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = context.getFragment(selection.name.value);
      if (fragment) mutationFields(fragment.selectionSet, context, seen, into);
    }
  }
  return into;
}

/**
 * One mutation field per operation. Mutation fields run one after another, each committed on its
 * own; there is no transaction around two of them. With two, a refused second one left the first
 * committed while the request was answered as refused (`data: null`, 4xx): a script told "nothing
 * changed" when the live strategy had. Refused here, before anything runs, so that a refused
 * request changes nothing (DESIGN, Errors). Counted with `@skip`/`@include` ignored: what a
 * request may run is judged before its variables are.
 */
export function oneMutationFieldRule(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(operation) {
      if (operation.operation !== 'mutation') return false;
      const fields = mutationFields(operation.selectionSet, context, new Set(), []);
      if (fields.length > 1) {
        const names = fields.map((f) => (f.alias ? `${f.alias.value}: ${f.name.value}` : f.name.value)).join(', ');
        context.reportError(
          new GraphQLError(
            `A mutation request may hold only one mutation field, and this one holds ${fields.length} (${names}): send each change in its own request, so that a refused one changes nothing.`,
            { nodes: fields, extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { spec: true, status: 400 } } },
          ),
        );
      }
      return false;
    },
  };
}

/** Adds the rule on every path into GraphQL (yoga's HTTP handling, the fast lane, SSE). */
export function oneMutationPlugin(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(oneMutationFieldRule);
    },
  };
}
