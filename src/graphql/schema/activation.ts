import { ConfigValidationError, InvalidStrategyKeyError } from '../../config/errors.js';
import type { RuntimeConfig } from '../../config/schema.js';
import type { RunnerWaitResult } from '../../runner/monitor.js';
import { builder } from '../builder.js';
import { RuntimeConfigType } from './config.js';
import { RunnerStateEnum } from './runner.js';
import { Status, statusView } from './status.js';

export const RUNNER_WAIT_LIMITS = { defaultMs: 10_000, maxMs: 300_000 } as const;

interface Activation {
  config: RuntimeConfig;
  activeStrategyKey: string;
  previousStrategyKey: string;
  configVersion: number;
  runnerWait: (RunnerWaitResult & { timeoutMs: number }) | null;
}

const RunnerWait = builder.objectRef<RunnerWaitResult & { timeoutMs: number }>('RunnerWait').implement({
  description: 'The outcome of waiting for the runner to apply a change (`waitForRunner: true`).',
  fields: (t) => ({
    applied: t.exposeBoolean('applied', { description: 'The runner reported this version (or a later one) applied.' }),
    timedOut: t.boolean({ resolve: (w) => !w.applied }),
    waitedMs: t.exposeInt('waitedMs'),
    runnerState: t.field({ type: RunnerStateEnum, description: 'The runner state when the wait ended.', resolve: (w) => w.view.health }),
    message: t.string({
      resolve: (w) =>
        w.applied
          ? `runner applied it in ${w.waitedMs} ms`
          : `timed out after ${w.timeoutMs} ms waiting for the runner (state ${w.view.health}); the change is saved and the runner will apply it when it next reads the config`,
    }),
  }),
});

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
      waitForRunner: t.arg.boolean({
        required: false,
        description: 'Answer only once the runner reports this version applied, or `timeoutMs` has passed (see `runnerWait`).',
      }),
      timeoutMs: t.arg.int({
        required: false,
        description: `How long to wait for the runner, 1 to ${RUNNER_WAIT_LIMITS.maxMs} ms (default ${RUNNER_WAIT_LIMITS.defaultMs}).`,
      }),
    },
    resolve: async (_root, { strategyKey, expectedVersion, waitForRunner, timeoutMs }, ctx) => {
      if (!ctx.services.registry.has(strategyKey)) throw new InvalidStrategyKeyError(strategyKey);
      const timeout = timeoutMs ?? RUNNER_WAIT_LIMITS.defaultMs;
      if (timeout < 1 || timeout > RUNNER_WAIT_LIMITS.maxMs) {
        throw new ConfigValidationError(
          [{ path: ['timeoutMs'], message: `must be 1 to ${RUNNER_WAIT_LIMITS.maxMs}` }],
          `Invalid timeoutMs: must be 1 to ${RUNNER_WAIT_LIMITS.maxMs}`,
        );
      }
      const change = await ctx.services.store.save(
        { activeStrategyKey: strategyKey },
        { expectedVersion: expectedVersion ?? undefined, actor: ctx.identity?.name, operation: 'activateStrategy' },
      );
      const { config, digest } = change.current;
      const wait = waitForRunner ? await ctx.services.runner.waitForApplied({ version: config.version, digest }, timeout) : null;
      return {
        config,
        activeStrategyKey: config.activeStrategyKey,
        previousStrategyKey: change.previous.config.activeStrategyKey,
        configVersion: config.version,
        runnerWait: wait && { ...wait, timeoutMs: timeout },
      };
    },
  }),
);
