import { type PresetDefinition, type StrategyRegistry, samePresets } from '../registry/index.js';
import { ConfigWriteError } from './errors.js';
import { parsePresetsFile } from './presets-file.js';
import type { RuntimeConfig } from './schema.js';
import { parseConfigFile } from './yaml-document.js';

/**
 * The last look at a group's texts before they are written: each is read back as a restart would
 * read it and must hold what the group answered and audited. An edit of the YAML document that
 * missed (a hand-written `true:` key the library did not match) answered one thing and wrote
 * another, found only at the next restart (a different config in force, or exit 78). A mismatch is a
 * bug to stop at: the whole group is refused (503 CONFIG_WRITE_FAILED), nothing is written.
 * Once per group, not per writer: one parse of each text written (well under a millisecond for a
 * config.yaml of a few overrides).
 */

/** What a text read back differs in, with both sides, for the server log. */
export class WrittenTextMismatchError extends Error {
  override name = 'WrittenTextMismatchError';
}

/** Keys sorted at every level: the file's order of overrides is not what is compared. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

const refused = (file: string, detail: string, cause?: unknown) =>
  new ConfigWriteError(`check before write: ${file} would not read back as the change`, undefined, {
    cause: new WrittenTextMismatchError(detail, cause === undefined ? undefined : { cause }),
  });

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
