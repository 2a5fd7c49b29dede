import { type FieldNode, type FragmentDefinitionNode, Kind, type SelectionSetNode } from 'graphql';

type RootSelection = SelectionSetNode['selections'][number];

/**
 * Every selection of an operation's root selection set, in order: its fields, and the inline
 * fragments and fragment spreads they sit in, through named fragments (each spread once), with
 * `@skip`/`@include` ignored: what a request may run, judged before its variables are. `fragment`
 * finds a named fragment (a validation context's, or the document's).
 */
export function rootSelections(
  set: SelectionSetNode,
  fragment: (name: string) => FragmentDefinitionNode | null | undefined,
): RootSelection[] {
  const selections: RootSelection[] = [];
  const seen = new Set<string>();
  const walk = (within: SelectionSetNode) => {
    for (const selection of within.selections) {
      selections.push(selection);
      if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (selection.kind === Kind.FRAGMENT_SPREAD && !seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const definition = fragment(selection.name.value);
        if (definition) walk(definition.selectionSet);
      }
    }
  };
  walk(set);
  return selections;
}

/** The fields of an operation's root selection set, in order (rootSelections' fields). */
export function rootFieldNodes(set: SelectionSetNode, fragment: (name: string) => FragmentDefinitionNode | null | undefined): FieldNode[] {
  return rootSelections(set, fragment).filter((s): s is FieldNode => s.kind === Kind.FIELD);
}
