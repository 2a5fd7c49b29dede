import { ControlPlaneError, execute } from '../client/http.js';
import { watchSubscription } from '../client/subscribe.js';
import { StatusChangedDocument, type StatusChangedSubscription, StatusDocument } from '../generated/graphql.js';
import type { ClientCommandContext } from './client-command.js';
import { EXIT } from './exit-codes.js';
import { stoppedExitCode } from './io.js';
import { checkedStatus, runnersAtFault, storeAway } from './status.js';

type StatusEvent = StatusChangedSubscription['statusChanged'];

/** How long after a status read an event older than it is taken for one the stream delivered during the read. */
const READ_SETTLE_MS = 2_000;

/** A failed read that says the server is not there (yet), as a lost stream does; a refusal (auth, input) is not. */
const lostAgain = (err: unknown) => err instanceof ControlPlaneError && (err.kind === 'unreachable' || err.code === 'UNAVAILABLE');

/**
 * A problem's text on one line: a config file problem is a headline and a line per problem
 * (`config.yaml: invalid config\n  line 7, column 24: ...`), which broke "one line per change" for a
 * reader going line by line (`while read`, `grep`, a log shipper): the continuation lines had no
 * timestamp and no field name.
 */
const oneLine = (text: string) => text.replace(/\s*\n\s*/g, '; ');

/** What is active, which version, what the runner applied (a scan alone changes none of it): one line. */
export function watchLine(status: StatusEvent): string {
  const { runner } = status;
  const applied =
    runner.appliedConfigVersion === null ? 'nothing applied' : `applied v${runner.appliedConfigVersion} ${runner.appliedStrategyKey}`;
  return [
    `active ${status.activeStrategyKey}`,
    `config v${status.configVersion}`,
    `runner ${runner.state} ${runner.inSync ? 'in sync' : 'NOT in sync'} (${applied})`,
    ...(runnersAtFault(status.runners) ? [`(${runnersAtFault(status.runners)})`] : []),
    `presets v${status.presetsVersion}`,
    // The kill switch: a change to it alone is a line of its own.
    status.tradingEnabled ? 'trading on' : 'TRADING OFF',
    ...(status.store.connected ? [] : [`STORE UNREACHABLE: ${storeAway(status.store)}`]),
    ...(runner.error ? [`RUNNER ERROR: ${oneLine(runner.error)}`] : []),
    ...(status.configError ? [`CONFIG FILE INVALID: ${oneLine(status.configError.message)}`] : []),
    ...(status.strategiesError ? [`PRESETS NOT IN FORCE: ${oneLine(status.strategiesError.message)}`] : []),
  ].join('  ');
}

/** The times that move with every scan, heartbeat or store contact: not a change of the status. */
const LIVENESS_TIMES = new Set(['lastScanAt', 'heartbeatAt', 'lastContactAt']);
function withoutLiveness(key: string, value: unknown): unknown {
  return LIVENESS_TIMES.has(key) ? undefined : value;
}

/**
 * `stratctl status --watch`: the status now, then each change (statusChanged over SSE, graphql-sse's
 * client) until Ctrl-C (exit 130; SIGTERM 143, SIGHUP 129). With --json, one JSON object per line.
 * When the server goes away (a restart), it reconnects for up to `reconnectTimeoutMs` and re-reads
 * the status it may have missed; past that, exit 5.
 */
