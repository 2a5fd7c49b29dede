import type { Document } from 'yaml';
import type { StrategyRegistry } from '../registry/index.js';
import { type AuditEntry, diffConfigs } from './audit-entry.js';
import { VersionConflictError } from './errors.js';
import { changedFields, type RuntimeConfig } from './schema.js';
import type { Change, CommitOptions, CommitResult, ConfigSnapshot } from './store.js';
import { applyConfigToDocument, renderNewConfigFile } from './yaml-document.js';

/** Writers in one group at most: a bound on the work (and the latency) one write carries. */
export const MAX_GROUP = 256;

/** A commit waiting for its group's write. */
export interface QueuedCommit {
  readonly change: Change;
  readonly options: CommitOptions;
  resolve(result: CommitResult): void;
  reject(error: unknown): void;
}

/** One version the group produced, in order: what subscribers hear of. */
export interface GroupStep {
  readonly previous: ConfigSnapshot;
  readonly current: ConfigSnapshot;
  readonly audit: AuditEntry;
}

export interface JudgedGroup {
  /** One audit entry per accepted change, in order (empty: all no-ops or refusals, nothing to write). */
  readonly entries: readonly AuditEntry[];
  readonly steps: readonly GroupStep[];
  /** The config text after the last accepted change (null when nothing is to be written). */
  readonly text: string | null;
  /** In force once the group is durable. */
  readonly final: ConfigSnapshot;
  /** Answers every writer as judged: after the write, and only if it succeeded. */
  settle(): void;
}

export interface GroupContext {
  /** The state in force before the group (the file on disk, read under the write lock). */
  readonly inForce: ConfigSnapshot;
  readonly strategies: StrategyRegistry;
  /** The highest version the audit trail records (versions never go backwards). */
  readonly lastAuditedVersion: number;
  /** The parsed file the text is edited in (comments and order kept); null: rendered anew. Mutated. */
  readonly doc: Document | null;
  readonly now: () => Date;
  readonly digestOf: (text: string) => string;
}

/**
 * Judges a group of changes in order, each against the state the ones before it left: its
 * `expectedVersion` first, then a no-op (nothing differs) is answered `changed: false` without a
 * version, and an accepted change gets the next version and its own audit entry (with the digest of
 * the text it produced). Pure apart from the changes' `apply` and the document edit: nothing is
 * written here, and nobody is answered before `settle()`.
 */
export function judgeGroup(group: readonly QueuedCommit[], context: GroupContext): JudgedGroup {
  let working = context.inForce;
  let version = Math.max(working.config.version, context.lastAuditedVersion);
  let text: string | null = null;
  const entries: AuditEntry[] = [];
  const steps: GroupStep[] = [];
  const outcomes: (() => void)[] = [];

  for (const queued of group) {
    const { change, options } = queued;
    const previous = working;
    if (options.expectedVersion !== undefined && options.expectedVersion !== previous.config.version) {
      const error = new VersionConflictError(options.expectedVersion, previous.config.version);
      outcomes.push(() => queued.reject(error));
      continue;
    }
    let draft: ReturnType<Change['apply']>;
    try {
      draft = change.apply({ config: previous, strategies: context.strategies });
    } catch (err) {
      outcomes.push(() => queued.reject(err));
      continue;
    }
    const config: RuntimeConfig = { ...draft, version: version + 1, updatedAt: context.now().toISOString() };
    const fields = changedFields(previous.config, config);
    if (fields.length === 0) {
      outcomes.push(() => queued.resolve({ changed: false, previous, current: previous, changedFields: [], audit: null }));
      continue;
    }
    version += 1;
    if (context.doc) {
      applyConfigToDocument(context.doc, previous.config, config);
      text = context.doc.toString();
    } else {
      text = renderNewConfigFile(config);
    }
    const current: ConfigSnapshot = { config, digest: context.digestOf(text) };
    const entry: AuditEntry = {
      time: config.updatedAt,
      actor: change.actor,
      operation: change.operation,
      subject: 'CONFIG',
      version,
      digest: current.digest,
      changes: diffConfigs(previous.config, config),
      config,
      ...(change.details && { details: change.details }),
    };
    entries.push(entry);
    steps.push({ previous, current, audit: entry });
    working = current;
    outcomes.push(() => queued.resolve({ changed: true, previous, current, changedFields: fields, audit: entry }));
  }
  return {
    entries,
    steps,
    text,
    final: working,
    settle: () => {
      for (const outcome of outcomes) outcome();
    },
  };
}
