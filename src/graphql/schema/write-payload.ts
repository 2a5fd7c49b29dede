import type { SchemaTypes } from '@pothos/core';
import type { builder } from '../builder.js';
import { RunnerWait, type RunnerWaitView } from './runner-wait.js';
import { Status, statusView } from './status.js';

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T extends SchemaTypes> ? T : never;

/** What every config write's payload carries besides its own fields. */
export interface WriteOutcome {
  readonly runnerWait: RunnerWaitView | null;
}

/**
 * The fields every config write answers with last (activateStrategy, updateConfig, rollbackConfig):
 * the runners' wait when it was asked for, and the status after the write.
 */
export function writeOutcomeFields<P extends WriteOutcome>(t: PothosSchemaTypes.ObjectFieldBuilder<Types, P>) {
  return {
    runnerWait: t.field({
      type: RunnerWait,
      nullable: true,
      description: 'Set when `waitForRunner` was asked: whether the runners applied the change in time.',
      resolve: (p) => p.runnerWait,
    }),
    status: t.field({
      type: Status,
      description: 'The status after the write (`status.runner.inSync` says whether the runner has applied it yet).',
      resolve: (_p, _args, ctx) => statusView(ctx),
    }),
  };
}
