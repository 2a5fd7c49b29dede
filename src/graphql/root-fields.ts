import { type FieldNode, type FragmentDefinitionNode, Kind, type SelectionSetNode } from 'graphql';

/**
 * The fields an operation's root selection set holds, in order, through inline fragments and named
 * fragments (each spread once), with `@skip`/`@include` ignored: what a request may run, judged
 * before its variables are. `fragment` finds a named fragment (a validation context's, or the
 * document's).
 */
export function rootFieldNodes(set: SelectionSetNode, fragment: (name: string) => FragmentDefinitionNode | null | undefined): FieldNode[] {
  const fields: FieldNode[] = [];
  const seen = new Set<string>();
  const walk = (selections: SelectionSetNode) => {
    for (const selection of selections.selections) {
      if (selection.kind === Kind.FIELD) fields.push(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const definition = fragment(selection.name.value);
        if (definition) walk(definition.selectionSet);
      }
    }
  };
  walk(set);
  return fields;
}
