import { InvalidStrategyKeyError } from '../../config/errors.js';
import type { RuntimeConfig } from '../../config/schema.js';
import { builder } from '../builder.js';
import { RuntimeConfigType } from './config.js';
import {
  RunnerWait,
  type RunnerWaitView,
  runnerWaitTimeout,
  TIMEOUT_MS_DESCRIPTION,
  WAIT_FOR_RUNNER_DESCRIPTION,
  waitForRunnerIfAsked,
} from './runner-wait.js';
import { Status, statusView } from './status.js';

interface Activation {
  config: RuntimeConfig;
  activeStrategyKey: string;
  previousStrategyKey: string;
  configVersion: number;
  runnerWait: RunnerWaitView | null;
}

const ActivateStrategyPayload = builder.objectRef<Activation>('ActivateStrategyPayload').implement({
  fields: (t) => ({
    activeStrategyKey: t.exposeString('activeStrategyKey'),
    previousStrategyKey: t.exposeString('previousStrategyKey'),
    configVersion: t.exposeInt('configVersion', { description: 'The version this activation wrote.' }),
    config: t.field({ type: RuntimeConfigType, description: 'The config as this activation wrote it.', resolve: (p) => p.config }),
    runnerWait: t.field({
      type: RunnerWait,
      nullable: true,
      description: 'Set when `waitForRunner` was asked: whether the runner applied the change in time.',
      resolve: (p) => p.runnerWait,
    }),
    status: t.field({ type: Status, resolve: (_p, _args, ctx) => statusView(ctx) }),
  }),
});

builder.mutationField('activateStrategy', (t) =>
  t.field({
    type: ActivateStrategyPayload,
    description: 'Makes a strategy the active one; the runner switches on its next scan, without a restart. Needs scope `operate`.',
    authScopes: { scope: 'operate' },
    args: {
      strategyKey: t.arg.string({ required: true }),
      expectedVersion: t.arg.int({ required: false, description: 'Refuse with CONFLICT unless the config is at this version.' }),
      waitForRunner: t.arg.boolean({ required: false, description: WAIT_FOR_RUNNER_DESCRIPTION }),
      timeoutMs: t.arg.int({ required: false, description: TIMEOUT_MS_DESCRIPTION }),
    },
    resolve: async (_root, { strategyKey, expectedVersion, waitForRunner, timeoutMs }, ctx) => {
      if (!ctx.services.registry.has(strategyKey)) throw new InvalidStrategyKeyError(strategyKey);
      const timeout = runnerWaitTimeout(timeoutMs);
      const change = await ctx.services.store.save(
        { activeStrategyKey: strategyKey },
        { expectedVersion: expectedVersion ?? undefined, actor: ctx.identity?.name, operation: 'activateStrategy' },
      );
      const { config } = change.current;
      const runnerWait = await waitForRunnerIfAsked(ctx, change.current, waitForRunner, timeout);
      return {
        config,
        activeStrategyKey: config.activeStrategyKey,
        previousStrategyKey: change.previous.config.activeStrategyKey,
        configVersion: config.version,
        runnerWait,
      };
    },
  }),
);
