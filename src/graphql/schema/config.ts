import { ConfigValidationError } from '../../config/errors.js';
import type { ConfigUpdate, RuntimeConfig } from '../../config/schema.js';
import { builder } from '../builder.js';
import {
  RunnerWait,
  type RunnerWaitView,
  runnerWaitTimeout,
  TIMEOUT_MS_DESCRIPTION,
  WAIT_FOR_RUNNER_DESCRIPTION,
  waitForRunnerIfAsked,
} from './runner-wait.js';
import { Status, statusView } from './status.js';

export const RuntimeConfigType = builder.objectRef<RuntimeConfig>('RuntimeConfig').implement({
  description: 'The runtime config in force (`config.yaml`).',
  fields: (t) => ({
    activeStrategyKey: t.exposeString('activeStrategyKey'),
    tradingEnabled: t.exposeBoolean('tradingEnabled'),
    scanIntervalSeconds: t.exposeInt('scanIntervalSeconds'),
    tunableOverrides: t.field({
      type: 'JSON',
      description: '`{ <strategyKey>: { <tunable>: value } }`: what differs from each strategy’s defaults.',
      resolve: (c) => c.tunableOverrides,
    }),
    version: t.exposeInt('version'),
    updatedAt: t.field({ type: 'DateTime', resolve: (c) => c.updatedAt }),
  }),
});

const UpdateConfigInput = builder.inputType('UpdateConfigInput', {
  description: 'A partial update: only the fields given change.',
  fields: (t) => ({
    activeStrategyKey: t.string({ required: false }),
    tradingEnabled: t.boolean({ required: false }),
    scanIntervalSeconds: t.int({ required: false, description: 'Seconds between runner scans, 1 to 86400.' }),
    tunableOverrides: t.field({
      type: 'JSON',
      required: false,
      description:
        '`{ <strategyKey>: { <tunable>: value } }`, merged per strategy and per tunable; `null` removes an override (or all of a strategy’s).',
    }),
  }),
});

const UpdateConfigPayload = builder
  .objectRef<{ config: RuntimeConfig; changedFields: readonly string[]; runnerWait: RunnerWaitView | null }>('UpdateConfigPayload')
  .implement({
    fields: (t) => ({
      config: t.field({ type: RuntimeConfigType, resolve: (p) => p.config }),
      changedFields: t.stringList({ description: 'Fields whose value changed.', resolve: (p) => [...p.changedFields] }),
      runnerWait: t.field({
        type: RunnerWait,
        nullable: true,
        description: 'Set when `waitForRunner` was asked: whether the runner applied the change in time.',
        resolve: (p) => p.runnerWait,
      }),
      status: t.field({ type: Status, resolve: (_p, _args, ctx) => statusView(ctx) }),
    }),
  });

builder.queryField('config', (t) =>
  t.field({
    type: RuntimeConfigType,
    authScopes: { scope: 'read' },
    resolve: (_root, _args, ctx) => ctx.services.store.current().config,
  }),
);

builder.mutationField('updateConfig', (t) =>
  t.field({
    type: UpdateConfigPayload,
    description: 'Changes runtime settings (partial update), validated before anything is written. Needs scope `admin`.',
    authScopes: { scope: 'admin' },
    args: {
      input: t.arg({ type: UpdateConfigInput, required: true }),
      expectedVersion: t.arg.int({ required: false, description: 'Refuse with CONFLICT unless the config is at this version.' }),
      waitForRunner: t.arg.boolean({ required: false, description: WAIT_FOR_RUNNER_DESCRIPTION }),
      timeoutMs: t.arg.int({ required: false, description: TIMEOUT_MS_DESCRIPTION }),
    },
    resolve: async (_root, { input, expectedVersion, waitForRunner, timeoutMs }, ctx) => {
      const timeout = runnerWaitTimeout(timeoutMs);
      const update: ConfigUpdate = {};
      if (input.activeStrategyKey != null) update.activeStrategyKey = input.activeStrategyKey;
      if (input.tradingEnabled != null) update.tradingEnabled = input.tradingEnabled;
      if (input.scanIntervalSeconds != null) update.scanIntervalSeconds = input.scanIntervalSeconds;
      if (input.tunableOverrides != null) update.tunableOverrides = input.tunableOverrides as ConfigUpdate['tunableOverrides'];
      if (Object.keys(update).length === 0) {
        throw new ConfigValidationError(
          [{ path: [], message: 'nothing to change: give at least one field' }],
          'Invalid config: nothing to change',
        );
      }
      const change = await ctx.services.store.save(update, {
        expectedVersion: expectedVersion ?? undefined,
        actor: ctx.identity?.name,
        operation: 'updateConfig',
      });
      const runnerWait = await waitForRunnerIfAsked(ctx, change.current, waitForRunner, timeout);
      return { config: change.current.config, changedFields: change.changed, runnerWait };
    },
  }),
);
