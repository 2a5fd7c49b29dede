import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, NetworkError } from 'graphql-sse';
import {
  adminTokenReplaced,
  bodyData,
  type ClientOptions,
  ControlPlaneError,
  forgetAdminProof,
  newSession,
  queryText,
  readsSendToken,
  refuseRedirect,
  resultData,
  sendWithToken,
  tlsNotTrusted,
} from './http.js';
import { fetchAt, type Peer } from './request.js';

export interface WatchOptions extends ClientOptions {
  /** How long to keep reconnecting after the stream is lost (the server restarting) before giving up; 0: give up at once. */
  reconnectTimeoutMs: number;
  /**
   * How long a request may go without an answer, and an open stream without a byte, before it
   * counts as lost (STREAM_STALL_MS): the server pings every 12 s, so silence means a frozen server
   * or a path that drops packets, which would otherwise hold the watch for ever.
   */
  stallMs?: number;
}

/** 2.5 of the server's 12 s SSE pings. */
export const STREAM_STALL_MS = 30_000;

/** The watchdog's reason: no answer, or silence on an open stream. */
class StallError extends Error {
  override name = 'StallError';
}

/**
 * `fetch` with a watchdog: aborted when the response's headers do not come within `stallMs`, or an
 * event stream's body then goes `stallMs` without a byte. The abort reaches graphql-sse as a broken
 * connection, which is retried (and bounded by the reconnect timeout) like any other.
 */
