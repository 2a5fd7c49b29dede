import { Document, isMap, isScalar, parseDocument } from 'yaml';
import type { StrategyRegistry } from '../registry/index.js';
import { shownPath } from '../registry/shown-value.js';
import { applyYamlEdits, PARSE_OPTIONS, parseYaml, resolvePath, type YamlEdit, type YamlParseResult } from '../yaml/core.js';
import { YamlDeadlineError, type YamlParser } from '../yaml/off-thread.js';
import { snakeCase, toSnakeKeys } from './case.js';
import { digestOf } from './digest.js';
import { ConfigFileError } from './errors.js';
import { parseStoredConfig, type RuntimeConfig } from './schema.js';

export interface ParsedConfigFile {
  /** The document, for editing in this thread (parsed when first asked for: the file store edits in the parse worker). */
  readonly doc: Document;
  readonly config: RuntimeConfig;
}

/** A YAML text parsed for one of the runtime files: its plain value, where each node is, and (on demand) its document. */
export interface YamlText {
  /** Parsed in this thread when first asked for: the file store never asks (it edits in the parse worker). */
  readonly doc: Document;
  readonly data: unknown;
  /**
   * The line (and column) to report an issue at: an unknown key at the key itself; anything else at
   * the deepest node of `path` that exists.
   */
  locate(path: readonly (string | number)[], unknownKey?: string): { line?: number; column?: number };
  /** The keys of the mapping at `path` in the document's order; null when there is no mapping there. */
  keysOf(path: readonly (string | number)[]): readonly string[] | null;
}

/**
 * What the parse worker made of texts, by content digest. A store has a text parsed there first
 * (`parseOffThread`), then judges it here with `parseYamlText`, which takes the worker's result:
 * the YAML of a runtime file is never parsed on the event loop, and a text is parsed once.
 */
const offThread = new Map<string, YamlParseResult | YamlDeadlineError>();
const OFF_THREAD_KEPT = 8;

/** Parses `text` in the parse worker (within its deadline) for the next `parseYamlText` of the same text. */
export async function parseOffThread(text: string, yaml: YamlParser, deadlineMs?: number): Promise<void> {
  const digest = digestOf(text);
  if (offThread.has(digest)) return;
  let result: YamlParseResult | YamlDeadlineError;
  try {
    result = await yaml.parse(text, { deadlineMs });
  } catch (err) {
    if (!(err instanceof YamlDeadlineError)) throw err;
    result = err;
  }
  offThread.set(digest, result);
  for (const oldest of offThread.keys()) {
    if (offThread.size <= OFF_THREAD_KEPT) break;
    offThread.delete(oldest);
  }
}

/** Whether the parse worker's result for `text` is at hand (`parseYamlText` then takes it, not parsing again). */
export function parsedOffThread(text: string): boolean {
  return offThread.has(digestOf(text));
}

/** Where a text was read from: a runtime file, or an etcd key (`file` is then the key), as a refusal says it. */
export type TextSource = 'file' | 'key';

/**
 * Parses YAML text for a runtime file: the parse worker's result when the text went there first,
 * else in this thread (tests, the etcd store's small values). Throws ConfigFileError (naming
 * `subject`) for bad YAML (syntax, duplicate keys, aliases, a parse past its deadline), with lines.
 */
export function parseYamlText(file: string, text: string, subject: 'config' | 'presets' = 'config', source: TextSource = 'file'): YamlText {
  const result = offThread.get(digestOf(text)) ?? parseYaml(text);
  if (result instanceof YamlDeadlineError) {
    const what = source === 'key' ? `the value of ${file}` : 'the file';
    throw new ConfigFileError(file, [{ message: `${what} ${result.message}` }], subject);
  }
  if (!result.ok) throw new ConfigFileError(file, result.problems, subject);
  const { maps, positions } = result.locations;
  /** Where the entry at `path` is: its key (part 0) or its value (part 2). */
  const entryAt = (path: readonly (string | number)[], part: 0 | 2) => {
    if (path.length === 0) return undefined;
    const parent = JSON.stringify(path.slice(0, -1));
    const at = positions[parent];
    if (at === undefined) return undefined;
    const last = path[path.length - 1];
    const order = maps[parent];
    // A mapping's entry by its key (as the data reads it), a sequence's by its index.
    const i = order ? order.indexOf(String(last)) : typeof last === 'number' ? last : -1;
    const line = i >= 0 ? at[4 * i + part] : undefined;
    return line ? { line, column: at[4 * i + part + 1] as number } : undefined;
  };
  const locate = (path: readonly (string | number)[], unknownKey?: string) => {
    let at = unknownKey !== undefined ? entryAt([...path, unknownKey], 0) : undefined;
    for (let depth = path.length; at === undefined && depth > 0; depth--) at = entryAt(path.slice(0, depth), 2);
    return at ? { line: at.line, column: at.column } : {};
  };
  let doc: Document | undefined;
  return {
    get doc() {
      doc ??= parseDocument(text, PARSE_OPTIONS);
      return doc;
    },
    data: result.data,
    locate,
    keysOf: (path) => maps[JSON.stringify(path)] ?? null,
  };
}

