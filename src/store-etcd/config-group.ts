import { type AuditEntry, diffConfigs } from '../config/audit-entry.js';
import { ConfigValidationError, VersionConflictError } from '../config/errors.js';
import { NO_PRESETS_DIGEST } from '../config/presets-judge.js';
import { changedFields, type RuntimeConfig } from '../config/schema.js';
import type { CommitOptions, CommitResult, ConfigChange, ConfigSnapshot, PresetsSnapshot } from '../config/store.js';

/** The etcd store does not read the `strategies` key yet: no presets are in force. */
export const NO_PRESETS: PresetsSnapshot = { version: 0, digest: NO_PRESETS_DIGEST, presets: [] };

import { applyConfigToDocument, renderNewConfigFile } from '../config/yaml-document.js';
import type { StrategyRegistry } from '../registry/index.js';
import type { WriteBase } from './config-io.js';
import { effectiveSnapshot, handEditEntry, parseStored, snapshotOfEntry } from './config-judge.js';

/** A commit waiting for its group's transaction. */
export interface QueuedCommit {
  readonly change: ConfigChange;
  readonly options: CommitOptions;
  /** When the caller's 2 s are up (counted from the call, the wait in the queue included). */
  readonly deadline: number;
  resolve(result: CommitResult): void;
  reject(error: unknown): void;
}

export interface JudgedGroup {
  /** The entries to write in order: an unaudited hand edit found by the read first, then each accepted change. */
  readonly entries: readonly AuditEntry[];
  /** The config text after the last change; null when nothing is to be written (all no-ops or refusals). */
  readonly text: string | null;
  /** Answers every caller (after the transaction, when there is one). */
  settle(): void;
}

/**
 * Judges a group of changes against one read, in order, each against the state the ones before it
 * left (so a no-op is judged against the latest accepted state, the group's included), checking each
 * `expectedVersion` first. Pure apart from the callers' `apply`: nothing is written here.
 */
export function judgeGroup(
  base: WriteBase,
  group: readonly QueuedCommit[],
  context: { registry: StrategyRegistry; location: string; now: Date; inForce: ConfigSnapshot },
): JudgedGroup {
  const stored = base.stored?.ok ? base.stored : null;
  const pending = stored && !(base.last && base.last.digest === stored.digest) ? handEditEntry(stored, base.last, context.now) : null;
  // With no key and no entry (before start() on an empty prefix), the defaults this process holds.
  let working: ConfigSnapshot = stored
    ? effectiveSnapshot(stored, base.last).snapshot
    : base.last
      ? snapshotOfEntry(base.last)
      : context.inForce;
  // The text to edit: the stored one (comments and order kept), or a fresh rendering when the key is gone.
  let text: string | null = stored?.text ?? null;
  let textConfig: RuntimeConfig | null = stored?.config ?? null;
  const entries: AuditEntry[] = pending ? [pending] : [];
  const outcomes: (() => void)[] = [];
  let accepted = 0;

  for (const queued of group) {
    const { change, options } = queued;
    const expected = options.expectedVersion;
    if (expected !== undefined && expected !== working.config.version) {
      const error = new VersionConflictError(expected, working.config.version);
      outcomes.push(() => queued.reject(error));
      continue;
    }
    try {
      const draft = change.apply({ config: working, strategies: context.registry, presets: NO_PRESETS });
      const time = context.now.toISOString();
      const wanted: RuntimeConfig = { ...draft, version: working.config.version + 1, updatedAt: time };
      const fields = changedFields(working.config, wanted);
      const previous = working;
      if (fields.length === 0) {
        outcomes.push(() => queued.resolve({ changed: false, previous, current: previous, changedFields: [], audit: null }));
        continue;
      }
      let nextText: string;
      if (text !== null && textConfig !== null) {
        const doc = parseStored(context.registry, context.location, text);
        if (!doc.ok) throw doc.error;
        applyConfigToDocument(doc.doc, textConfig, wanted);
        nextText = doc.doc.toString();
      } else nextText = renderNewConfigFile(wanted);
      const written = parseStored(context.registry, context.location, nextText);
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
      accepted++;
      working = snapshotOfEntry(entry);
      text = nextText;
      textConfig = written.config;
      outcomes.push(() =>
        queued.resolve({ changed: true, previous, current: snapshotOfEntry(entry), changedFields: fields, audit: entry }),
      );
    } catch (err) {
      outcomes.push(() => queued.reject(err));
    }
  }
  return {
    entries,
    text: accepted > 0 ? text : null,
    settle: () => {
      for (const outcome of outcomes) outcome();
    },
  };
}
