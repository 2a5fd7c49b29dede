import type { Document } from 'yaml';
import { type PresetDefinition, type StrategyRegistry, samePresets } from '../registry/index.js';
import { parsePresetsFile } from './presets-file.js';
import { canonical, type ReadBack, refusedWrite as refused } from './read-back.js';
import { parseStoredConfig, type RuntimeConfig } from './schema.js';
import { parseConfigFile } from './yaml-document.js';

/**
 * The last look at a group's texts before they are written: each is read back as a restart would
 * read it and must hold what the group answered and audited. An edit of the YAML document that
 * missed (a hand-written `true:` key the library did not match) answered one thing and wrote
 * another, found only at the next restart (a different config in force, or exit 78). A mismatch is a
 * bug to stop at: the whole group is refused (503 CONFIG_WRITE_FAILED), nothing is written.
 * Once per group, not per writer. config.yaml edited from its document is checked in two halves:
 * here, the document's data holds the config (`checkConfigDocument`), and where the text is written,
 * the text reads as that data (read-back.ts); a config.yaml rendered anew and strategies.yaml are
 * read back here whole.
 */

/**
 * Throws ConfigWriteError unless the data `doc` holds reads (with `strategies` in force) as `config`;
 * returns that data, which the text rendered from `doc` must read back as (`checkReadBack`).
 */
export function checkConfigDocument(strategies: StrategyRegistry, file: string, doc: Document, config: RuntimeConfig): ReadBack {
  const meant = canonical(config);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 0 });
  } catch (err) {
    throw refused(file, `meant ${meant}; the document does not read: ${(err as Error).message}`, err);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw refused(file, `meant ${meant}; the document reads ${canonical(data)}, not a mapping`);
  const parsed = parseStoredConfig(strategies, data as Record<string, unknown>);
  if (!parsed.ok)
    throw refused(
      file,
      `meant ${meant}; the document does not read: ${parsed.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const got = canonical(parsed.config);
  if (meant !== got) throw refused(file, `meant ${meant}; the text reads ${got}`);
  return { file, data };
}

/** Throws ConfigWriteError when `text` does not read back (with `strategies` in force) as `config`. */
export function checkConfigText(strategies: StrategyRegistry, file: string, text: string, config: RuntimeConfig): void {
  let read: RuntimeConfig;
  try {
    read = parseConfigFile(strategies, file, text).config;
  } catch (err) {
    throw refused(file, `meant ${canonical(config)}; the text does not read: ${(err as Error).message}`, err);
  }
  const meant = canonical(config);
  const got = canonical(read);
  if (meant !== got) throw refused(file, `meant ${meant}; the text reads ${got}`);
}

/** Throws ConfigWriteError when `text` does not read back (against the static strategies) as `version` and `presets`. */
export function checkPresetsText(
  staticStrategies: StrategyRegistry,
  file: string,
  text: string,
  version: number,
  presets: readonly PresetDefinition[],
): void {
  const meant = `version ${version}, presets ${canonical(presets)}`;
  let read: ReturnType<typeof parsePresetsFile>;
  try {
    read = parsePresetsFile(staticStrategies, file, text);
  } catch (err) {
    throw refused(file, `meant ${meant}; the text does not read: ${(err as Error).message}`, err);
  }
  if (read.version !== version || !samePresets(read.presets, presets))
    throw refused(file, `meant ${meant}; the text reads version ${read.version}, presets ${canonical(read.presets)}`);
}
