import { type AuditEntry, diffConfigs } from '../config/audit-entry.js';
import { digestOf } from '../config/digest.js';
import {
  ConfigFileInvalidError,
  ConfigValidationError,
  nextVersion,
  PresetsVersionConflictError,
  VersionConflictError,
} from '../config/errors.js';
import { parsePresetsFile, renderPresetsText } from '../config/presets-file.js';
import { NO_PRESETS_DIGEST, presetsAuditEntry, presetsSystemEntry, unchangedPresets } from '../config/presets-judge.js';
import { changedFields, type RuntimeConfig } from '../config/schema.js';
import type {
  Change,
  CommitOptions,
  CommitResult,
  ConfigChange,
  PresetsChange,
  PresetsCommitResult,
  PresetsSnapshot,
  StoreState,
} from '../config/store.js';
import { applyConfigToDocument, renderNewConfigFile } from '../config/yaml-document.js';
import { type PresetDefinition, type StrategyRegistry, samePresets, strategySetOf } from '../registry/index.js';
import type { WriteBase } from './config-io.js';
import { effectiveSnapshot, handEditEntry, parseStored, snapshotOfEntry, unnumberedHandEdit } from './config-judge.js';
import { presetsHandEditEntry, presetsSnapshotOf, presetsUnaudited } from './presets-judge.js';

/** A commit waiting for its group's transaction. */
export interface QueuedCommit {
  readonly change: Change;
  readonly options: CommitOptions;
  /** When the caller's 2 s are up (counted from the call, the wait in the queue included). */
  readonly deadline: number;
  resolve(result: CommitResult | PresetsCommitResult): void;
  reject(error: unknown): void;
}

export interface JudgedGroup {
  /** The entries to write in order: unaudited hand edits found by the read first, then each accepted change. */
  readonly entries: readonly AuditEntry[];
  /** The config text after the last config change; null when no config change is to be written. */
  readonly configText: string | null;
  /** The presets text after the last preset change; null when no preset change is to be written. */
  readonly presetsText: string | null;
  /** The id of the request each accepted change came from (CommitOptions.requestId), by its entry: for its event. */
  readonly requestIds: ReadonlyMap<AuditEntry, string>;
  /** Answers every caller (after the transaction, when there is one). */
  settle(): void;
}

export interface GroupContext {
  /** The static strategies. */
  readonly registry: StrategyRegistry;
  /** The config key and the strategies key (for messages). */
  readonly location: string;
  readonly presetsLocation: string;
  readonly now: Date;
  /** What this process has in force (used where the read has nothing better: no config key, presets not in force). */
  readonly inForce: StoreState;
  /** The preset set stored under `digest`, when this process had it in force (null: not seen). */
  readonly presetsSeen: (digest: string) => readonly PresetDefinition[] | null;
  /** The hand puts of `strategies` this process put in force since the trail's newest entry, as it numbered them, oldest first. */
  readonly unauditedPresets?: readonly PresetsSnapshot[];
  /** start(), with the set it found at its first read still in force: with an empty trail that set is its baseline (later, or a set put since, a hand edit). */
  readonly starting?: boolean;
  /** The text of the presets in force (null: none): written again when etcd went back without it. */
  readonly presetsText?: string | null;
}

/**
 * What one read says is in force (the state changes are judged against), and the entries owed for
 * what nobody audited yet: a direct put of `strategies` or `config`, or sets a migration brought
 * without entries. Presets first: the config's entry may name a preset they added.
 */
