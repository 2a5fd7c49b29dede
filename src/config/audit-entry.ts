import * as z from 'zod';
import { MAX_VERSION } from './errors.js';
import { runtimeConfigSchema, servedTimeSchema } from './schema.js';

/** What an audit entry records: the config, or (issue 12) the preset set. */
export const AUDIT_SUBJECTS = ['CONFIG', 'PRESETS'] as const;
export type AuditSubject = (typeof AUDIT_SUBJECTS)[number];

/**
 * One accepted change: who changed what, and the whole config in force after it (the history). The
 * store writes it together with the change; `audit.log` holds one JSON line per entry.
 */
export const auditEntrySchema = z.object({
  /**
   * Served as a DateTime: RFC 3339 within years 0000-9999 (`servedTimeSchema`; the server writes
   * `toISOString()`). A stored entry with another time (a hand edit of audit.log or of an audit key)
   * is not an entry, as one with any other invalid field: its line is skipped where the others are
   * (audit.log: with its line number in the log; the newest etcd key: changes refused, saying so), and
   * stays stored. Not served as null: `time` is non-null in the API. Served as it was, the DateTime
   * scalar failed it with "Unexpected error.", which nulled the whole response (`auditLog` and
   * `configHistory` are `[AuditEntry!]!`) for every caller, or answered `+010000-...`, which no RFC
   * 3339 parser reads. Refused at start, a refused newest line is recorded again as a recovery.
   */
  time: servedTimeSchema,
  actor: z.string(),
  /** activateStrategy | updateConfig | rollbackConfig | recovery | baseline | handEdit (| upsertPreset ...) */
  operation: z.string(),
  /** Entries written before subjects existed are about the config. */
  subject: z.enum(AUDIT_SUBJECTS).default('CONFIG'),
  /** The version this change produced (of the config, or of the preset set for PRESETS). */
  version: z.number().int().min(1).max(MAX_VERSION),
  /** sha256 of the stored text the change produced. */
  digest: z.string(),
  /** Fields that changed: `{ field: { before, after } }`. */
  changes: z.record(z.string(), z.object({ before: z.unknown(), after: z.unknown() })),
  /** The config in force after the change. */
  config: runtimeConfigSchema.extend({ activeStrategyKey: z.string() }),
  details: z.record(z.string(), z.unknown()).optional(),
});

export type AuditEntry = z.output<typeof auditEntrySchema>;

/** Parses one stored entry (a line of audit.log, a value of an etcd audit key); null when it is not one. */
export function parseAuditEntry(text: string): AuditEntry | null {
  try {
    const parsed = auditEntrySchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** `{ field: { before, after } }` for the settable fields that differ. */
export function diffConfigs(before: AuditEntry['config'] | undefined, after: AuditEntry['config']): AuditEntry['changes'] {
  const changes: Record<string, { before: unknown; after: unknown }> = {};
  for (const key of ['activeStrategyKey', 'tradingEnabled', 'scanIntervalSeconds', 'tunableOverrides'] as const) {
    const was = before?.[key] ?? null;
    if (JSON.stringify(was) !== JSON.stringify(after[key])) changes[key] = { before: was, after: after[key] };
  }
  return changes;
}

/** Why an entry exists when no API call made it: the note it carries. */
const SYSTEM_NOTES: Record<string, string> = {
  recovery: 'this version was written but not audited (a crash between the two): who made it is unknown',
  baseline: 'the config as found when the audit trail started',
  handEdit: 'the config was edited by hand',
};

/** The operations of entries no API call made (the rest are the API's: activateStrategy, upsertPreset ...). */
export const SYSTEM_OPERATIONS: ReadonlySet<string> = new Set(Object.keys(SYSTEM_NOTES));

/**
 * The versions between the last audited one and the recovered one, which appear nowhere: a group
 * commit cut short by a crash after its config write and before its audit append gives each of its
 * changes a version but writes only the last one's config (nobody in the group was answered); or a
 * hand edit raised `version` by more than one while the server was stopped.
 */
/** The versions between the last audited one and a recovered one (written, never audited: a crash or an undone write). */
export function skipped(lastAudited: number, recovered: number): string {
  return recovered - lastAudited === 2 ? `${lastAudited + 1}` : `${lastAudited + 1}-${recovered - 1}`;
}

/** The entry for a config change made outside the API (a hand edit, a recovery at start, the first baseline). */
export function systemAuditEntry(
  operation: 'recovery' | 'baseline' | 'handEdit',
  current: { config: AuditEntry['config']; digest: string },
  last: AuditEntry | undefined,
  time: Date,
): AuditEntry {
  return {
    time: time.toISOString(),
    actor: operation === 'handEdit' ? 'file' : 'system',
    operation,
    subject: 'CONFIG',
    version: current.config.version,
    digest: current.digest,
    changes: diffConfigs(last?.config, current.config),
    config: current.config,
    details: {
      note: SYSTEM_NOTES[operation],
      ...(last && { previousAuditedVersion: last.version }),
      ...(operation === 'recovery' &&
        last &&
        current.config.version - last.version > 1 && { skippedVersions: skipped(last.version, current.config.version) }),
    },
  };
}

/**
 * The two subjects' entries, newest first, as one trail: each subject's own order kept (newest
 * version first: its history), the two merged by time where they interleave (compared as instants;
 * a tie or a time that does not parse takes the presets entry first, the mirror of audit.log, where
 * a group commit writes the config's line first). Sorted by time alone, a trail written by replicas
 * whose clocks disagree listed v5 below v4.
 */
export function mergeNewestFirst(config: readonly AuditEntry[], presets: readonly AuditEntry[]): AuditEntry[] {
  const out: AuditEntry[] = [];
  let [i, j] = [0, 0];
  for (let c = config[i], p = presets[j]; c && p; c = config[i], p = presets[j]) {
    if (Date.parse(c.time) > Date.parse(p.time)) {
      out.push(c);
      i++;
    } else {
      out.push(p);
      j++;
    }
  }
  return [...out, ...config.slice(i), ...presets.slice(j)];
}
