import { type ClientOptions, REQUEST_TIMEOUT_MS } from '../client/http.js';
import { decimalSetting } from '../env-setting.js';
import { UsageError } from '../usage-error.js';
import { EXIT } from './exit-codes.js';
import type { CommandContext } from './io.js';
import { type Flags, stringFlag } from './program.js';

/** `--wait [--timeout-ms <ms>]`: answer once the runner has applied the change (exit 6 if not in time). */

const DEFAULT_WAIT_MS = 10_000;

export interface WaitRequest {
  waitForRunner: boolean;
  timeoutMs: number | undefined;
}

export function parseWait(flags: Flags): WaitRequest {
  const wait = flags.wait === true;
  const raw = stringFlag(flags, 'timeout-ms');
  if (raw === undefined) return { waitForRunner: wait, timeoutMs: undefined };
  if (!wait) throw new UsageError('--timeout-ms goes with --wait');
  const ms = decimalSetting(raw);
  if (!(ms >= 1 && ms <= 300_000)) throw new UsageError(`--timeout-ms must be 1 to 300000 milliseconds, not "${raw}"`);
  return { waitForRunner: true, timeoutMs: ms };
}

/** The server holds the answer while it waits for the runner: give the request that long and more. */
export function settingsForWait<S extends ClientOptions>(settings: S, wait: WaitRequest): S {
  return wait.waitForRunner ? { ...settings, timeoutMs: (wait.timeoutMs ?? DEFAULT_WAIT_MS) + REQUEST_TIMEOUT_MS } : settings;
}

export interface RunnerWait {
  applied: boolean;
  waitedMs: number;
  runnerState: string;
  waitedFor: readonly string[];
  notWaitedFor: readonly string[];
  message: string;
}

/**
 * Prints that the runners applied the change, and which listed runners were not waited for (STALE,
 * STOPPED): a script gating on --wait hears that a dead runner's markets may be uncovered. With
 * several runners it names them; for a change that wrote nothing (`changed` false) it says the
 * runners already had that version ("applied it (0 ms)" read as a change that went through).
 */
export function printApplied(ctx: CommandContext, wait: RunnerWait | null | undefined, changed: boolean): void {
  if (!wait) return;
  const several = wait.waitedFor.length > 1;
  const who = several ? `the ${wait.waitedFor.length} runners` : 'the runner';
  const named = several ? `: ${wait.waitedFor.join(', ')}` : '';
  // A runner in ERROR took the change but may not do what it asks (scans nothing, a failing feed):
  // "applied it" read as the strategy running. The server's sentence names the runner and its error.
  if (wait.runnerState === 'ERROR') ctx.print(`${wait.message} (see stratctl status)`);
  else ctx.print(changed ? `${who} applied it (${wait.waitedMs} ms)${named}` : `nothing to apply: ${who} already had this version${named}`);
  // The server's sentence (printed for a runner in ERROR) already names them when several were listed.
  if (wait.notWaitedFor.length > 0 && !(wait.runnerState === 'ERROR' && wait.message.includes('not waited for')))
    ctx.print(`not waited for, not running: ${wait.notWaitedFor.join(', ')} (see stratctl status)`);
}

/**
 * The stdout side of a `--wait` that ran out (exit 6), after the lines the success path prints (the
 * change and its version, which stand): where the success path says the runner applied it, this
 * says it has not, and why the wait ended. Without it a script reading stdout got nothing at all,
 * though the change was accepted.
 */
export function printNotApplied(ctx: CommandContext, wait: RunnerWait): void {
  // No live runner (none RUNNING or ERROR): the server's sentence says so and names each listed
  // runner's state and the version it last applied. "the runner has not applied it" was said of a
  // STOPPED runner that had applied that very version before it stopped (a no-op's wait).
  ctx.print(noLiveRunner(wait) ? wait.message : `the runner has not applied it: ${wait.message}`);
}

/** The wait had no runner to wait for: none RUNNING or ERROR (DESIGN: STALE and STOPPED ones are not waited for). */
const noLiveRunner = (wait: RunnerWait) => wait.waitedFor.length === 0;

/**
 * Tells the operator when the change is written but the runner has not applied it in time (exit 6);
 * null when there was nothing to wait for or the runner applied it. This is stderr's part (the error
 * and what to do next); in text mode the command then prints its usual lines and printNotApplied.
 */
export function reportUnappliedWait(ctx: CommandContext, what: string, wait: RunnerWait | null | undefined): number | null {
  if (!wait || wait.applied) return null;
  if (noLiveRunner(wait)) {
    // The worst state is STALE: a runner is there and not heard from; "start one" was refused by its lock (exit 75).
    const next =
      wait.runnerState === 'STALE'
        ? 'No runner is live (RUNNING or ERROR) to apply it, and a STALE one is there, not heard from: look at that process ("stratctl status" names it; paused, stalled, its host or its store connection) rather than starting another beside it; --timeout-ms waits longer for it.'
        : 'No runner is live (RUNNING or ERROR) to apply it: start one ("stratctl runner", or "stratctl serve" without --no-runner), or see "stratctl status"; --timeout-ms waits longer for one that is starting.';
    ctx.warn(`error: ${what}, but ${wait.message}\n${next}`);
    return EXIT.waitTimeout;
  }
  // "Runner state RUNNING: ... (is the runner running?)" asked what it had just said.
  const next =
    wait.runnerState === 'RUNNING'
      ? 'The runner is running and has not picked the change up yet: wait longer with --timeout-ms, or see "stratctl status" (its last scan, any error).'
      : `Runner state ${wait.runnerState}: check "stratctl status" (is the runner running?), or wait longer with --timeout-ms.`;
  ctx.warn(`error: ${what}, but the runner has not applied it: ${wait.message}\n${next}`);
  return EXIT.waitTimeout;
}

/**
 * What `--json` prints for a change made with `--wait`: the payload, and when the runner has not
 * applied it in time (exit 6) also `error: {code: "WAIT_TIMEOUT", message}`, as every failing
 * command answers under --json; the change itself stands, so the payload stays.
 */
export function jsonWithWait<T extends { runnerWait?: RunnerWait | null }>(
  result: T,
): T | (T & { error: { code: string; message: string } }) {
  const wait = result.runnerWait;
  return wait && !wait.applied ? { ...result, error: { code: 'WAIT_TIMEOUT', message: wait.message } } : result;
}