export function baseState(base: WriteBase, context: GroupContext): { state: StoreState; pending: AuditEntry[] } {
  // A hand edit no version is left for is not in force (judged invalid where it is watched).
  const stored = base.stored?.ok && !unnumberedHandEdit(base.stored, base.last, context.location) ? base.stored : null;
  // With no key and no entry (before start() on an empty prefix), the defaults this process holds.
  const config = stored ? effectiveSnapshot(stored, base.last).snapshot : base.last ? snapshotOfEntry(base.last) : context.inForce.config;
  let presets = base.presets.ok ? presetsSnapshotOf(base.presets, base.lastPresets) : context.inForce.presets;
  const pending: AuditEntry[] = [];
  if (base.presets.ok && presetsUnaudited(presets, base.lastPresets)) {
    // Every set this process announced since the trail's newest entry gets the entry of the version
    // it was announced as, when the one read is the last of them (two quick puts: both recorded).
    const lastVersion = base.lastPresets?.version ?? 0;
    // One entry per version (the last set announced as it): two would be two puts of one key, which
    // etcd refuses for the whole transaction.
    const byVersion = new Map((context.unauditedPresets ?? []).filter((s) => s.version > lastVersion).map((s) => [s.version, s]));
    const announced = [...byVersion.values()];
    const owed = announced.at(-1)?.digest === presets.digest ? announced : [presets];
    let before = context.presetsSeen(base.lastPresets?.digest ?? NO_PRESETS_DIGEST);
    let last = base.lastPresets;
    for (const set of owed) {
      const entry = presetsHandEditEntry(set, before, last, config, context.now, context.starting === true);
      pending.push(entry);
      before = set.presets;
      last = entry;
    }
    presets = owed.at(-1) ?? presets;
  }
  if (stored && !(base.last && base.last.digest === stored.digest)) pending.push(handEditEntry(stored, base.last, context.now));
  return { state: { config, strategies: base.strategies, presets }, pending };
}

/**
 * Judges a group of changes against one read, in order, each against the state the ones before it
 * left (so a no-op is judged against the latest accepted state, the group's included, and a config
 * change may name a preset added earlier in the group), checking each `expectedVersion` first.
 * Pure apart from the callers' `apply`: nothing is written here.
 */
