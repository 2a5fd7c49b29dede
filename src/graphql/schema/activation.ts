import { InvalidStrategyKeyError } from '../../config/errors.js';
import type { RuntimeConfig } from '../../config/schema.js';
import { builder } from '../builder.js';
import { RuntimeConfigType } from './config.js';
import { Status, statusView } from './status.js';

interface Activation {
  config: RuntimeConfig;
  activeStrategyKey: string;
  previousStrategyKey: string;
  configVersion: number;
}

const ActivateStrategyPayload = builder.objectRef<Activation>('ActivateStrategyPayload').implement({
  fields: (t) => ({
    activeStrategyKey: t.exposeString('activeStrategyKey'),
    previousStrategyKey: t.exposeString('previousStrategyKey'),
    configVersion: t.exposeInt('configVersion', { description: 'The version this activation wrote.' }),
    config: t.field({ type: RuntimeConfigType, description: 'The config as this activation wrote it.', resolve: (p) => p.config }),
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
    },
    resolve: async (_root, { strategyKey, expectedVersion }, ctx) => {
      if (!ctx.services.registry.has(strategyKey)) throw new InvalidStrategyKeyError(strategyKey);
      const change = await ctx.services.store.save(
        { activeStrategyKey: strategyKey },
        { expectedVersion: expectedVersion ?? undefined, actor: ctx.identity?.name, operation: 'activateStrategy' },
      );
      return {
        config: change.current.config,
        activeStrategyKey: change.current.config.activeStrategyKey,
        previousStrategyKey: change.previous.config.activeStrategyKey,
        configVersion: change.current.config.version,
      };
    },
  }),
);
