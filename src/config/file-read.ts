import type { StrategyRegistry } from '../registry/index.js';
import { digestOf } from './digest.js';
import { ConfigFileError } from './errors.js';
import type { PresetsContent } from './presets-file.js';
import { judgeContent, judgeStoredPresets, NO_PRESETS_DIGEST, type PresetsJudgement } from './presets-judge.js';
import type { RuntimeConfig } from './schema.js';
import type { ConfigSnapshot, PresetsSnapshot } from './store.js';
import { parseConfigFile } from './yaml-document.js';

/** What one read of the file store's runtime dir means, judged against what is in force. */

/** The texts one read found (null: the file is missing). */
export interface DiskRead {
  readonly configText: string | null;
  readonly presetsText: string | null;
  /** The file is there but was refused before it was read (a FIFO, a directory, a link, too large): not missing. */
  readonly configRefused?: boolean;
  readonly presetsRefused?: boolean;
}

/** The presets on disk that are not in force: invalid (no content), or kept out (content that would break the config). */
export interface PresetsNotInForce {
  readonly digest: string;
  readonly error: ConfigFileError;
  readonly content?: PresetsContent;
}

export interface InForce {
  readonly config: ConfigSnapshot;
  readonly configInvalid: boolean;
  /** The invalid config content last judged: the same text again is not parsed again. */
  /** `strategies`: what it was judged against, when not the strategies in force (a commit changed them since). */
  readonly knownInvalidConfig?: { readonly digest: string; readonly error: ConfigFileError; readonly strategies?: StrategyRegistry } | null;
  /** The strategies in force (the config was judged against them). */
  readonly strategies?: StrategyRegistry;
  readonly presets: PresetsSnapshot;
  readonly presetsInvalid: PresetsNotInForce | null;
}

/** What the read says about config.yaml. */
export type ConfigStep =
  | { readonly kind: 'same' }
  | { readonly kind: 'missing' }
  | { readonly kind: 'invalid'; readonly digest: string; readonly error: ConfigFileError }
  | { readonly kind: 'valid' }
  | { readonly kind: 'changed'; readonly digest: string; readonly config: RuntimeConfig };

/** What the read says about strategies.yaml; null when it is the set in force and nothing is wrong. */
export type PresetsStep = { readonly digest: string; readonly judgement: PresetsJudgement } | null;

export function judgePresetsRead(
  staticStrategies: StrategyRegistry,
  files: { readonly config: string; readonly presets: string },
  read: DiskRead,
  inForce: InForce,
): PresetsStep {
  const text = read.presetsText;
  const digest = text === null ? NO_PRESETS_DIGEST : digestOf(text);
  if (digest === inForce.presets.digest && !inForce.presetsInvalid) return null;
  // The config beside them: the one on disk when it is valid with these presets (both edited at once), else the one in force.
  const configAfter = (strategies: StrategyRegistry): RuntimeConfig => {
    if (read.configText === null) return inForce.config.config;
    try {
      return parseConfigFile(strategies, files.config, read.configText).config;
    } catch {
      return inForce.config.config;
    }
  };
  const known = inForce.presetsInvalid?.digest === digest ? inForce.presetsInvalid : null;
  // Invalid text is not parsed again while it is unchanged; kept-out content is judged again (the config may have moved).
  if (known && !known.content) return { digest, judgement: { ok: false, error: known.error } };
  const judgement = known?.content
    ? judgeContent(staticStrategies, files.presets, text, known.content, configAfter)
    : judgeStoredPresets(staticStrategies, files.presets, text, configAfter);
  return { digest, judgement };
}

/** What config.yaml's text means against `strategies` (the ones about to be in force). */
export function judgeConfigRead(file: string, text: string | null, strategies: StrategyRegistry, inForce: InForce): ConfigStep {
  if (text === null) return { kind: 'missing' };
  const digest = digestOf(text);
  // Unchanged and valid: still valid with new presets, which are only put in force when they keep it so.
  if (digest === inForce.config.digest && !inForce.configInvalid) return { kind: 'same' };
  // Invalid and unchanged: not parsed again (the presets it was judged against may have changed: then it is).
  const known = inForce.knownInvalidConfig;
  if (known?.digest === digest && strategies === (known.strategies ?? inForce.strategies))
    return { kind: 'invalid', digest, error: known.error };
  let config: RuntimeConfig;
  try {
    config = parseConfigFile(strategies, file, text).config;
  } catch (err) {
    if (!(err instanceof ConfigFileError)) throw err;
    return { kind: 'invalid', digest, error: err };
  }
  return digest !== inForce.config.digest ? { kind: 'changed', digest, config } : { kind: 'valid' };
}
