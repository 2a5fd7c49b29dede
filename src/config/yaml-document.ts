import { Document, isMap, isScalar, LineCounter, parseDocument, YAMLMap } from 'yaml';
import type { StrategyRegistry } from '../registry/index.js';
import { snakeCase, toSnakeKeys } from './case.js';
import { ConfigFileError } from './errors.js';
import { parseStoredConfig, type RuntimeConfig } from './schema.js';

export interface ParsedConfigFile {
  readonly doc: Document;
  readonly config: RuntimeConfig;
}

// Anchors, aliases, merge keys and custom tags have no place in these files: refuse rather than expand them.
const PARSE_OPTIONS = { prettyErrors: true, uniqueKeys: true, merge: false, strict: true, schema: 'core' } as const;

function lineOf(counter: LineCounter, offset: number | undefined) {
  if (offset === undefined) return {};
  const pos = counter.linePos(offset);
  return { line: pos.line, column: pos.col };
}

/** A YAML text parsed for one of the runtime files: its document, its plain value, and where each node is. */
export interface YamlText {
  readonly doc: Document;
  readonly data: unknown;
  /**
   * The line (and column) to report an issue at: an unknown key at the key itself; anything else at
   * the deepest node of `path` that exists.
   */
  locate(path: readonly (string | number)[], unknownKey?: string): { line?: number; column?: number };
}

/**
 * Parses YAML text for a runtime file. Throws ConfigFileError (naming `subject`) for bad YAML
 * (syntax, duplicate keys, aliases), with lines.
 */
export function parseYamlText(file: string, text: string, subject: 'config' | 'presets' = 'config'): YamlText {
  const counter = new LineCounter();
  const doc = parseDocument(text, { ...PARSE_OPTIONS, lineCounter: counter });
  const yamlProblems = [...doc.errors, ...doc.warnings];
  if (yamlProblems.length > 0) {
    throw new ConfigFileError(
      file,
      yamlProblems.map((e) => ({
        line: e.linePos?.[0]?.line,
        column: e.linePos?.[0]?.col,
        message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
      })),
      subject,
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 0 });
  } catch (err) {
    throw new ConfigFileError(file, [{ message: `YAML aliases are not allowed here (${(err as Error).message})` }], subject);
  }
  const locate = (path: readonly (string | number)[], unknownKey?: string) => {
    let node: unknown;
    if (unknownKey !== undefined) {
      const parent = path.length ? doc.getIn(path, true) : doc.contents;
      if (isMap(parent)) node = parent.items.find((pair) => isScalar(pair.key) && pair.key.value === unknownKey)?.key;
    }
    for (let depth = path.length; node === undefined && depth > 0; depth--) node = doc.getIn(path.slice(0, depth), true) ?? undefined;
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    return lineOf(counter, range?.[0]);
  };
  return { doc, data, locate };
}

/** Parses and validates config text. Throws ConfigFileError naming line and problem. */
export function parseConfigFile(registry: StrategyRegistry, file: string, text: string): ParsedConfigFile {
  const { doc, data, locate } = parseYamlText(file, text);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigFileError(file, [
      { line: 1, message: 'the config must be a YAML mapping of settings (active_strategy_key: ..., ...)' },
    ]);
  }
  const parsed = parseStoredConfig(registry, data as Record<string, unknown>);
  if (!parsed.ok) {
    throw new ConfigFileError(
      file,
      parsed.issues.map((issue) => {
        const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
        return { ...locate(issue.path, issue.unknownKey), message: `${where}${issue.message}` };
      }),
    );
  }
  return { doc, config: parsed.config };
}

/** Writes a scalar in place when one is there, so an inline comment on it survives. */
export function setValue(doc: Document, path: readonly string[], value: unknown): void {
  const node = doc.getIn(path, true);
  if (isScalar(node)) node.value = value;
  else doc.setIn(path, value);
}

/**
 * Applies `config` to an existing document, touching only what differs: comments, key order and
 * formatting an operator put in the file by hand survive.
 */
export function applyConfigToDocument(doc: Document, before: RuntimeConfig, config: RuntimeConfig): void {
  for (const field of ['activeStrategyKey', 'tradingEnabled', 'scanIntervalSeconds', 'version', 'updatedAt'] as const) {
    if (doc.get(snakeCase(field)) === undefined || before[field] !== config[field]) setValue(doc, [snakeCase(field)], config[field]);
  }
  const key = snakeCase('tunableOverrides');
  let overrides = doc.get(key, true);
  if (!isMap(overrides)) {
    overrides = new YAMLMap();
    doc.set(key, overrides);
  }
  const map = overrides as YAMLMap;
  for (const strategyKey of Object.keys(before.tunableOverrides)) {
    if (!(strategyKey in config.tunableOverrides)) map.delete(strategyKey);
  }
  for (const [strategyKey, tunables] of Object.entries(config.tunableOverrides)) {
    const old = before.tunableOverrides[strategyKey] ?? {};
    for (const name of Object.keys(old)) if (!(name in tunables)) doc.deleteIn([key, strategyKey, name]);
    for (const [name, value] of Object.entries(tunables)) if (old[name] !== value) setValue(doc, [key, strategyKey, name], value);
  }
  for (const pair of map.items) if (isMap(pair.value)) pair.value.flow = false;
  map.flow = map.items.length === 0;
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
