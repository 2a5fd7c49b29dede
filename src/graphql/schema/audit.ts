import type { AuditEntry } from '../../audit/audit-log.js';
import { AUDIT_MEMORY } from '../../audit/audit-log.js';
import { builder } from '../builder.js';
import { RuntimeConfigType } from './config.js';

const FieldChange = builder.objectRef<{ field: string; before: unknown; after: unknown }>('ConfigFieldChange').implement({
  fields: (t) => ({
    field: t.exposeString('field', { description: 'The config field (GraphQL name), e.g. `activeStrategyKey`.' }),
    before: t.field({ type: 'JSON', nullable: true, resolve: (c) => c.before ?? null }),
    after: t.field({ type: 'JSON', nullable: true, resolve: (c) => c.after ?? null }),
  }),
});

export const AuditEntryType = builder.objectRef<AuditEntry>('AuditEntry').implement({
  description: 'One line of audit.log: an accepted change, durable before it was answered.',
  fields: (t) => ({
    time: t.field({ type: 'DateTime', resolve: (e) => e.time }),
    actor: t.exposeString('actor', {
      description: 'The token name (`admin` for the admin token; `system`/`file` for recovery and hand edits).',
    }),
    operation: t.exposeString('operation', {
      description: 'activateStrategy, updateConfig, rollbackConfig; baseline, recovery or handEdit when no API call made it.',
    }),
    version: t.exposeInt('version', { description: 'The config version this change produced.' }),
    digest: t.exposeString('digest', { description: 'sha256 of the config file written.' }),
    changes: t.field({
      type: [FieldChange],
      description: 'Before → after of the fields that changed.',
      resolve: (e) => Object.entries(e.changes).map(([field, c]) => ({ field, before: c.before, after: c.after })),
    }),
    details: t.field({ type: 'JSON', nullable: true, resolve: (e) => e.details ?? null }),
    config: t.field({ type: RuntimeConfigType, description: 'The whole config after the change.', resolve: (e) => e.config }),
  }),
});

builder.queryField('auditLog', (t) =>
  t.field({
    type: [AuditEntryType],
    description: `The most recent audit entries, newest first (at most ${AUDIT_MEMORY}). Needs scope \`read\`.`,
    authScopes: { scope: 'read' },
    args: { last: t.arg.int({ required: false, defaultValue: 20 }) },
    resolve: (_root, { last }, ctx) =>
      ctx.services.audit
        .last(Math.min(Math.max(last ?? 20, 0), AUDIT_MEMORY))
        .slice()
        .reverse(),
  }),
);
