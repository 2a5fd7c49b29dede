import * as z from 'zod';
import { updateConfig } from '../../config/changes.js';
import { type ConfigUpdate, type RuntimeConfig, SCAN_INTERVAL_LIMITS, scanIntervalSchema } from '../../config/schema.js';
import { InvalidStrategyKeyError, ownKeysOnly, shownValue } from '../../registry/index.js';
import { builder } from '../builder.js';
import { requester } from '../context.js';
import {
  type RunnerWaitView,
  TIMEOUT_MS_DESCRIPTION,
  timeoutMsSchema,
  WAIT_FOR_RUNNER_DESCRIPTION,
  waitForRunnerIfAsked,
} from './runner-wait.js';
import { writeOutcomeFields } from './write-payload.js';

export const RuntimeConfigType = builder.objectRef<RuntimeConfig>('RuntimeConfig').implement({
  description: 'The runtime config in force (`config.yaml`, or the etcd `config` key).',
  fields: (t) => ({
    activeStrategyKey: t.exposeString('activeStrategyKey', { description: 'The strategy the runner is to run (a static or preset key).' }),
    tradingEnabled: t.exposeBoolean('tradingEnabled', {
      description: 'The trading switch (true by default). The runner records it with what it applied; it sends no orders either way.',
    }),
    scanIntervalSeconds: t.exposeInt('scanIntervalSeconds', {
      description: `Seconds between the runner’s scans, ${SCAN_INTERVAL_LIMITS.min} to ${SCAN_INTERVAL_LIMITS.max} (30 by default).`,
    }),
    tunableOverrides: t.field({
      type: 'JSON',
      description: '`{ <strategyKey>: { <tunable>: value } }`: what differs from each strategy’s defaults.',
      resolve: (c) => c.tunableOverrides,
    }),
    version: t.exposeInt('version', {
      description:
        '+1 on every accepted change; never goes backwards (a hand edit that did not raise it counts as the last audited version + 1).',
    }),
    updatedAt: t.field({
      type: 'DateTime',
      description: 'When the change in force was accepted (`updated_at` as stored; a hand edit keeps what it wrote).',
      resolve: (c) => c.updatedAt,
    }),
  }),
});

/** `{ <strategyKey>: { <tunable>: value | null } | null }`: the shape; which keys and values exist is checked at commit. */
const overridesShape = ownKeysOnly(
  z.record(
    z.string(),
    ownKeysOnly(
      z.record(
        z.string(),
        z.union([z.number(), z.boolean(), z.null()], {
          error: (iss) => `must be a number or a boolean (null removes it), got ${shownValue(iss.input)}`,
        }),
        {
          error: 'must be a map of tunable names to values',
        },
      ),
    ).nullable(),
    { error: 'must be a map of strategy keys to { tunable: value } maps' },
  ),
);

/**
 * A field given a value, or left out; an explicit null is refused. Null was taken for "left out":
 * `scanIntervalSeconds: null` beside another field changed only the other, and alone answered
 * "nothing to change", where a caller may well have meant "back to the default".
 */
const givenOrLeftOut = <T extends z.ZodType>(schema: T, hint = '') =>
  z.preprocess((value, ctx) => {
    if (value === null) ctx.addIssue({ code: 'custom', message: `cannot be null: leave it out to keep its value${hint}`, input: value });
    return value;
  }, schema.optional());

