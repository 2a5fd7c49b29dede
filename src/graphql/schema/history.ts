import { configHistory, HISTORY_LIMIT, rollbackConfig } from '../../audit/history.js';
import type { RuntimeConfig } from '../../config/schema.js';
import { builder } from '../builder.js';
import { requester } from '../context.js';
import { AuditEntryType } from './audit.js';
import { RuntimeConfigType } from './config.js';
import { lastArgOptions, lastOf } from './list-args.js';
import {
  type RunnerWaitView,
  TIMEOUT_MS_DESCRIPTION,
  timeoutMsSchema,
  WAIT_FOR_RUNNER_DESCRIPTION,
  waitForRunnerIfAsked,
} from './runner-wait.js';
import { writeOutcomeFields } from './write-payload.js';

builder.queryField('configHistory', (t) =>
  t.field({
    type: [AuditEntryType],
    description: `Accepted config versions, newest first, one entry per version (the last ${HISTORY_LIMIT} are kept). Needs scope \`read\`.`,
    authScopes: { scope: 'read' },
    args: {
      last: t.arg.int({
        required: false,
        defaultValue: HISTORY_LIMIT,
        ...lastArgOptions('versions', HISTORY_LIMIT),
      }),
    },
    resolve: (_root, { last }, ctx, info) => configHistory(ctx.services.store, lastOf(last, HISTORY_LIMIT, HISTORY_LIMIT, info, ctx)),
  }),
);

const RollbackConfigPayload = builder
  .objectRef<{
    config: RuntimeConfig;
    changed: boolean;
    changedFields: readonly string[];
    rolledBackTo: number;
    runnerWait: RunnerWaitView | null;
  }>('RollbackConfigPayload')
  .implement({
    description: 'What `rollbackConfig` answers.',
    fields: (t) => ({
      config: t.field({
        type: RuntimeConfigType,
        description: 'The config as the rollback wrote it (a new version).',
        resolve: (p) => p.config,
      }),
      rolledBackTo: t.exposeInt('rolledBackTo', { description: 'The past version whose settings were re-applied.' }),
      changed: t.exposeBoolean('changed', {
        description: 'False when the settings of that version are the ones in force: nothing was written, no version used.',
      }),
      changedFields: t.stringList({ description: 'Fields whose value changed.', resolve: (p) => [...p.changedFields] }),
      ...writeOutcomeFields(t),
    }),
  });

builder.mutationField('rollbackConfig', (t) =>
  t.field({
    type: RollbackConfigPayload,
    description:
      'Re-applies the settings of a past version (see configHistory) as a new version, validated against today’s registry and audited. Needs scope `admin`.',
    authScopes: { scope: 'admin' },
    args: {
      toVersion: t.arg.int({
        required: true,
        description: `The config version whose settings to re-apply: one of the last ${HISTORY_LIMIT} (an older or unknown one is refused).`,
      }),
      expectedVersion: t.arg.int({ required: false, description: 'Refuse with CONFLICT unless the config is at this version.' }),
      waitForRunner: t.arg.boolean({ required: false, description: WAIT_FOR_RUNNER_DESCRIPTION }),
      timeoutMs: t.arg.int({ required: false, description: TIMEOUT_MS_DESCRIPTION, validate: timeoutMsSchema }),
      runnerId: t.arg.string({ required: false, description: 'Wait for this runner only (default: every live runner).' }),
    },
    resolve: async (_root, args, ctx) => {
      const { toVersion, expectedVersion } = args;
      const result = await rollbackConfig(ctx.services.store, toVersion, requester(ctx), {
        expectedVersion: expectedVersion ?? undefined,
        requestId: ctx.requestId,
      });
      return {
        config: result.current.config,
        changed: result.changed,
        changedFields: result.changedFields,
        rolledBackTo: toVersion,
        runnerWait: await waitForRunnerIfAsked(ctx, result.current, args, result.changed),
      };
    },
  }),
);
