import { activateStrategy } from '../../config/changes.js';
import type { RuntimeConfig } from '../../config/schema.js';
import { builder } from '../builder.js';
import { requester } from '../context.js';
import { RuntimeConfigType } from './config.js';
import {
  type RunnerWaitView,
  TIMEOUT_MS_DESCRIPTION,
  timeoutMsSchema,
  WAIT_FOR_RUNNER_DESCRIPTION,
  waitForRunnerIfAsked,
} from './runner-wait.js';
import { writeOutcomeFields } from './write-payload.js';

interface Activation {
  config: RuntimeConfig;
  changed: boolean;
  previousStrategyKey: string;
  runnerWait: RunnerWaitView | null;
}

const ActivateStrategyPayload = builder.objectRef<Activation>('ActivateStrategyPayload').implement({
  description: 'What `activateStrategy` answers.',
  fields: (t) => ({
    activeStrategyKey: t.string({ description: 'The active strategy now: the one asked for.', resolve: (p) => p.config.activeStrategyKey }),
    previousStrategyKey: t.exposeString('previousStrategyKey', {
      description: 'The strategy active before (the same key when it was already active).',
    }),
    configVersion: t.int({ description: 'The version in force after this activation.', resolve: (p) => p.config.version }),
    changed: t.exposeBoolean('changed', {
      description: 'False when the strategy was already active: nothing was written, no version used, no audit entry.',
    }),
    config: t.field({ type: RuntimeConfigType, description: 'The config in force after this activation.', resolve: (p) => p.config }),
    ...writeOutcomeFields(t),
  }),
});

builder.mutationField('activateStrategy', (t) =>
  t.field({
    type: ActivateStrategyPayload,
    description: 'Makes a strategy the active one; the runner switches on its next scan, without a restart. Needs scope `operate`.',
    authScopes: { scope: 'operate' },
    args: {
      strategyKey: t.arg.string({
        required: true,
        description: 'The strategy to make active (a static or preset key); an unknown key is refused: `Invalid strategy key: <key>`.',
      }),
      expectedVersion: t.arg.int({ required: false, description: 'Refuse with CONFLICT unless the config is at this version.' }),
      waitForRunner: t.arg.boolean({ required: false, description: WAIT_FOR_RUNNER_DESCRIPTION }),
      timeoutMs: t.arg.int({ required: false, description: TIMEOUT_MS_DESCRIPTION, validate: timeoutMsSchema }),
      runnerId: t.arg.string({ required: false, description: 'Wait for this runner only (default: every live runner).' }),
    },
    resolve: async (_root, args, ctx) => {
      const { store } = ctx.services;
      // Parsed once here; checked again inside the write, against the strategies in force when it commits.
      const key = store.state().strategies.parse(args.strategyKey);
      const result = await store.commit(activateStrategy(key, requester(ctx)), {
        expectedVersion: args.expectedVersion ?? undefined,
        requestId: ctx.requestId,
      });
      return {
        config: result.current.config,
        changed: result.changed,
        previousStrategyKey: result.previous.config.activeStrategyKey,
        runnerWait: await waitForRunnerIfAsked(ctx, result.current, args, result.changed),
      };
    },
  }),
);