async function fetchWatched(
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  stallMs: number,
  onStall: (why: string) => void,
  to?: Peer,
): Promise<Response> {
  const watchdog = new AbortController();
  const outer = init?.signal;
  let timer: NodeJS.Timeout | undefined;
  // The attempt is over (ended, broken, aborted): its timer and its listener on graphql-sse's signal
  // go with it. The timer outlived a stream aborted or broken mid-way and, 30 s later, blamed "a
  // frozen server" for a loss that was a restart; a listener per attempt on the signal shared by the
  // retries piled up (MaxListenersExceededWarning on stderr during an outage).
  const onOuterAbort = () => {
    clearTimeout(timer);
    watchdog.abort(outer?.reason);
  };
  const over = () => {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuterAbort);
  };
  if (outer?.aborted) watchdog.abort(outer.reason);
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  const arm = (why: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      onStall(why);
      watchdog.abort(new StallError(why));
    }, stallMs);
    timer.unref();
  };
  const seconds = `${stallMs / 1000} s`;
  arm(`no answer within ${seconds}`);
  let response: Response;
  try {
    // Redirects are not followed (http.ts: refuseRedirect): the caller sees the 3xx.
    // To `to`, where the admin token this request carries was proved (http.ts, tokenToSend).
    response = await (to
      ? fetchAt(input, { ...init, signal: watchdog.signal }, to)
      : fetch(input, { ...init, redirect: 'manual', signal: watchdog.signal }));
  } catch (err) {
    over();
    throw watchdog.signal.reason instanceof StallError ? watchdog.signal.reason : err;
  }
  const body = response.body;
  if (!body || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    over();
    return response;
  }
  const silence = `nothing for ${seconds} (a frozen server, or a network path that drops packets)`;
  arm(silence);
  const reader = body.getReader();
  const watched = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          over();
          controller.close();
          return;
        }
        arm(silence);
        controller.enqueue(value);
      } catch (err) {
        over();
        controller.error(err);
      }
    },
    cancel(reason) {
      over();
      return reader.cancel(reason);
    },
  });
  return new Response(watched, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** What a watched subscription reports, in order. */
export type WatchEvent<TResult> =
  | {
      type: 'connected';
      reconnected: boolean;
      /**
       * The caller's own read after reconnecting failed as a lost stream does (the server unreachable,
       * a proxy's 502/503/504 while it restarts behind it, UNAVAILABLE): this connection is dropped
       * and the watch reconnects again within the same reconnect timeout, counted from the first loss.
       */
      lostAgain(reason: string): void;
    }
  | { type: 'data'; data: TResult }
  | { type: 'lost'; reason: string };

/**
 * The GraphQL result in a refused stream's body. Yoga answers a refused subscription (401, 403) in
 * the stream's own media type: the error is the data of its first `next` event, not a JSON body.
 */
export function refusalBody(contentType: string | null, text: string): string {
  if (!contentType?.toLowerCase().startsWith('text/event-stream')) return text;
  for (const block of text.split(/\r?\n\r?\n/)) {
    const lines = block.split(/\r?\n/);
    if (!lines.some((l) => /^event:\s*next\s*$/.test(l))) continue;
    return lines
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
  }
  return text;
}

const backoff = (retries: number) => Math.min(250 * 2 ** retries, 2_000);

/** Waits `ms`, or less when `signal` aborts. */
const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * A typed subscription over yoga's GraphQL over SSE, through graphql-sse's client (distinct
 * connections mode). When the stream is lost (the server stops or restarts), it reconnects for up
 * to `reconnectTimeoutMs`, then throws ControlPlaneError('unreachable'). A refusal (bad token, bad
 * document) is thrown at once. Every (re)connection is reported, so a caller can re-read the state
 * it may have missed. Ends when `signal` aborts.
 */
export async function* watchSubscription<TResult, TVariables>(
  options: WatchOptions,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables | undefined,
  signal: AbortSignal,
): AsyncGenerator<WatchEvent<TResult>> {
  let lostAt: number | null = null;
  /** Why the last request failed, when the watchdog said (no answer, or silence on the stream). */
  let lastFailure: string | null = null;
  const lostReason = () => `lost the event stream from ${options.url}${lastFailure ? ` (${lastFailure})` : ''}`;
  let refusal: ControlPlaneError | null = null;
  /** The last connection's answer from something in front of the control plane (a proxy's 502), as a read says it. */
  let inFront: ControlPlaneError | null = null;
  const giveUp = (why: string) =>
    new ControlPlaneError('unreachable', `${why}, and it did not come back within ${options.reconnectTimeoutMs} ms`);
  options.session ??= newSession();
  const session = options.session;
  // The token as for a read (src/client/http.ts): sent when the user gave it, or once the server has asked for it on reads.
  const withToken = (init: RequestInit | undefined, token: string | undefined): RequestInit | undefined => {
    if (!token) return init;
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    return { ...init, headers };
  };
  /** Connections tried (fetchFn's calls). */
  let attempts = 0;
  const client = createClient({
    url: options.url,
    // Retries are bounded in time by `retry` below, not by a count.
    retryAttempts: Number.MAX_SAFE_INTEGER,
    retry: async (retries) => {
      if (refusal) throw refusal; // the server answered, and said no: retrying will not change that
      // Never connected: nothing was lost. A server that is not there at the start is "cannot reach"
      // at once (exit 5, as for a one-shot read), not a minute of "lost the event stream; reconnecting".
      if (connections === 0) {
        if (inFront) throw inFront;
        // A certificate not accepted is said as a one-shot read says it (the next step: retrying will not help).
        const untrusted = lastFailure === null ? null : tlsNotTrusted(lastFailure);
        throw new ControlPlaneError(
          'unreachable',
          `cannot reach ${options.url}${untrusted ? `: ${untrusted}` : lastFailure ? ` (${lastFailure})` : ''}`,
        );
      }
      lostAt ??= Date.now();
      if (Date.now() - lostAt >= options.reconnectTimeoutMs) throw giveUp(lostReason());
      // Said now, not after the back-off (up to 2 s in which the last status line stood unqualified).
      lost(lostReason());
      await new Promise((resolve) => setTimeout(resolve, backoff(retries)));
    },
    fetchFn: async (input: RequestInfo | URL, init?: RequestInit) => {
      // Each connection after the first is made after a loss (the stream ended or broke, or the
      // read after reconnecting failed): the server may have stopped, and any local program may have
      // taken its port meanwhile. The admin token's proof goes with the loss: whatever answers now
      // proves again before the token goes to it (it was proved once, and re-sent on every reconnect).
      if (attempts++ > 0) forgetAdminProof(session);
      const fetch = (what: RequestInfo | URL, how: RequestInit | undefined, to: Peer | undefined) =>
        fetchWatched(
          what,
          how,
          options.stallMs ?? STREAM_STALL_MS,
          (why) => {
            lastFailure = why;
          },
          to,
        ).catch((err: unknown) => {
          // Why the connection failed (ECONNREFUSED, ENOTFOUND), as a one-shot read says it: the watch
          // said only "cannot reach <url>", status said "cannot reach <url> (ECONNREFUSED)".
          const code = (err as { cause?: { code?: unknown } }).cause?.code;
          if (typeof code === 'string') lastFailure = code;
          throw err;
        });
      const response = await sendWithToken(options, readsSendToken(options, session), (sending) =>
        fetch(input, withToken(init, sending.token), sending.to),
      );
      refusal = null;
      if (response.status >= 300 && response.status < 400) {
        refusal = await refuseRedirect(options.url, response).then(
          () => null,
          (err: ControlPlaneError) => err,
        );
        return new Response(null, { status: response.status });
      }
      // Something in front of the control plane answering 502/503/504 (its own page, not GraphQL): said
      // as a one-shot read says it if the stream never opens (README: "answered HTTP 502 from something
      // in front of the control plane"), not as a server that is not there.
      inFront = null;
      if (response.status >= 500) {
        try {
          resultData(options.url, response.status, await response.clone().text());
        } catch (err) {
          if (err instanceof ControlPlaneError && err.kind === 'unreachable') inFront = err;
        }
      }
      if (!response.ok && response.status < 500) {
        try {
          resultData(
            options.url,
            response.status,
            refusalBody(response.headers.get('content-type'), await response.clone().text()),
            response.headers.get('retry-after'),
          );
          refusal = new ControlPlaneError('server', `${options.url} refused the event stream (HTTP ${response.status})`, response.status);
        } catch (err) {
          refusal = err instanceof ControlPlaneError ? err : null;
        }
      }
      return response;
    },
  });

  // graphql-sse pushes; this generator pulls: a small queue between them.
  // An end names the subscription it ends (`of`; the abort's names none): one queued before that
  // subscription was replaced (its error, then its completion) is not heard.
  const queue: (
    | WatchEvent<TResult>
    | { type: 'end'; error?: unknown; of?: number }
    | { type: 'lost again'; reason: string; since: number | null }
  )[] = [];
  let wake: (() => void) | null = null;
  const push = (item: (typeof queue)[number]) => {
    queue.push(item);
    wake?.();
  };
  let connections = 0;
  let lossAnnounced = false;
  const lost = (reason: string) => {
    if (lossAnnounced) return;
    lossAnnounced = true;
    push({ type: 'lost', reason });
  };
  /** The subscription in use: one dropped (its connection lost again) completes when aborted, and is not heard. */
  let generation = 0;
  const subscribeOnce = () => {
    const mine = ++generation;
    const current = () => mine === generation;
    return client.subscribe<TResult>(
      { query: queryText(document), variables: (variables ?? {}) as Record<string, unknown> },
      {
        next: (result) => {
          if (!current()) return;
          try {
            push({ type: 'data', data: bodyData(options.url, 200, result as never) });
          } catch (err) {
            push({ type: 'end', error: err, of: mine });
          }
        },
        error: (err) => {
          if (current()) push({ type: 'end', error: err, of: mine });
        },
        complete: () => {
          if (current()) push({ type: 'end', of: mine });
        },
      },
      {
        // A broken connection is retried inside graphql-sse: `connecting(true)` says that is happening.
        connecting: (reconnecting) => {
          if (reconnecting && current()) lost(lostReason());
        },
        connected: () => {
          if (!current()) return;
          const since = lostAt;
          lostAt = null;
          lastFailure = null;
          lossAnnounced = false;
          push({
            type: 'connected',
            reconnected: connections++ > 0,
            lostAgain: (reason) => {
              if (current()) push({ type: 'lost again', reason, since });
            },
          });
        },
      },
    );
  };

  /** Reconnections lost again in the caller's read since one loss (`lostAgainSince`): each waits longer. */
  let lostAgainSince: number | null = null;
  let lostAgainCount = 0;
  let unsubscribe = subscribeOnce();
  const abort = () => push({ type: 'end' });
  signal.addEventListener('abort', abort, { once: true });
  try {
    for (;;) {
      if (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      const item = queue.shift();
      if (!item) continue;
      if (signal.aborted) return;
      if (item.type === 'lost again') {
        // A proxy that takes the stream but answers reads 503 while the server behind it restarts:
        // reconnected at once, and lost again, until it is back or the first loss's deadline passes.
        lostAt = item.since ?? Date.now();
        if (lostAgainSince !== lostAt) {
          lostAgainSince = lostAt;
          lostAgainCount = 0;
        }
        if (Date.now() - lostAt >= options.reconnectTimeoutMs) throw giveUp(item.reason);
        generation += 1; // its end, on being aborted, is not a loss of its own
        unsubscribe();
        lossAnnounced = true;
        yield { type: 'lost', reason: item.reason };
        await pause(backoff(lostAgainCount++), signal);
        if (signal.aborted) return;
        unsubscribe = subscribeOnce();
        continue;
      }
      if (item.type !== 'end') {
        yield item;
        continue;
      }
      if (item.of !== undefined && item.of !== generation) continue;
      // The stream ended for its token (the server ends those of a replaced admin token): when the
      // runtime dir's admin.token was replaced, subscribe again with the token it holds now.
      if (item.error instanceof ControlPlaneError && item.error.code === 'UNAUTHENTICATED' && (await adminTokenReplaced(options))) {
        unsubscribe();
        unsubscribe = subscribeOnce();
        continue;
      }
      if (item.error instanceof ControlPlaneError) throw item.error;
      if (item.error !== undefined && !(item.error instanceof NetworkError)) throw item.error;
      // The server completed the stream (it is stopping) or the connection broke: subscribe again.
      const reason = item.error === undefined ? `${options.url} ended the event stream (server stopping?)` : lostReason();
      if (options.reconnectTimeoutMs <= 0) throw new ControlPlaneError('unreachable', reason);
      lostAt ??= Date.now();
      lost(reason);
      unsubscribe();
      unsubscribe = subscribeOnce();
    }
  } finally {
    signal.removeEventListener('abort', abort);
    unsubscribe();
    client.dispose();
  }
}
