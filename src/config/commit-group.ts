import type { Document } from 'yaml';
import { type StrategyRegistry, samePresets, strategySetOf } from '../registry/index.js';
import { type AuditEntry, diffConfigs } from './audit-entry.js';
import { type ConfigFileError, ConfigFileInvalidError, nextVersion, PresetsVersionConflictError, VersionConflictError } from './errors.js';
import { renderPresetsText } from './presets-file.js';
import { presetsAuditEntry, unchangedPresets } from './presets-judge.js';
import type { ReadBack } from './read-back.js';
import { changedFields, type RuntimeConfig } from './schema.js';
import type {
  Change,
  CommitOptions,
  CommitResult,
  ConfigSnapshot,
  PresetsCommitResult,
  PresetsSnapshot,
  StoreEvent,
  StoreState,
} from './store.js';
import { checkConfigDocument, checkConfigText, checkPresetsText } from './written-check.js';
import { applyConfigToDocument, renderNewConfigFile } from './yaml-document.js';

/** Writers in one group at most: a bound on the work (and the latency) one write carries. */
export const MAX_GROUP = 256;

/** A commit waiting for its group's write. */
export interface QueuedCommit {
  readonly change: Change;
  readonly options: CommitOptions;
  resolve(result: CommitResult | PresetsCommitResult): void;
  reject(error: unknown): void;
}

export interface JudgedGroup {
  /** One audit entry per accepted change, in order (empty: all no-ops or refusals, nothing to write). */
  readonly entries: readonly AuditEntry[];
  /** What subscribers hear once the group is durable: one event per version, in order. */
  readonly events: readonly StoreEvent[];
  /** The config text after the group (null: config.yaml is not to be written). */
  readonly configText: string | null;
  /**
   * What that text must read as, checked where it is written, before anything is (null: checked
   * here already, or nothing to write). Judged here: the data of the document it was rendered from
   * holds what the group answered (written-check.ts).
   */
  readonly readBack: ReadBack | null;
  /** The presets text after the group (null: strategies.yaml is not to be written). */
  readonly presetsText: string | null;
  /** In force once the group is durable. */
  readonly final: StoreState;
  /** Answers every writer as judged: after the write, and only if it succeeded. */
  settle(): void;
}

export interface GroupContext {
  /** The state in force before the group (the files on disk, read under the write lock). */
  readonly inForce: StoreState;
  /** The static strategies (presets are added to them). */
  readonly staticStrategies: StrategyRegistry;
  /** The highest versions the audit trail records (versions never go backwards). */
  readonly lastAudited: { readonly CONFIG: number; readonly PRESETS: number };
  /** The stored file is invalid (a person's to fix): changes of that subject are refused, never written over. */
  readonly configInvalid: ConfigFileError | null;
  readonly presetsInvalid: ConfigFileError | null;
  /** The config file parsed for editing (comments and order kept), asked for on the first accepted change; null: rendered anew. Mutated. */
  readonly configDoc: () => Document | null;
  /** strategies.yaml as read (null: none yet). */
  readonly presetsText: string | null;
  readonly now: () => Date;
  readonly digestOf: (text: string) => string;
  /** The files' paths, for the check of the texts before they are written (see written-check.ts). */
  readonly files: { readonly config: string; readonly presets: string };
}

/** The committing request's id for its event (each writer of a group its own), when it has one. */
const requestIdOf = (options: CommitOptions): { requestId?: string } =>
  options.requestId === undefined ? {} : { requestId: options.requestId };

/**
 * Judges a group of changes (config and presets alike) in order, each against the state the ones
 * before it left: its `expectedVersion` first, then a no-op (nothing differs) is answered
 * `changed: false` without a version, and an accepted change gets its subject's next version and
 * its own audit entry (with the digest of the text it produced). Pure apart from the changes'
 * `apply` and the document edit: nothing is written here, and nobody is answered before `settle()`.
 * Throws ConfigWriteError when a text does not read back as what the group answered (written-check.ts);
 * config.yaml's text is read back where it is written (`readBack`).
 */
