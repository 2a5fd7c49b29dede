import { type Document, isMap, isNode, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, visit, YAMLMap } from 'yaml';

/**
 * The YAML stage of reading a runtime file (config, presets, tokens), the same in the parse worker
 * and in process: a YAML 1.2 core-schema document, no anchors, aliases, merge keys or custom tags,
 * keys unique (checked in linear time), turned into plain data. Pure functions of the text.
 */

/** One problem, where it is. */
export interface YamlProblem {
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

/** Positions by path (`JSON.stringify(path)`), for reporting a schema problem at its line. */
export interface YamlLocations {
  /** The keys of each mapping, in the document's order (an object's own order puts integer-like keys first). */
  readonly maps: Readonly<Record<string, readonly string[]>>;
  /**
   * Where the entries of each mapping or sequence are, in the document's order: entry i's key at
   * line [4i], column [4i + 1], its value at [4i + 2], [4i + 3] (0: none, as for a sequence item's
   * key). Every entry's, wherever it is: a report names a file's first problems, which may be its
   * last lines (lines kept for the first 1,000 nodes alone put a problem in the 200th preset of a
   * 40 KB file at line 3). One typed array a collection: copied whole to the thread that locates.
   */
  readonly positions: Readonly<Record<string, Int32Array>>;
}

export type YamlParseResult =
  | { readonly ok: true; readonly data: unknown; readonly locations: YamlLocations }
  | { readonly ok: false; readonly problems: readonly YamlProblem[] };

/** Problems reported for one file: enough to fix it, never a megabyte of them. */
export const MAX_PROBLEMS = 20;
/** Paths deeper than this get no line of their own (every runtime file's schema is shallower). */
const LOCATION_DEPTH = 4;

// uniqueKeys is ours (linear); the library's own check compares every pair of keys in a map.
const YAML_TAG_PREFIX = 'tag:yaml.org,2002:';
/** YAML 1.1 types the parser still resolves when a file names them explicitly. */
const NOT_PLAIN_TAGS = new Set(['binary', 'timestamp', 'set', 'omap', 'pairs'].map((t) => `${YAML_TAG_PREFIX}${t}`));

export const PARSE_OPTIONS = { prettyErrors: true, uniqueKeys: false, merge: false, strict: true, schema: 'core' } as const;

/**
 * A mapping key as the data reads it: `toJS` turns every scalar key into its text, so `true:` and
 * `"true":` (or `1:` and `"1":`) are the same key there and so must be here.
 */
const keyOf = (node: unknown): string | null => (isScalar(node) ? String(node.value) : null);

/** Mapping keys that repeat, in one pass over the document: O(nodes). */
export function duplicateKeys(doc: Document): Node[] {
  const duplicates: Node[] = [];
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = keyOf(pair.key);
        if (key !== null) {
          if (seen.has(key)) duplicates.push(pair.key as Node);
          else seen.add(key);
        }
        stack.push(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(isPair(item) ? item.value : item);
    }
  }
  return duplicates;
}

/**
 * The parser's words for a programmer ("please use YAML.parseAllDocuments()", "Maximum call stack
 * size exceeded"), said for the person who edits the file.
 */
const OPERATOR_WORDS: Partial<Record<string, string>> = {
  MULTIPLE_DOCS: 'the file holds more than one YAML document (a second "---" or "..."): a runtime file is one document',
  RESOURCE_EXHAUSTION: 'nested too deeply: lists and maps inside each other far beyond what any runtime file holds',
};

