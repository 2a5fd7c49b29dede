import { Document, isMap, parseDocument } from 'yaml';
import type { StrategyRegistry } from '../registry/index.js';
import { applyYamlEdits, MAX_PROBLEMS, PARSE_OPTIONS, parseYamlText, type YamlEdit, type YamlParseResult } from '../yaml/core.js';
import { YamlDeadlineError, type YamlParser } from '../yaml/off-thread.js';
import { snakeCase, toSnakeKeys } from './case.js';
import { ConfigFileError } from './errors.js';
import { parseStoredConfig, type RuntimeConfig } from './schema.js';

export interface ParsedConfigFile {
  readonly doc: Document;
  readonly config: RuntimeConfig;
}

/** The schema stage: plain data from the YAML stage, validated against the strategies in force, problems at their lines. */
export function configFromYaml(registry: StrategyRegistry, file: string, result: YamlParseResult): RuntimeConfig {
  if (!result.ok) throw new ConfigFileError(file, result.problems);
  const { data, locations } = result;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigFileError(file, [
      { line: 1, message: 'the config must be a YAML mapping of settings (active_strategy_key: ..., ...)' },
    ]);
  }
  const parsed = parseStoredConfig(registry, data as Record<string, unknown>);
  if (parsed.ok) return parsed.config;
  const problems = parsed.issues.map((issue) => {
    const path = [...issue.path];
    // An unknown key is reported at the key itself; anything else at the deepest node that exists.
    let at = issue.unknownKey !== undefined ? locations.keys[JSON.stringify([issue.unknownKey])] : undefined;
    for (let depth = path.length; at === undefined && depth > 0; depth--) at = locations.values[JSON.stringify(path.slice(0, depth))];
    const where = path.length ? `${path.join('.')}: ` : '';
    return { ...(at && { line: at.line, column: at.column }), message: `${where}${issue.message}` };
  });
  throw new ConfigFileError(
    file,
    problems.length > MAX_PROBLEMS
      ? [...problems.slice(0, MAX_PROBLEMS), { message: `... and ${problems.length - MAX_PROBLEMS} more problems` }]
      : problems,
  );
}

/**
 * Parses and validates config text in this thread (tests, small texts already trusted). Throws
 * ConfigFileError naming line and problem. The file store parses off the event loop instead
 * (`parseConfigText`).
 */
export function parseConfigFile(registry: StrategyRegistry, file: string, text: string): ParsedConfigFile {
  const config = configFromYaml(registry, file, parseYamlText(text));
  return { doc: parseDocument(text, PARSE_OPTIONS), config };
}

/**
 * Parses and validates config text with the YAML stage in the parse worker (never on the event
 * loop, given up after its deadline: reported as the file's problem).
 */
export async function parseConfigText(
  registry: StrategyRegistry,
  file: string,
  text: string,
  yaml: YamlParser,
  deadlineMs?: number,
): Promise<RuntimeConfig> {
  let result: YamlParseResult;
  try {
    result = await yaml.parse(text, { deadlineMs });
  } catch (err) {
    if (err instanceof YamlDeadlineError) throw new ConfigFileError(file, [{ message: `the file ${err.message}` }]);
    throw err;
  }
  return configFromYaml(registry, file, result);
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
  for (const strategyKey of Object.keys(before.tunableOverrides)) {
    if (!(strategyKey in config.tunableOverrides)) edits.push({ op: 'delete', path: [key, strategyKey] });
  }
  for (const [strategyKey, tunables] of Object.entries(config.tunableOverrides)) {
    const old = before.tunableOverrides[strategyKey] ?? {};
    for (const name of Object.keys(old)) if (!(name in tunables)) edits.push({ op: 'delete', path: [key, strategyKey, name] });
    for (const [name, value] of Object.entries(tunables))
      if (old[name] !== value) edits.push({ op: 'set', path: [key, strategyKey, name], value });
  }
  edits.push({ op: 'blockChildren', path: [key] }, { op: 'flowIfEmpty', path: [key] });
  return edits;
}

/** `configEdits` applied to a parsed document in this thread. */
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
