import type { AuditEntry, AuditSubject } from '../../src/config/audit-entry.js';

/** A config as an audit entry records it. */
export const auditedConfig = (version: number) => ({
  activeStrategyKey: 'gold',
  tradingEnabled: true,
  scanIntervalSeconds: 30,
  tunableOverrides: {},
  version,
  updatedAt: '2026-11-28T10:00:00.000Z',
});

/** An audit entry of `subject` at `version` (its digest names both). */
export const auditEntry = (version: number, subject: AuditSubject = 'CONFIG'): AuditEntry => ({
  time: '2026-11-28T10:00:00.000Z',
  actor: 'admin',
  operation: subject === 'CONFIG' ? 'activateStrategy' : 'upsertPreset',
  subject,
  version,
  digest: subject === 'CONFIG' ? `sha256:${version}` : `sha256:${subject}-${version}`,
  changes: {},
  config: auditedConfig(version),
});
