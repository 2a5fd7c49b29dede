import { type ASTVisitor, GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { shownName } from '../../registry/shown-value.js';
import { rootFieldNodes } from '../root-fields.js';

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
      // `__typename` beside a mutation changes nothing.
      const fields = rootFieldNodes(operation.selectionSet, (name) => context.getFragment(name)).filter(
        (f) => f.name.value !== '__typename',
      );
      if (fields.length > 1) {
        // Names cut short and at most five (aliases are the client's: 3,000 characters of one left no room for the advice).
        const shown = fields.slice(0, 5).map((f) => (f.alias ? `${shownName(f.alias.value)}: ${f.name.value}` : f.name.value));
        const names = `${shown.join(', ')}${fields.length > 5 ? ', …' : ''}`;
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
