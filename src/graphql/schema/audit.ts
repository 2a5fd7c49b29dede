import type { AuditEntry } from '../../config/audit-entry.js';
import { AUDIT_MEMORY } from '../../config/audit-file.js';
import type { RuntimeConfig } from '../../config/schema.js';
import { builder } from '../builder.js';
import { RuntimeConfigType } from './config.js';
import { lastArgOptions, lastOf } from './list-args.js';

const AuditSubject = builder.enumType('AuditSubject', {
  description: 'What an audit entry records a change of: the config, or the preset set.',
  values: {
    CONFIG: { description: 'The runtime config (`config.yaml`).' },
    PRESETS: { description: 'The preset set (`strategies.yaml`).' },
  } as const,
});

const FieldChange = builder.objectRef<{ field: string; before: unknown; after: unknown }>('ConfigFieldChange').implement({
  description: 'One field’s value before and after a change.',
  fields: (t) => ({
    field: t.exposeString('field', {
      description:
        'The config field (GraphQL name), e.g. `activeStrategyKey`; for PRESETS `<presetKey>.<field>`, e.g. `gold_fast.tunables`.',
    }),
    before: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Its value before; null when it had none (the first entry of the trail, a preset added or a field it did not set).',
      resolve: (c) => c.before ?? null,
    }),
    after: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Its value after; null when it has none (a preset deleted, or a field it no longer sets).',
      resolve: (c) => c.after ?? null,
    }),
  }),
});

export const AuditEntryType = builder.objectRef<AuditEntry>('AuditEntry').implement({
  description: 'One line of audit.log: an accepted change, durable before it was answered.',
  fields: (t) => ({
    time: t.field({
      type: 'DateTime',
      description: 'When it was recorded, by the server’s clock (a hand edit: when the server saw it).',
      resolve: (e) => e.time,
    }),
    actor: t.exposeString('actor', {
      description:
        'The token name (`admin` for the admin token); `system` for baseline and recovery lines; `file` for a hand edit of config.yaml or strategies.yaml, `etcd` for a hand edit of the etcd keys.',
    }),
    operation: t.exposeString('operation', {
      description:
        'activateStrategy, updateConfig, rollbackConfig, upsertPreset, deletePreset; baseline, recovery or handEdit when no API call made it.',
    }),
    subject: t.field({
      type: AuditSubject,
      description: 'What changed: the config, or the preset set (then `version` and `digest` are the set’s).',
      resolve: (e) => e.subject,
    }),
    version: t.exposeInt('version', { description: 'The version this change produced (of the config, or of the preset set).' }),
    digest: t.exposeString('digest', { description: 'sha256 of the file written (config.yaml, or strategies.yaml for PRESETS).' }),
    changes: t.field({
      type: [FieldChange],
      description: 'Before → after of the fields that changed.',
      resolve: (e) => Object.entries(e.changes).map(([field, c]) => ({ field, before: c?.before, after: c?.after })),
    }),
    details: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'More about it, or null: `rolledBackTo` (a rollback), `preset` (a preset change), `note` and `previousAuditedVersion` (an entry no API call made).',
      resolve: (e) => e.details ?? null,
    }),
    config: t.field({
      type: RuntimeConfigType,
      description: 'The whole config after the change (for PRESETS: the config in force).',
      resolve: (e) => e.config as RuntimeConfig,
    }),
  }),
});

builder.queryField('auditLog', (t) =>
  t.field({
    type: [AuditEntryType],
    description: `The most recent audit entries, newest first (at most ${AUDIT_MEMORY}). Needs scope \`read\`.`,
    authScopes: { scope: 'read' },
    args: {
      last: t.arg.int({
        required: false,
        defaultValue: 20,
        ...lastArgOptions('entries', AUDIT_MEMORY),
      }),
      subject: t.arg({ type: AuditSubject, required: false, description: 'Only entries about this subject.' }),
    },
    resolve: (_root, { last, subject }, ctx, info) =>
      ctx.services.store.audit({ last: lastOf(last, 20, AUDIT_MEMORY, info, ctx), subject: subject ?? undefined }),
  }),
);
