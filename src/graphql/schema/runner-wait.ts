import * as z from 'zod';
import type { ConfigSnapshot } from '../../config/store.js';
import { shownName } from '../../registry/index.js';
import type { RunnerWaitResult } from '../../runner/fleet.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { RunnerStateEnum } from './runner.js';

export const RUNNER_WAIT_LIMITS = { defaultMs: 10_000, maxMs: 300_000 } as const;

export type RunnerWaitView = RunnerWaitResult & {
  timeoutMs: number;
  runnerId?: string;
  /** Whether the write changed anything, and the version in force after it (a no-op saves nothing). */
  changed: boolean;
  version: number;
};

/** What the wait's outcome means, in one sentence: applied, or what happens next and why. */
export function waitMessage(w: RunnerWaitView): string {
  if (w.applied) {
    const skipped = w.notWaitedFor.map((r) => `${shownName(r.id)} ${r.health}`).join(', ');
    // A no-op wrote nothing: "applied it in 0 ms" read as a change that went through.
    const what = w.changed ? 'it' : `version ${w.version} (nothing changed: it was already in force)`;
    const took = w.changed ? ` in ${w.waitedMs} ms` : '';
    // A runner in ERROR took the change but may not do what it asks (it scans nothing, its feed fails):
    // "applied" alone read as the strategy running.
    const applied = w.inError.length ? 'took' : 'applied';
    const one = w.waitedFor.length <= 1 && !skipped;
    const errors = w.inError.map((r) => `${one ? 'it' : shownName(r.id)} reports an error: ${r.error.split('\n').join('; ')}`).join('; ');
    const but = errors ? `, but ${errors}` : '';
    if (one) return `runner ${applied} ${what}${took}${but}`;
    const who = `${w.waitedFor.length} runner${w.waitedFor.length === 1 ? '' : 's'} (${w.waitedFor.map(shownName).join(', ')})`;
    return `${who} ${applied} ${what}${took}${but}${skipped ? `; not waited for, not running: ${skipped}` : ''}`;
  }
  // A no-op wrote nothing: "the change is saved" was said of a write that never happened.
  const saved = w.changed ? 'the change is saved' : `nothing changed (version ${w.version} was already in force)`;
  if (w.stopping) {
    return `the server is stopping: it stopped waiting after ${w.waitedMs} ms (runner state ${w.view.health}); ${saved}, and the runner will apply it when it next reads the config`;
  }
  if (w.runnerId === undefined && w.waitedFor.length === 0) {
    // None was live: it waited for one to start, not for the ones listed (which is what notWaitedFor
    // says). Each is named with the version it last applied: a no-op's wait said of a STOPPED runner
    // that it "has not applied" the very version it applied before it stopped.
    const listed = w.notWaitedFor
      .map(
        (r) =>
          `${shownName(r.id)} ${r.health}, ${r.appliedVersion === null ? 'applied none' : `last applied version ${r.appliedVersion}${r.appliedTarget ? ': this one' : ''}`}`,
      )
      .join('; ');
    // A STALE runner is there, not heard from (paused, stalled, cut off from the store): it applies the
    // change when it runs again. "when one starts" alone sent the operator to start another, which
    // its lock refuses (exit 75).
    const stale = w.notWaitedFor.filter((r) => r.health === 'STALE').map((r) => shownName(r.id));
    const applies =
      stale.length === 0
        ? 'a runner applies it when one starts'
        : `${stale.join(', ')} ${stale.length === 1 ? 'applies' : 'apply'} it once ${stale.length === 1 ? 'it is' : 'they are'} heard from again (STALE: no heartbeat, it may be paused, stalled or cut off from the store), or a runner when one starts`;
    return `timed out after ${w.timeoutMs} ms: no live runner to wait for (${listed || 'none has reported'}); ${saved}, and ${applies}`;
  }
  if (w.runnerId !== undefined && w.view.state === null) {
    return `timed out after ${w.timeoutMs} ms: no runner "${shownName(w.runnerId)}" has reported; ${saved}, and a runner of that id will apply it when it reads the config`;
  }
  // A runner in ERROR may be what keeps it from taking the change (a config it cannot read, a
  // strategy not in force there): "will apply it when it next reads the config" promised what its
  // error says it cannot do, so the error is named and the promise made only with it.
  const error = w.view.health === 'ERROR' ? w.view.state?.error : null;
  if (error) {
    return `timed out after ${w.timeoutMs} ms waiting for the runner (state ERROR: ${error.split('\n').join('; ')}); ${saved}, and the runner applies it when it next reads the config unless that error keeps it from it`;
  }
  return `timed out after ${w.timeoutMs} ms waiting for the runner (state ${w.view.health}); ${saved}, and the runner will apply it when it next reads the config`;
}