/**
 * The document of config text that is in force: judged (parsed off the event loop, validated) when
 * it came into force, so only its document is built here, for a write to edit.
 */
export function inForceConfigDocument(text: string): Document {
  return parseDocument(text, PARSE_OPTIONS);
}

/** Parses and validates config text. Throws ConfigFileError naming line and problem. */
export function parseConfigFile(registry: StrategyRegistry, file: string, text: string, source: TextSource = 'file'): ParsedConfigFile {
  const yaml = parseYamlText(file, text, 'config', source);
  const { data, locate } = yaml;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigFileError(file, [
      { line: 1, message: 'the config must be a YAML mapping of settings (active_strategy_key: ..., ...)' },
    ]);
  }
  const parsed = parseStoredConfig(registry, data as Record<string, unknown>);
  if (!parsed.ok) {
    // Only what is reported is located (a file of 10,000 unknown keys has 10,000 issues).
    const problems = parsed.issues.slice(0, MAX_PROBLEMS + 1).map((issue) => {
      const where = issue.path.length ? `${shownPath(issue.path)}: ` : '';
      return { ...locate(issue.path, issue.unknownKey), message: `${where}${issue.message}` };
    });
    throw new ConfigFileError(file, capped(problems, parsed.total));
  }
  const config = parsed.config;
  return {
    get doc() {
      return yaml.doc;
    },
    config,
  };
}

/** Problems reported for one file: enough to fix it, never a megabyte of them. */
export const MAX_PROBLEMS = 20;
/** The first MAX_PROBLEMS of `total` problems, and one that says how many more there are. */
export function capped<T extends { message: string }>(problems: T[], total = problems.length): (T | { message: string })[] {
  if (total <= MAX_PROBLEMS) return problems;
  return [...problems.slice(0, MAX_PROBLEMS), { message: `... and ${total - MAX_PROBLEMS} more problems` }];
}

/** Writes a scalar in place when one is there, so an inline comment on it survives. Keys as the data reads them (see resolvePath). */
export function setValue(doc: Document, path: readonly string[], value: unknown): void {
  const at = resolvePath(doc, path);
  const node = doc.getIn(at, true);
  if (isScalar(node)) node.value = value;
  else doc.setIn(at, value);
}

/**
 * The edits that turn a document holding `before` into one holding `config`, touching only what
 * differs: comments, key order and formatting an operator put in the file by hand survive.
 */
export function configEdits(before: RuntimeConfig, config: RuntimeConfig): YamlEdit[] {
  const edits: YamlEdit[] = [];
  for (const field of ['activeStrategyKey', 'tradingEnabled', 'scanIntervalSeconds', 'version', 'updatedAt'] as const) {
    const path = [snakeCase(field)];
    edits.push(
      before[field] !== config[field] ? { op: 'set', path, value: config[field] } : { op: 'setIfMissing', path, value: config[field] },
    );
  }
  const key = snakeCase('tunableOverrides');
  edits.push({ op: 'ensureMap', path: [key] });
  // Own keys only: a strategy (a preset) or a tunable may be named `constructor` or `toString`, which
  // `in` finds on every object; the removal of such an override was answered and audited, not written.
  for (const strategyKey of Object.keys(before.tunableOverrides)) {
    if (!Object.hasOwn(config.tunableOverrides, strategyKey)) edits.push({ op: 'delete', path: [key, strategyKey] });
  }
  for (const [strategyKey, tunables] of Object.entries(config.tunableOverrides)) {
    const old = Object.hasOwn(before.tunableOverrides, strategyKey) ? before.tunableOverrides[strategyKey]! : {};
    for (const name of Object.keys(old)) if (!Object.hasOwn(tunables, name)) edits.push({ op: 'delete', path: [key, strategyKey, name] });
    for (const [name, value] of Object.entries(tunables))
      if (old[name] !== value) edits.push({ op: 'set', path: [key, strategyKey, name], value });
  }
  edits.push({ op: 'blockChildren', path: [key] }, { op: 'flowIfEmpty', path: [key] });
  return edits;
}

/** `configEdits` applied to a document in this thread (the etcd store); the file store applies them in the parse worker. */
export function applyConfigToDocument(doc: Document, before: RuntimeConfig, config: RuntimeConfig): void {
  applyYamlEdits(doc, configEdits(before, config));
}

const HEADER = [
  ' strategy-control-plane runtime config.',
  ' Changed through the API (activateStrategy, updateConfig) and hot-reloaded by the runner.',
  ' Hand edits are fine: they are validated, and an invalid file is refused and reported.',
].join('\n');

export function renderNewConfigFile(config: RuntimeConfig): string {
  const doc = new Document(toSnakeKeys(config));
  if (isMap(doc.contents)) doc.contents.flow = false;
  const overrides = doc.get(snakeCase('tunableOverrides'), true);
  if (isMap(overrides)) overrides.flow = overrides.items.length === 0;
  doc.commentBefore = HEADER;
  return doc.toString();
}
