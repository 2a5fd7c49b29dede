import { ControlPlaneError, execute } from '../client/http.js';
import { subscribe } from '../client/subscribe.js';
import { StatusChangedDocument, type StatusChangedSubscription, StatusDocument } from '../generated/graphql.js';
import type { ClientCommandContext } from './client-command.js';
import { EXIT } from './exit-codes.js';

type StatusEvent = StatusChangedSubscription['statusChanged'];

/** What is active, which version, what the runner applied (a scan alone changes none of it). */
function summary(status: StatusEvent): string {
  const { runner } = status;
  const applied =
    runner.appliedConfigVersion === null ? 'nothing applied' : `applied v${runner.appliedConfigVersion} ${runner.appliedStrategyKey}`;
  return [
    `active ${status.activeStrategyKey}`,
    `config v${status.configVersion}`,
    `runner ${runner.state} ${runner.inSync ? 'in sync' : 'NOT in sync'} (${applied})`,
    ...(runner.error ? [`RUNNER ERROR: ${runner.error}`] : []),
    ...(status.configError ? [`CONFIG FILE INVALID: ${status.configError.message}`] : []),
  ].join('  ');
}

/**
 * `stratctl status --watch`: the status now, then each change (statusChanged over SSE) until
 * Ctrl-C. With --json, one JSON object per line.
 */
export async function watchStatus(ctx: ClientCommandContext): Promise<number> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let last = '';
  const emit = (status: StatusEvent) => {
    if (ctx.json) return ctx.print(JSON.stringify(status));
    const text = summary(status);
    if (text !== last) ctx.print(`${new Date().toISOString()}  ${text}`);
    last = text;
  };
  try {
    const changes = subscribe(ctx.settings, StatusChangedDocument, {}, controller.signal);
    const first = changes.next(); // opens the stream before the snapshot, so no change falls between
    first.catch(() => {}); // its failure is reported when awaited below, not as an unhandled rejection
    const { status } = await execute(ctx.settings, StatusDocument);
    emit(status);
    let next = await first;
    while (!next.done) {
      emit(next.value.statusChanged);
      next = await changes.next();
    }
    // statusChanged never completes on its own: the server ended it (stopping).
    if (!controller.signal.aborted)
      throw new ControlPlaneError('unreachable', `${ctx.settings.url} ended the event stream (server stopping?)`);
    return EXIT.ok;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