const firstLine = (message: string) => (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');

function capped(problems: YamlProblem[]): YamlProblem[] {
  if (problems.length <= MAX_PROBLEMS) return problems;
  return [...problems.slice(0, MAX_PROBLEMS), { message: `... and ${problems.length - MAX_PROBLEMS} more problems` }];
}

function locationsOf(doc: Document, counter: LineCounter): YamlLocations {
  const maps: Record<string, string[]> = {};
  const positions: Record<string, Int32Array> = {};
  const put = (into: Int32Array, at: number, node: unknown) => {
    const offset = (node as { range?: [number, number, number] } | null)?.range?.[0];
    if (offset === undefined) return;
    const pos = counter.linePos(offset);
    into[at] = pos.line;
    into[at + 1] = pos.col;
  };
  const walk = (node: unknown, path: (string | number)[]) => {
    if (path.length >= LOCATION_DEPTH) return;
    if (isMap(node)) {
      // Every key, in order (what the file means), and where each entry is.
      const id = JSON.stringify(path);
      const order: string[] = [];
      const at = new Int32Array(node.items.length * 4);
      maps[id] = order;
      positions[id] = at;
      node.items.forEach((pair, i) => {
        const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        order.push(name);
        put(at, 4 * i, pair.key);
        put(at, 4 * i + 2, pair.value);
        walk(pair.value, [...path, name]);
      });
    } else if (isSeq(node)) {
      const at = new Int32Array(node.items.length * 4);
      positions[JSON.stringify(path)] = at;
      node.items.forEach((item, i) => {
        put(at, 4 * i + 2, item);
        walk(item, [...path, i]);
      });
    }
  };
  walk(doc.contents, []);
  return { maps, positions };
}

/** Parses YAML text into plain data, or says what is wrong and where (at most MAX_PROBLEMS problems). */
export function parseYaml(text: string): YamlParseResult {
  const counter = new LineCounter();
  const doc = parseDocument(text, { ...PARSE_OPTIONS, lineCounter: counter });
  const problems: YamlProblem[] = [...doc.errors, ...doc.warnings].map((e) => ({
    line: e.linePos?.[0]?.line,
    column: e.linePos?.[0]?.col,
    message: OPERATOR_WORDS[e.code] ?? firstLine(e.message),
  }));
  // Tags that make something other than plain data (a Buffer, a Date, a Set, a Map): the files hold
  // text, numbers, booleans, lists and maps only, and such a value was refused as `{}` later.
  visit(doc, {
    Node(_key, node) {
      const tag = (node as { tag?: string }).tag;
      if (tag === undefined || !NOT_PLAIN_TAGS.has(tag)) return;
      const offset = (node as { range?: [number, number, number] }).range?.[0];
      const pos = offset === undefined ? undefined : counter.linePos(offset);
      problems.push({
        line: pos?.line,
        column: pos?.col,
        message: `YAML tag !!${tag.slice(YAML_TAG_PREFIX.length)} is not allowed here: write the value as plain text, a number, true or false, a list or a map`,
      });
    },
  });
  // A key YAML reads as null (`null:`, `~:`, or none before the colon) becomes "" in the data: a
  // file said `null:` and was refused as `unknown strategy ""`. Said here, where it is.
  visit(doc, {
    Pair(_key, pair) {
      if (pair.key !== null && !(isScalar(pair.key) && pair.key.value === null)) return;
      const offset = ((pair.key ?? pair.value) as { range?: [number, number, number] } | null)?.range?.[0];
      const pos = offset === undefined ? undefined : counter.linePos(offset);
      problems.push({
        line: pos?.line,
        column: pos?.col,
        message:
          'a mapping key YAML reads as null (null, ~ or nothing before the colon): write a key in quotes ("null") if that is the name',
      });
    },
  });
  for (const key of duplicateKeys(doc)) {
    const offset = (key as { range?: [number, number, number] }).range?.[0];
    const pos = offset === undefined ? undefined : counter.linePos(offset);
    problems.push({ line: pos?.line, column: pos?.col, message: 'Map keys must be unique' });
  }
  if (problems.length > 0) return { ok: false, problems: capped(problems) };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 0 });
  } catch (err) {
    // Where: each alias (`*name`, `<<: *name`), so a large file need not be searched by hand.
    const aliases: YamlProblem[] = [];
    visit(doc, {
      Alias(_key, node) {
        const pos = node.range ? counter.linePos(node.range[0]) : undefined;
        aliases.push({
          line: pos?.line,
          column: pos?.col,
          message: `YAML aliases are not allowed here (*${node.source}): write the value out`,
        });
      },
    });
    if (aliases.length === 0)
      aliases.push({ message: `YAML aliases are not allowed here: write the value out (${(err as Error).message})` });
    return { ok: false, problems: capped(aliases) };
  }
  return { ok: true, data, locations: locationsOf(doc, counter) };
}

