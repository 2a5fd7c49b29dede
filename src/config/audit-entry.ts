import { z } from 'zod';
import { runtimeConfigSchema } from './schema.js';

/** What an audit entry records: the config, or (issue 12) the preset set. */
export const AUDIT_SUBJECTS = ['CONFIG', 'PRESETS'] as const;
export type AuditSubject = (typeof AUDIT_SUBJECTS)[number];

/**
 * One accepted change: who changed what, and the whole config in force after it (the history). The
 * store writes it together with the change; `audit.log` holds one JSON line per entry.
 */
export const auditEntrySchema = z.object({
  time: z.string(),
  actor: z.string(),
  /** activateStrategy | updateConfig | rollbackConfig | recovery | baseline | handEdit (| upsertPreset ...) */
  operation: z.string(),
  /** Entries written before subjects existed are about the config. */
  subject: z.enum(AUDIT_SUBJECTS).default('CONFIG'),
  /** The version this change produced (of the config, or of the preset set for PRESETS). */
  version: z.number().int().min(1),
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