export function judgeGroup(base: WriteBase, group: readonly QueuedCommit[], context: GroupContext): JudgedGroup {
  const { state, pending } = baseState(base, context);
  let { config: working, strategies, presets } = state;
  // A hand edit no version is left for is not in force: refused like an invalid one.
  const unnumbered = base.stored?.ok ? unnumberedHandEdit(base.stored, base.last, context.location) : null;
  const stored = base.stored?.ok && !unnumbered ? base.stored : null;
  // The texts to edit: the stored ones (comments and order kept), or fresh renderings when a key is gone.
  let text: string | null = stored?.text ?? null;
  let textConfig: RuntimeConfig | null = stored?.config ?? null;
  // Etcd went back without the key: the set in force is what a change edits (and writes again).
  const goneBack = !base.presets.ok && base.presets.goneBack === true;
  let presetsText: string | null = base.strategiesKv?.value ?? (goneBack ? (context.presetsText ?? null) : null);
  const entries: AuditEntry[] = [...pending];
  const requestIds = new Map<AuditEntry, string>();
  const outcomes: (() => void)[] = [];
  let configWritten = false;
  let presetsWritten = false;

  const commitConfig = (queued: QueuedCommit, change: ConfigChange) => {
    // An invalid stored config is a person's to fix: never written over (a missing key is written again).
    if (base.stored && !base.stored.ok) throw new ConfigFileInvalidError(base.stored.error);
    if (unnumbered) throw new ConfigFileInvalidError(unnumbered);
    const expected = queued.options.expectedVersion;
    if (expected !== undefined && expected !== working.config.version) throw new VersionConflictError(expected, working.config.version);
    const draft = change.apply({ config: working, strategies, presets });
    const previous = working;
    // A no-op first: it uses no version, so one at the version bound is still answered `changed: false`.
    const fields = changedFields(previous.config, { ...draft, version: previous.config.version, updatedAt: previous.config.updatedAt });
    if (fields.length === 0) {
      outcomes.push(() => queued.resolve({ changed: false, previous, current: previous, changedFields: [], audit: null }));
      return;
    }
    const time = context.now.toISOString();
    const wanted: RuntimeConfig = { ...draft, version: nextVersion(working.config.version), updatedAt: time };
    let nextText: string;
    if (text !== null && textConfig !== null) {
      const doc = parseStored(strategies, context.location, text);
      if (!doc.ok) throw doc.error;
      applyConfigToDocument(doc.doc, textConfig, wanted);
      nextText = doc.doc.toString();
    } else nextText = renderNewConfigFile(wanted);
    const written = parseStored(strategies, context.location, nextText);
    if (!written.ok) throw new ConfigValidationError(written.error.problems.map((p) => ({ path: [], message: p.message })));
    const entry: AuditEntry = {
      time,
      actor: change.actor,
      operation: change.operation,
      subject: 'CONFIG',
      version: written.config.version,
      digest: written.digest,
      changes: diffConfigs(previous.config, written.config),
      config: written.config,
      ...(change.details && { details: { ...change.details } }),
    };
    entries.push(entry);
    if (queued.options.requestId !== undefined) requestIds.set(entry, queued.options.requestId);
    configWritten = true;
    working = snapshotOfEntry(entry);
    text = nextText;
    textConfig = written.config;
    outcomes.push(() => queued.resolve({ changed: true, previous, current: snapshotOfEntry(entry), changedFields: fields, audit: entry }));
  };

  const commitPresets = (queued: QueuedCommit, change: PresetsChange) => {
    // Stored presets that are invalid (or kept out) are a person's to fix: never written over. A missing
    // key is written again, but not one deleted while the config uses a preset (its removal kept out):
    // that would bring back the set the person removed, unasked.
    if (!base.presets.ok && (base.presets.text !== null || base.presets.content !== undefined))
      throw new ConfigFileInvalidError(base.presets.error);
    const expected = queued.options.expectedVersion;
    if (expected !== undefined && expected !== presets.version) throw new PresetsVersionConflictError(expected, presets.version);
    const next = change.apply({ config: working, strategies, presets });
    const previous = presets;
    const previousStrategies = strategies;
    if (samePresets(previous.presets, next)) {
      const result = unchangedPresets(previous, previousStrategies);
      outcomes.push(() => queued.resolve(result));
      return;
    }
    // Never backwards: above both the set in force and the last audited one (a hand edit may have numbered itself lower).
    const version = nextVersion(Math.max(previous.version, base.lastPresets?.version ?? 0));
    const nextText = renderPresetsText(presetsText, { version, presets: next });
    // What every replica will read back: the same presets, or this is a bug to stop at, not to store.
    const written = parsePresetsFile(context.registry, context.presetsLocation, nextText, 'key');
    if (written.version !== version || !samePresets(written.presets, next)) {
      throw new Error(`presets rendered for version ${version} do not read back as written`);
    }
    const current: PresetsSnapshot = { version, digest: digestOf(nextText), presets: written.presets };
    const nextStrategies = strategySetOf(context.registry, written.presets);
    const entry = presetsAuditEntry({
      time: context.now,
      actor: change.actor,
      operation: change.operation,
      current,
      before: previous.presets,
      config: working.config,
      details: change.details,
    });
    entries.push(entry);
    if (queued.options.requestId !== undefined) requestIds.set(entry, queued.options.requestId);
    presetsWritten = true;
    presets = current;
    strategies = nextStrategies;
    presetsText = nextText;
    const result: PresetsCommitResult = {
      changed: true,
      previous,
      current,
      previousStrategies,
      strategies: nextStrategies,
      changedFields: Object.keys(entry.changes),
      audit: entry,
    };
    outcomes.push(() => queued.resolve(result));
  };

  for (const queued of group) {
    try {
      if (queued.change.subject === 'PRESETS') commitPresets(queued, queued.change);
      else commitConfig(queued, queued.change);
    } catch (err) {
      outcomes.push(() => queued.reject(err));
    }
  }
  // Etcd went back without the key, and only the config changes: the set in force goes back as it
  // was (its text, its version), with an entry of its own, the trail before it gone with etcd's data.
  if (goneBack && configWritten && !presetsWritten && presetsText !== null) {
    const recovery = presetsSystemEntry('recovery', presets, presets.presets, base.lastPresets ?? undefined, working.config, context.now);
    entries.unshift({
      ...recovery,
      details: {
        note: 'etcd went back (its data wiped or restored from an older snapshot) without the strategies key: the set in force written again with the next change, as it was in force; the trail before it went with the data',
      },
    });
    presetsWritten = true;
  }
  return {
    entries,
    configText: configWritten ? text : null,
    presetsText: presetsWritten ? presetsText : null,
    requestIds,
    settle: () => {
      for (const outcome of outcomes) outcome();
    },
  };
}
