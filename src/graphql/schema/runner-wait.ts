import { ConfigValidationError } from '../../config/errors.js';
import type { ConfigSnapshot } from '../../config/store.js';
import type { RunnerWaitResult } from '../../runner/monitor.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { RunnerStateEnum } from './runner.js';

export const RUNNER_WAIT_LIMITS = { defaultMs: 10_000, maxMs: 300_000 } as const;

export type RunnerWaitView = RunnerWaitResult & { timeoutMs: number };

export const RunnerWait = builder.objectRef<RunnerWaitView>('RunnerWait').implement({
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

export const WAIT_FOR_RUNNER_DESCRIPTION =
  'Answer only once the runner reports this version applied, or `timeoutMs` has passed (see `runnerWait`).';
export const TIMEOUT_MS_DESCRIPTION = `How long to wait for the runner, 1 to ${RUNNER_WAIT_LIMITS.maxMs} ms (default ${RUNNER_WAIT_LIMITS.defaultMs}).`;

/** The wait's timeout, checked before anything is written (a refused request changes nothing). */
export function runnerWaitTimeout(timeoutMs: number | null | undefined): number {
  const timeout = timeoutMs ?? RUNNER_WAIT_LIMITS.defaultMs;
  if (timeout < 1 || timeout > RUNNER_WAIT_LIMITS.maxMs) {
    throw new ConfigValidationError(
      [{ path: ['timeoutMs'], message: `must be 1 to ${RUNNER_WAIT_LIMITS.maxMs}` }],
      `Invalid timeoutMs: must be 1 to ${RUNNER_WAIT_LIMITS.maxMs}`,
    );
  }
  return timeout;
}

/** Waits for the runner to apply `written` when the caller asked to; null when it did not ask. */
export async function waitForRunnerIfAsked(
  ctx: GraphQLContext,
  written: ConfigSnapshot,
  waitForRunner: boolean | null | undefined,
  timeoutMs: number,
): Promise<RunnerWaitView | null> {
  if (!waitForRunner) return null;
  const result = await ctx.services.runner.waitForApplied({ version: written.config.version, digest: written.digest }, timeoutMs);
  return { ...result, timeoutMs };
}