/**
 * One edit of a document that keeps what a person wrote around it (comments, key order, quoting).
 * `set` writes a scalar in place when one is there (its inline comment survives); `setIfMissing`
 * only adds; `ensureMap` replaces a non-map with an empty map; `block`/`flowIfEmpty` set the style.
 */
export type YamlEdit =
  | { readonly op: 'set'; readonly path: readonly (string | number)[]; readonly value: unknown }
  | { readonly op: 'setIfMissing'; readonly path: readonly (string | number)[]; readonly value: unknown }
  | { readonly op: 'delete'; readonly path: readonly (string | number)[] }
  | { readonly op: 'ensureMap'; readonly path: readonly (string | number)[] }
  | { readonly op: 'blockChildren'; readonly path: readonly (string | number)[] }
  | { readonly op: 'flowIfEmpty'; readonly path: readonly (string | number)[] };

/**
 * `path` with each mapping key as the document holds it. The data (`toJS`) reads every scalar key as
 * its text, but the library finds a key by `===` on the scalar's value: a hand-written `true:` (a
 * boolean) was missed by an edit of the strategy "true", which then deleted nothing or added a
 * second `"true":` beside it: the answer and the audit said one thing, the file another. Keys not
 * there stay as given (an edit adds them).
 */
export function resolvePath(doc: Document, path: readonly (string | number)[]): unknown[] {
  const resolved: unknown[] = [];
  let node: unknown = doc.contents;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => keyOf(p.key) === String(segment));
      if (pair && isScalar(pair.key)) {
        resolved.push(pair.key.value);
        node = pair.value;
        continue;
      }
    } else if (isSeq(node) && typeof segment === 'number') {
      resolved.push(segment);
      node = node.items[segment];
      continue;
    }
    resolved.push(segment);
    node = undefined;
  }
  return resolved;
}

/** Applies edits to a parsed document, in order. */
export function applyYamlEdits(doc: Document, edits: readonly YamlEdit[]): void {
  for (const edit of edits) {
    const path = resolvePath(doc, edit.path);
    switch (edit.op) {
      case 'set': {
        const node = doc.getIn(path, true);
        if (isScalar(node)) node.value = edit.value;
        else doc.setIn(path, edit.value);
        break;
      }
      case 'setIfMissing':
        if (doc.getIn(path) === undefined) doc.setIn(path, edit.value);
        break;
      case 'delete':
        doc.deleteIn(path);
        break;
      case 'ensureMap': {
        const node = doc.getIn(path, true);
        if (isMap(node)) break;
        // Of the document's schema: a bare `new YAMLMap()` could not take the nested maps the next
        // `setIn` makes ("Expected YAML collection"): a file with `tunable_overrides:` empty or all
        // commented out turned every override update into a 500. What was written there stays.
        const map = new YAMLMap(doc.schema);
        const said = [isNode(node) ? node.commentBefore : undefined, isNode(node) ? node.comment : undefined].filter(
          (c): c is string => typeof c === 'string' && c !== '',
        );
        if (said.length > 0) map.commentBefore = said.join('\n');
        doc.setIn(path, map);
        break;
      }
      case 'blockChildren': {
        const map = doc.getIn(path, true);
        if (isMap(map)) for (const pair of map.items) if (isMap(pair.value)) pair.value.flow = false;
        break;
      }
      case 'flowIfEmpty': {
        const map = doc.getIn(path, true);
        if (isMap(map)) map.flow = map.items.length === 0;
        break;
      }
    }
  }
}

/** Applies edits to YAML text (which parses: it was read and validated before). */
export function editYamlText(text: string, edits: readonly YamlEdit[]): string {
  const doc = parseDocument(text, PARSE_OPTIONS);
  if (doc.errors.length > 0) throw new Error(`cannot edit YAML that does not parse: ${firstLine(doc.errors[0]!.message)}`);
  applyYamlEdits(doc, edits);
  return doc.toString();
}