export const RunnerWait = builder.objectRef<RunnerWaitView>('RunnerWait').implement({
  description: 'The outcome of waiting for the runners to apply a change (`waitForRunner: true`).',
  fields: (t) => ({
    applied: t.exposeBoolean('applied', {
      description: 'Every live runner (or the one asked for) reported this version (or a later one) applied.',
    }),
    timedOut: t.boolean({
      description: 'The opposite of `applied`: the wait ended (timeout, or the server stopping) first. A change is saved all the same.',
      resolve: (w) => !w.applied,
    }),
    waitedMs: t.exposeInt('waitedMs', { description: 'How long it waited, in milliseconds.' }),
    runnerState: t.field({ type: RunnerStateEnum, description: 'The runner state when the wait ended.', resolve: (w) => w.view.health }),
    waitedFor: t.stringList({
      description:
        'The runners it waited for, by id: each reported this version (or a later one) applied when `applied`. Empty when none was running.',
      resolve: (w) => [...w.waitedFor],
    }),
    notWaitedFor: t.stringList({
      description:
        'Runners listed but not waited for, not being live, as `<id> <STATE>` (e.g. `acct-metals STALE`): their markets may be uncovered. Empty when a `runnerId` was asked for.',
      resolve: (w) => w.notWaitedFor.map((r) => `${r.id} ${r.health}`),
    }),
    message: t.string({
      description: 'What happened, in one sentence: how long the runner took, or why the wait ended and what happens next.',
      resolve: waitMessage,
    }),
  }),
});

export const WAIT_FOR_RUNNER_DESCRIPTION =
  'Answer only once every live runner (or `runnerId`) reports this version applied, or `timeoutMs` has passed (see `runnerWait`).';
export const TIMEOUT_MS_DESCRIPTION = `How long to wait for the runner, 1 to ${RUNNER_WAIT_LIMITS.maxMs} ms (default ${RUNNER_WAIT_LIMITS.defaultMs}).`;
export const timeoutMsSchema = z
  .number()
  .int()
  .min(1, `must be 1 to ${RUNNER_WAIT_LIMITS.maxMs}`)
  .max(RUNNER_WAIT_LIMITS.maxMs, `must be 1 to ${RUNNER_WAIT_LIMITS.maxMs}`)
  .nullish();

/** Waits for the runners to apply `written` when the caller asked to; null when it did not ask. */
export async function waitForRunnerIfAsked(
  ctx: GraphQLContext,
  written: ConfigSnapshot,
  wait: { waitForRunner?: boolean | null; timeoutMs?: number | null; runnerId?: string | null },
  changed: boolean,
): Promise<RunnerWaitView | null> {
  if (!wait.waitForRunner) return null;
  const timeoutMs = wait.timeoutMs ?? RUNNER_WAIT_LIMITS.defaultMs;
  const result = await ctx.services.runners.waitForApplied(
    { version: written.config.version, digest: written.digest, storeVersion: () => ctx.services.store.state().config.config.version },
    timeoutMs,
    wait.runnerId ?? undefined,
  );
  return { ...result, timeoutMs, changed, version: written.config.version, ...(wait.runnerId != null && { runnerId: wait.runnerId }) };
}