export function judgeGroup(group: readonly QueuedCommit[], context: GroupContext): JudgedGroup {
  let state = context.inForce;
  let configVersion = Math.max(state.config.config.version, context.lastAudited.CONFIG);
  let presetsVersion = Math.max(state.presets.version, context.lastAudited.PRESETS);
  let configText: string | null = null;
  let presetsText: string | null = null;
  let presetsTextBase = context.presetsText;
  let doc: Document | null | undefined;
  const entries: AuditEntry[] = [];
  const events: StoreEvent[] = [];
  const outcomes: (() => void)[] = [];

  for (const queued of group) {
    const { change, options } = queued;
    const refuse = (error: unknown) => outcomes.push(() => queued.reject(error));
    if (change.subject === 'CONFIG') {
      const previous = state.config;
      if (context.configInvalid) {
        refuse(new ConfigFileInvalidError(context.configInvalid));
        continue;
      }
      if (options.expectedVersion !== undefined && options.expectedVersion !== previous.config.version) {
        refuse(new VersionConflictError(options.expectedVersion, previous.config.version));
        continue;
      }
      let draft: ReturnType<typeof change.apply>;
      try {
        draft = change.apply(state);
      } catch (err) {
        refuse(err);
        continue;
      }
      // A no-op first: it uses no version, so one at the version bound is still answered `changed: false`.
      const fields = changedFields(previous.config, { ...draft, version: previous.config.version, updatedAt: previous.config.updatedAt });
      if (fields.length === 0) {
        outcomes.push(() => queued.resolve({ changed: false, previous, current: previous, changedFields: [], audit: null }));
        continue;
      }
      let config: RuntimeConfig;
      try {
        config = { ...draft, version: nextVersion(configVersion), updatedAt: context.now().toISOString() };
      } catch (err) {
        refuse(err);
        continue;
      }
      configVersion += 1;
      if (doc === undefined) doc = context.configDoc();
      if (doc) {
        applyConfigToDocument(doc, previous.config, config);
        configText = doc.toString();
      } else {
        configText = renderNewConfigFile(config);
      }
      const current: ConfigSnapshot = { config, digest: context.digestOf(configText) };
      const entry: AuditEntry = {
        time: config.updatedAt,
        actor: change.actor,
        operation: change.operation,
        subject: 'CONFIG',
        version: configVersion,
        digest: current.digest,
        changes: diffConfigs(previous.config, config),
        config,
        ...(change.details && { details: change.details }),
      };
      entries.push(entry);
      events.push({ type: 'changed', previous, current, audit: entry, source: 'commit', ...requestIdOf(options) });
      state = { ...state, config: current };
      outcomes.push(() => queued.resolve({ changed: true, previous, current, changedFields: fields, audit: entry }));
      continue;
    }

    const previous = state.presets;
    const previousStrategies = state.strategies;
    if (context.presetsInvalid) {
      refuse(new ConfigFileInvalidError(context.presetsInvalid));
      continue;
    }
    if (options.expectedVersion !== undefined && options.expectedVersion !== previous.version) {
      refuse(new PresetsVersionConflictError(options.expectedVersion, previous.version));
      continue;
    }
    let next: ReturnType<typeof change.apply>;
    try {
      next = change.apply(state);
    } catch (err) {
      refuse(err);
      continue;
    }
    if (samePresets(previous.presets, next)) {
      const result = unchangedPresets(previous, previousStrategies);
      outcomes.push(() => queued.resolve(result));
      continue;
    }
    try {
      presetsVersion = nextVersion(presetsVersion);
    } catch (err) {
      refuse(err);
      continue;
    }
    const strategies = strategySetOf(context.staticStrategies, next);
    presetsText = renderPresetsText(presetsTextBase, { version: presetsVersion, presets: next });
    presetsTextBase = presetsText;
    const current: PresetsSnapshot = { version: presetsVersion, digest: context.digestOf(presetsText), presets: next };
    const entry = presetsAuditEntry({
      time: context.now(),
      actor: change.actor,
      operation: change.operation,
      current,
      before: previous.presets,
      config: state.config.config,
      details: change.details,
    });
    entries.push(entry);
    events.push({ type: 'presetsChanged', previous, current, audit: entry, source: 'commit', ...requestIdOf(options) });
    state = { ...state, presets: current, strategies };
    const result: PresetsCommitResult = {
      changed: true,
      previous,
      current,
      previousStrategies,
      strategies,
      changedFields: Object.keys(entry.changes),
      audit: entry,
    };
    outcomes.push(() => queued.resolve(result));
  }
  // Once per group: the texts as a restart will read them hold what every writer is answered.
  if (presetsText !== null)
    checkPresetsText(context.staticStrategies, context.files.presets, presetsText, state.presets.version, state.presets.presets);
  let readBack: ReadBack | null = null;
  if (configText !== null) {
    // Edited from its document: the document is judged here, the text where it is written (read-back.ts).
    if (doc) readBack = checkConfigDocument(state.strategies, context.files.config, doc, state.config.config);
    else checkConfigText(state.strategies, context.files.config, configText, state.config.config);
  }
  return {
    entries,
    events,
    configText,
    readBack,
    presetsText,
    final: state,
    settle: () => {
      for (const outcome of outcomes) outcome();
    },
  };
}