const UpdateConfigInput = builder
  .inputType('UpdateConfigInput', {
    description:
      'A partial update: only the fields given change, and at least one must be given. No field may be null: leave it out to keep its value.',
    fields: (t) => ({
      activeStrategyKey: t.string({
        required: false,
        description: 'The strategy to make active (a static or preset key). Null is refused: leave it out to keep the active one.',
      }),
      tradingEnabled: t.boolean({
        required: false,
        description: 'Trading on or off (see `RuntimeConfig.tradingEnabled`). Null is refused: leave it out to keep its value.',
      }),
      scanIntervalSeconds: t.int({
        required: false,
        description: `Seconds between runner scans, ${SCAN_INTERVAL_LIMITS.min} to ${SCAN_INTERVAL_LIMITS.max}. Null is refused: leave it out to keep its value.`,
      }),
      tunableOverrides: t.field({
        type: 'JSON',
        required: false,
        description:
          '`{ <strategyKey>: { <tunable>: value } }`, merged per strategy and per tunable: a null tunable value removes that override, a null strategy all of its overrides. Null for the whole field is refused: leave it out.',
      }),
    }),
  })
  .validate(
    z
      .object({
        activeStrategyKey: givenOrLeftOut(z.string()),
        tradingEnabled: givenOrLeftOut(z.boolean()),
        scanIntervalSeconds: givenOrLeftOut(scanIntervalSchema),
        tunableOverrides: givenOrLeftOut(overridesShape, ' (a strategy’s overrides are removed with { <strategy>: null })'),
      })
      .refine((input) => Object.values(input).some((v) => v !== undefined), 'nothing to change: give at least one field'),
  );

interface UpdateResult {
  config: RuntimeConfig;
  changed: boolean;
  changedFields: readonly string[];
  runnerWait: RunnerWaitView | null;
}

const UpdateConfigPayload = builder.objectRef<UpdateResult>('UpdateConfigPayload').implement({
  description: 'What `updateConfig` answers.',
  fields: (t) => ({
    config: t.field({ type: RuntimeConfigType, description: 'The config in force after the update.', resolve: (p) => p.config }),
    changed: t.exposeBoolean('changed', {
      description: 'False when the update matched the values in force: nothing was written, no version used, no audit entry.',
    }),
    changedFields: t.stringList({ description: 'Fields whose value changed.', resolve: (p) => [...p.changedFields] }),
    ...writeOutcomeFields(t),
  }),
});

builder.queryField('config', (t) =>
  t.field({
    type: RuntimeConfigType,
    description:
      'The runtime config in force: while the stored file is invalid, the last good one (see `status.configError`). Needs scope `read`.',
    authScopes: { scope: 'read' },
    resolve: (_root, _args, ctx) => ctx.services.store.state().config.config,
  }),
);

builder.mutationField('updateConfig', (t) =>
  t.field({
    type: UpdateConfigPayload,
    description: 'Changes runtime settings (partial update), validated before anything is written. Needs scope `admin`.',
    authScopes: { scope: 'admin' },
    args: {
      input: t.arg({ type: UpdateConfigInput, required: true, description: 'The fields to change; those left out keep their value.' }),
      expectedVersion: t.arg.int({ required: false, description: 'Refuse with CONFLICT unless the config is at this version.' }),
      waitForRunner: t.arg.boolean({ required: false, description: WAIT_FOR_RUNNER_DESCRIPTION }),
      timeoutMs: t.arg.int({ required: false, description: TIMEOUT_MS_DESCRIPTION, validate: timeoutMsSchema }),
      runnerId: t.arg.string({ required: false, description: 'Wait for this runner only (default: every live runner).' }),
    },
    resolve: async (_root, args, ctx) => {
      const { store } = ctx.services;
      const { input } = args;
      const update: ConfigUpdate = {};
      // Parsed once here; checked again inside the write, against the strategies in force when it commits.
      if (input.activeStrategyKey != null) {
        // Refused at the input's field (as the commit's own check names it), not activateStrategy's argument.
        const key = input.activeStrategyKey;
        if (!store.state().strategies.has(key)) throw new InvalidStrategyKeyError(key, ['activeStrategyKey']);
        update.activeStrategyKey = key;
      }
      if (input.tradingEnabled != null) update.tradingEnabled = input.tradingEnabled;
      if (input.scanIntervalSeconds != null) update.scanIntervalSeconds = input.scanIntervalSeconds;
      if (input.tunableOverrides != null) update.tunableOverrides = input.tunableOverrides as ConfigUpdate['tunableOverrides'];
      const result = await store.commit(updateConfig(update, requester(ctx)), {
        expectedVersion: args.expectedVersion ?? undefined,
        requestId: ctx.requestId,
      });
      return {
        config: result.current.config,
        changed: result.changed,
        changedFields: result.changedFields,
        runnerWait: await waitForRunnerIfAsked(ctx, result.current, args, result.changed),
      };
    },
  }),
);