export async function watchStatus(ctx: ClientCommandContext, reconnectTimeoutMs: number): Promise<number> {
  const controller = new AbortController();
  // Ended by a stop signal: 128 + its number, as the signal itself gives and as every other stratctl
  // command ends on one (README's exit codes: 129, 130, 143). A script (`set -e`, `&&`) then tells
  // "stopped" from "done"; exit 0 read as a watch that ended by itself. The reader going away stays 0.
  let stoppedBy: NodeJS.Signals | undefined;
  const unsubscribe = ctx.io.onStopSignal((signal) => {
    stoppedBy ??= signal;
    controller.abort();
  });
  // The reader went away (`| head -1`, `| jq ... | head -1`): done, exit 0, as after Ctrl-C.
  const unsubscribeOutput = ctx.io.onOutputClosed?.(() => controller.abort());
  // Output that cannot be written (a full disk behind `> status.log`): the watch went on silently,
  // every line lost, until killed. It stops, exit 1, and says so (stderr may still be written).
  let outputFailed: NodeJS.ErrnoException | undefined;
  const unsubscribeFailed = ctx.io.onOutputFailed?.((err) => {
    outputFailed ??= err;
    controller.abort();
  });
  let last = '';
  const emit = (answer: StatusEvent) => {
    const status = checkedStatus(answer);
    // One line per change: the status read after (re)connecting, or an event that says nothing new,
    // repeats the last. Under --json a scan or a heartbeat alone is no change (README): they moved
    // only their times, and a line came every scan. The line printed holds them, as they are now.
    const seen = ctx.json ? JSON.stringify(status, withoutLiveness) : watchLine(status);
    if (seen === last) return;
    last = seen;
    ctx.print(ctx.json ? JSON.stringify(status) : `${new Date().toISOString()}  ${seen}`);
  };
  // One outage is said once: its loss, then "reconnected" once a status is read again. Behind a proxy
  // answering the re-read 503 (a rolling restart) each retry reconnects the stream and loses it
  // again: that said "reconnected" and the 503 every time, and a reconnection that was not one.
  // What is said while away: each reason once (the loss, then the proxy's 503).
  const awaySaid = new Set<string>();
  // The status read after (re)connecting, by its versions: events the stream delivered while that
  // read was made describe earlier moments (changes coming fast), and printed after it the watch went
  // backwards (config v190, then v180 ... v190). Those are skipped: an event older than the read, in
  // the moments right after it (a count restarted at the version bound is not held back for long).
  let read: { config: number; presets: number; until: number } | null = null;
  const olderThanRead = (event: StatusEvent) =>
    read !== null &&
    performance.now() < read.until &&
    (event.configVersion < read.config || (event.configVersion === read.config && event.presetsVersion < read.presets));
  try {
    const events = watchSubscription({ ...ctx.settings, reconnectTimeoutMs }, StatusChangedDocument, {}, controller.signal);
    for await (const event of events) {
      if (event.type === 'data') {
        if (!olderThanRead(event.data.statusChanged)) emit(event.data.statusChanged);
      } else if (event.type === 'lost') {
        if (!awaySaid.has(event.reason))
          ctx.warn(
            awaySaid.size === 0
              ? `${event.reason}; reconnecting (for up to ${reconnectTimeoutMs} ms)`
              : `${event.reason}; still reconnecting`,
          );
        awaySaid.add(event.reason);
      } else {
        // The stream is open: now read the status, so nothing that changed before (or while away) is missed.
        let status: StatusEvent;
        try {
          status = (await execute(ctx.settings, StatusDocument)).status;
        } catch (err) {
          // A proxy that already takes the stream while the server behind it restarts answers this
          // read 502/503: the server is not back yet. Reconnected after a loss, that is the loss
          // going on (within the same timeout), not the end: README says exit 5 only past it.
          if (event.reconnected && lostAgain(err)) {
            event.lostAgain((err as Error).message);
            continue;
          }
          throw err;
        }
        if (event.reconnected) ctx.warn(`reconnected to ${ctx.settings.url}`);
        awaySaid.clear();
        read = { config: status.configVersion, presets: status.presetsVersion, until: performance.now() + READ_SETTLE_MS };
        emit(status);
      }
    }
    if (outputFailed) {
      ctx.warn(`stratctl: the output could not be written (${outputFailed.code ?? outputFailed.message}); the watch stopped`);
      return EXIT.unexpected;
    }
    return stoppedBy ? stoppedExitCode(stoppedBy) : EXIT.ok;
  } finally {
    unsubscribe();
    unsubscribeOutput?.();
    unsubscribeFailed?.();
  }
}
