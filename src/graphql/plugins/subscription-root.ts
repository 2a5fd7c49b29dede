import { type DocumentNode, GraphQLError, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { rootSelections } from '../root-fields.js';

/** The refusal's words (tests say them). */
export const SUBSCRIPTION_ROOT_DIRECTIVES =
  'A subscription may not put @skip or @include on its root fields (the GraphQL specification refuses it: what is subscribed to must not depend on variables)';

const CONDITIONAL = new Set(['skip', 'include']);

/**
 * The GraphQL specification's rule (Subscription Operation Definitions, "Single root field"): no
 * `@skip` or `@include` on a subscription's root selections, through fragments. graphql 16 does not
 * check it: a root field skipped left nothing to subscribe to and its `subscribe` threw ("undefined
 * is not iterable"), answered 500 "Unexpected error." to anyone; with a variable, its own
 * single-field rule judged the directive without the variables and refused a valid request with
 * "variable was not provided".
 */
export function subscriptionRootDirectivesError(document: DocumentNode): GraphQLError | null {
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  for (const operation of document.definitions) {
    if (operation.kind !== Kind.OPERATION_DEFINITION || operation.operation !== 'subscription') continue;
    const conditional = rootSelections(operation.selectionSet, (name) => fragments.get(name)).some((selection) =>
      selection.directives?.some((d) => CONDITIONAL.has(d.name.value)),
    );
    if (conditional)
      return new GraphQLError(SUBSCRIPTION_ROOT_DIRECTIVES, {
        nodes: [operation],
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { spec: true, status: 400 } },
      });
  }
  return null;
}

/**
 * Checked before the other validation rules, on every path into GraphQL (yoga's HTTP handling, the
 * fast lane, SSE): graphql 16's own single-field rule throws on such a document with a variable
 * before any rule after it could say why.
 */
export function subscriptionRootPlugin(): Plugin {
  return {
    onValidate({ params, setResult }) {
      const error = subscriptionRootDirectivesError(params.documentAST);
      if (error) setResult([error]);
    },
  };
}
