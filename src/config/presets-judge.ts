import { type PresetDefinition, presetChanges, type StrategyRegistry, strategySetOf } from '../registry/index.js';
import { shownPath } from '../registry/shown-value.js';
import { type AuditEntry, skipped } from './audit-entry.js';
import { digestOf } from './digest.js';
import { ConfigFileError } from './errors.js';
import { type PresetsContent, parsePresetsFile } from './presets-file.js';
import { configIssuesWith, type RuntimeConfig } from './schema.js';
import type { PresetsCommitResult, PresetsSnapshot } from './store.js';

/**
 * What a store concludes from stored presets text: pure functions, so the file store and the etcd
 * store (every replica) judge the same text the same way and number it the same.
 */

/** The digest of no presets text (a missing file or key): the same as an empty one, which also means no presets. */
export const NO_PRESETS_DIGEST = digestOf('');

export type PresetsJudgement =
  | { readonly ok: true; readonly content: PresetsContent; readonly strategies: StrategyRegistry }
  /** `content` is set when the text was valid but kept out (it would break the config). */
  | { readonly ok: false; readonly error: ConfigFileError; readonly content?: PresetsContent };

/**
 * Judges stored presets text (null: none) before it is put in force: it must parse and check
 * against the static strategies, and must not remove or invalidate a strategy that the config
 * uses. `configAfter(strategies)` is the config that would be in force beside it (a store passes
 * the stored config when that is valid against these strategies, so an edit of both at once goes
 * through; otherwise the config in force).
 */
export function judgeStoredPresets(
  strategies: StrategyRegistry,
  location: string,
  text: string | null,
  configAfter: (strategies: StrategyRegistry) => RuntimeConfig,
): PresetsJudgement {
  let content: PresetsContent;
  try {
    content = parsePresetsFile(strategies, location, text);
  } catch (err) {
    if (err instanceof ConfigFileError) return { ok: false, error: err };
    throw err;
  }
  return judgeContent(strategies, location, text, content, configAfter);
}

/** The second half of judgeStoredPresets, for content already parsed (a store that kept it out re-judges it when the config changes). */
export function judgeContent(
  strategies: StrategyRegistry,
  location: string,
  text: string | null,
  content: PresetsContent,
  configAfter: (strategies: StrategyRegistry) => RuntimeConfig,
): PresetsJudgement {
  const next = strategySetOf(strategies, content.presets);
  const issues = configIssuesWith(next, configAfter(next));
  if (issues.length === 0) return { ok: true, content, strategies: next };
  const what = text === null ? 'removing the presets (the file or key is gone)' : 'this version of the presets';
  // Gone, the presets are not written again by a preset change (that would undo the removal
  // unasked): one of these two ends it, and the message says so.
  const until =
    text === null
      ? 'until the config stops using it (activate another strategy, or drop those tunable_overrides) or the presets are put back'
      : 'until the config stops using it';
  const error = new ConfigFileError(
    location,
    issues.map((issue) => ({
      message: `kept out: ${what} would leave the config invalid (${shownPath(issue.path)}: ${issue.message}); the previous presets stay in force ${until}`,
    })),
    'presets',
  );
  return { ok: false, error, content };
}

/**
 * The version stored presets are in force as, by the config's rule (versions never go backwards):
 * content the trail recorded keeps the version recorded for it; new content whose `version` is not
 * above the last audited one counts as last + 1. No presets ever (nothing audited, none stored): 0.
 */
export function presetsInForce(
  content: PresetsContent,
  digest: string,
  /** The entry that records this content (AuditFile.recorded), else the trail's last entry, if any. */
  recorded: AuditEntry | undefined,
  lastVersion: number,
): PresetsSnapshot {
  const { presets } = content;
  if (recorded?.digest === digest) return { version: recorded.version, digest, presets };
  if (!recorded && lastVersion === 0 && presets.length === 0 && content.version === 0) return { version: 0, digest, presets };
  return { version: content.version > lastVersion ? content.version : lastVersion + 1, digest, presets };
}

export interface PresetsEntryFields {
  readonly time: Date;
  readonly actor: string;
  readonly operation: string;
  readonly current: PresetsSnapshot;
  /** The set before (null: unknown, as for a file edited while no server ran). */
  readonly before: readonly PresetDefinition[] | null;
  /** The config in force. */
  readonly config: RuntimeConfig;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A `PRESETS` audit entry: the set's version and digest, the preset fields changed, the config in force. */
export function presetsAuditEntry(fields: PresetsEntryFields): AuditEntry {
  return {
    time: fields.time.toISOString(),
    actor: fields.actor,
    operation: fields.operation,
    subject: 'PRESETS',
    version: fields.current.version,
    digest: fields.current.digest,
    changes: fields.before === null ? {} : presetChanges(fields.before, fields.current.presets),
    config: fields.config,
    ...(fields.details && { details: { ...fields.details } }),
  };
}

const SYSTEM_NOTES: Record<'recovery' | 'baseline' | 'handEdit', string> = {
  recovery: 'this presets version was written but not audited (a crash between the two): who made it is unknown',
  baseline: 'the presets as found when the audit trail started recording them',
  handEdit: 'the presets were edited by hand',
};

/** The entry for a preset set no API call made: a hand edit, a recovery at start, the first one found. */
export function presetsSystemEntry(
  operation: 'recovery' | 'baseline' | 'handEdit',
  current: PresetsSnapshot,
  before: readonly PresetDefinition[] | null,
  last: AuditEntry | undefined,
  config: RuntimeConfig,
  time: Date,
): AuditEntry {
  // What is not known, and why: a recovery's set before it is not recorded (the crash came before its
  // audit line); a hand edit with no set before it was made while no server ran.
  const note =
    before !== null || operation === 'baseline'
      ? SYSTEM_NOTES[operation]
      : operation === 'recovery'
        ? `${SYSTEM_NOTES[operation]}; what changed is not known (the set before it was not recorded)`
        : `${SYSTEM_NOTES[operation]}; changed while no server was running, so what changed is not known`;
  return presetsAuditEntry({
    time,
    actor: operation === 'handEdit' ? 'file' : 'system',
    operation,
    current,
    before: operation === 'baseline' ? [] : before,
    config,
    details: {
      note,
      ...(last && { previousAuditedVersion: last.version }),
      // As the config's recovery line says them: the versions written and never audited.
      ...(operation === 'recovery' &&
        last &&
        current.version - last.version > 1 && { skippedVersions: skipped(last.version, current.version) }),
    },
  });
}

/** The answer to a preset change that changes nothing: no version used, nothing written, no audit entry. */
export function unchangedPresets(previous: PresetsSnapshot, strategies: StrategyRegistry): PresetsCommitResult {
  return { changed: false, previous, current: previous, previousStrategies: strategies, strategies, changedFields: [], audit: null };
}
