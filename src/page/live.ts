import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type Client, createClient, type ExecutionResult, NetworkError } from 'graphql-sse';
import { documentText, FAILED_AUTH_LIMITED, fetchAnswered, NO_ANSWER_MS, tokenRefusal } from './api.js';

/** Where the live connection stands, as the page shows it. */
export type LiveState =
  | { kind: 'connecting' }
  | { kind: 'open' }
  | { kind: 'down'; reason: string; since: number; attempt: number }
  /** The server needs a token even to read, and the page has none: not retried until one is entered (`restart`). */
  | { kind: 'needsToken' }
  /** The tab has been hidden for HIDDEN_PAUSE_MS: its connection is closed until it is shown again. */
  | { kind: 'paused' };

export interface LiveSubscription<R> {
  readonly document: TypedDocumentNode<R, Record<string, never>>;
  readonly onData: (data: R) => void;
}

export interface LiveOptions {
  /** graphql-sse's single-connection endpoint. */
  url: string;
  token: () => string | null;
  subscriptions: readonly LiveSubscription<any>[];
  onState: (state: LiveState) => void;
  /** Every subscription is accepted by the server (first time or again): refetch the queries now. */
  onOpen: (reopened: boolean) => void;
  /** The server refused the token (401). */
  onUnauthorized: (message: string) => void;
  /**
   * False: the tab's visibility is someone else's business (a tab sharing its connection with the
   * page's other tabs, src/page/shared-live.ts, decides when to hold it). Default true: hidden for
   * HIDDEN_PAUSE_MS, the connection closes.
   */
  pausesWhenHidden?: boolean;
}

/** A random operation id; getRandomValues, unlike randomUUID, also exists outside secure contexts (plain http to a LAN address). */
function operationId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** While live, the page asks the server's /health this often... */
export const PROBE_EVERY_MS = 10_000;
// ...and takes no answer within NO_ANSWER_MS (api.ts; or a request of the protocol unanswered that long) as a server gone quiet.

/**
 * graphql-sse's handler writes a ping (an SSE comment) on every open stream this often
 * (graphql-sse/lib/handler.js, not exported: the browser test checks the figure against it)...
 */
export const STREAM_PING_MS = 12_000;
/**
 * ...so a stream that has brought nothing, not even a ping, this long has lost one: a path that
 * stopped passing bytes (a NAT or firewall entry lost as a laptop slept) while new connections work.
 * One ping missed, and a margin for a loaded machine.
 */
export const STREAM_SILENT_MS = STREAM_PING_MS + 3_000;
/** The page looks at its stream's silence this often... */
const WATCH_EVERY_MS = 1_000;
/** ...and a look this much later than asked for means the page did not run meanwhile (a laptop asleep, a frozen tab). */
export const LATE_TIMER_MS = 5_000;

/**
 * A tab hidden this long closes its live connection, and opens it again (refetching) when shown.
 * Browsers give a server 6 HTTP/1.1 connections, shared by all tabs: each tab's SSE stream held
 * one for good, so a sixth tab of the page waited for ever (and its requests with it). Now only
 * the tabs someone can see hold one (and where they can, they share one: src/page/shared-live.ts).
 */
export const HIDDEN_PAUSE_MS = 10_000;

/** 0.5 s, 1 s, 2 s, 4 s, then every 5 s: quick after a restart, gentle during an outage. */
export const backoffMs = (attempt: number) => Math.min(500 * 2 ** attempt, 5000);

/**
 * The hidden-tab pause (one tab's connection, or its place in a shared one): hidden HIDDEN_PAUSE_MS,
 * `pause` runs (a quick look at another tab keeps the connection); shown again, a pending pause is
 * dropped, and `resume` runs if it had paused. Nothing while the page waits for a token.
 */
export class HiddenPause {
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly kind: () => LiveState['kind'],
    private readonly pause: () => void,
    private readonly resume: () => void,
  ) {}

  visibilityChanged(): void {
    if (document.hidden) {
      if (this.timer !== null || this.kind() === 'paused' || this.kind() === 'needsToken') return;
      this.timer = setTimeout(() => {
        this.timer = null;
        if (document.hidden && this.kind() !== 'needsToken') this.pause();
      }, HIDDEN_PAUSE_MS);
      return;
    }
    this.cancel();
    if (this.kind() === 'paused') this.resume();
  }

  /** A pause pending is dropped (the tab paused or stopped for another reason). */
  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * All the page's subscriptions over ONE SSE connection (graphql-sse's single-connection mode).
 * The page counts as live once the server has accepted every subscription (each POST answered
 * 202): from then on no change can be missed, so that is when the queries are refetched. When
 * the server goes away (stream broken, or the server ends the subscriptions as it stops) the
 * page says so and keeps trying, forever, with a capped backoff.
 */
export class Live {
  private client: Client<true> | null = null;
  /** Aborts every request of the current connection (its stream, a PUT or POST still waiting) when it is dropped. */
  private requests: AbortController | null = null;
  /** The next attempt to connect, while the live connection is down. */
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private generation = 0;
  private accepted = new Set<string>();
  private everOpen = false;
  private state: LiveState = { kind: 'connecting' };
  private downSince = 0;
  private attempts = 0;
  /** The server's words when it refused a subscription with 429 (its per-address limit), until one is accepted. */
  private refusedBy: string | null = null;

  constructor(private readonly options: LiveOptions) {}

  private readonly hiddenPause = new HiddenPause(
    () => this.state.kind,
    () => this.pause(),
    () => this.connect(),
  );
  private probeTimer: ReturnType<typeof setInterval> | null = null;
  /** Looks at the stream's silence every WATCH_EVERY_MS (`watch`). */
  private watchTimer: ReturnType<typeof setInterval> | null = null;
  /** When the current stream last brought anything (an event, a ping), and when `watch` last looked (Date.now()). */
  private heardAt = 0;
  private watchedAt = 0;
  private readonly onVisibility = () => {
    if (this.options.pausesWhenHidden !== false) this.hiddenPause.visibilityChanged();
    if (!document.hidden) void this.probe();
  };
  private readonly onOnline = () => void this.probe();

  start(): void {
    this.probeTimer = setInterval(() => void this.probe(), PROBE_EVERY_MS);
    this.watchedAt = Date.now();
    this.watchTimer = setInterval(() => this.watch(), WATCH_EVERY_MS);
    // Back in sight, or back on a network: the server is asked at once, not at the next probe.
    document.addEventListener('visibilitychange', this.onVisibility);
    addEventListener('online', this.onOnline);
    // A tab opened in the background connects once it is first shown.
    if (document.hidden && this.options.pausesWhenHidden !== false) this.pause();
    else this.connect();
  }

  /** Ends the connection for good (a tab that no longer leads its group): nothing of it runs on, and no state is told. */
  stop(): void {
    document.removeEventListener('visibilitychange', this.onVisibility);
    removeEventListener('online', this.onOnline);
    if (this.probeTimer !== null) clearInterval(this.probeTimer);
    if (this.watchTimer !== null) clearInterval(this.watchTimer);
    this.probeTimer = null;
    this.watchTimer = null;
    this.hiddenPause.cancel();
    this.drop();
  }

  /** Closes the connection (its subscriptions end on the server) until the tab is shown. */
  private pause(): void {
    this.drop();
    this.setState({ kind: 'paused' });
  }

  /**
   * Ends the current connection: its generation is over (nothing it still reports counts), every
   * request it made is aborted, its stream included, and a reconnect it was waiting for is off.
   * Disposing graphql-sse's client was not enough: a stream it had replaced (it reconnected twice
   * at once, one per subscription) was never aborted, and each held one of the browser's 6
   * connections per server for good: three tabs and a server restart filled them, and every tab
   * read "Offline" while the server was fine.
   */
  private drop(): void {
    this.generation++;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const { client, requests } = this;
    this.client = null;
    this.requests = null;
    this.accepted.clear();
    requests?.abort(new Error('the live connection was replaced'));
    client?.dispose();
  }

  /**
   * An SSE stream can hang without an error: a server stopped (SIGSTOP, a paused VM) or a network
   * path that silently drops packets leaves the socket open, and the page went on saying "Live"
   * (and the runner "scanning on schedule", its last scan a minute old) over data nobody was
   * updating. While live, the page asks /health every PROBE_EVERY_MS; no answer within NO_ANSWER_MS
   * and it says so, drops the connection and starts over (refetching once the server accepts the
   * subscriptions again).
   */
  private async probe(): Promise<void> {
    if (this.state.kind !== 'open') return;
    const generation = this.generation;
    let answered = false;
    try {
      answered = (await fetchAnswered('/health', { cache: 'no-store', credentials: 'omit' }, NO_ANSWER_MS)).ok;
    } catch {
      answered = false;
    }
    if (answered || generation !== this.generation || this.state.kind !== 'open') return;
    this.connect(`No answer from the server within ${NO_ANSWER_MS / 1000} s`);
  }

  /**
   * The /health probe cannot tell a dead stream from a live one when only the stream's path is
   * gone: a NAT or firewall entry lost as a laptop slept stops the bytes of open connections while
   * new ones (each probe) get through. The page said "Live" over data nobody sent it for up to 13 s,
   * then "Offline" 10 s with the server reachable. The stream itself is watched now: nothing on it
   * (not even the server's ping) for STREAM_SILENT_MS, and the page says so and starts over
   * (refetching once the server accepts the subscriptions again).
   * A look that comes LATE_TIMER_MS late means the page did not run (a laptop asleep): the server
   * is asked at once, and the silence is counted from now, since a stream that outlived the sleep
   * brings its next ping within STREAM_PING_MS (starting over at every wake would refetch everything
   * after any pause of the page).
   */
  private watch(): void {
    const now = Date.now();
    const late = now - this.watchedAt - WATCH_EVERY_MS;
    this.watchedAt = now;
    if (late > LATE_TIMER_MS) {
      this.heardAt = now;
      void this.probe();
      return;
    }
    if (this.state.kind === 'open' && now - this.heardAt > STREAM_SILENT_MS)
      this.connect(`Nothing from the server on the live connection for ${STREAM_SILENT_MS / 1000} s`);
  }

  /** Stops trying until `restart`: what is pending of this connection is dropped (its generation is over). */
  private park(): void {
    // Called from within a request of the connection: it is ended once that request has returned.
    const generation = ++this.generation;
    queueMicrotask(() => {
      if (generation === this.generation) this.drop();
    });
    this.accepted.clear();
    this.setState({ kind: 'needsToken' });
  }

  /** Starts over with the current token (the old connection and its subscriptions end). */
  restart(): void {
    this.drop();
    // Hidden (a token dropped by a refusal in a background tab): the new token is used once the tab is shown.
    if (document.hidden) this.pause();
    else this.connect();
  }

  /**
   * Why the live connection is down: the server's refusal when it answered 429 (the 17th
   * subscription from one address: each live connection holds 2), which is not "cannot be reached".
   */
  private unreachable(): string {
    return this.refusedBy
      ? `${this.refusedBy}: this address has too many live connections open (2 subscriptions each: one per browser and token, or per tab where a browser cannot share it); close other browsers or tabs of this page`
      : 'The server cannot be reached';
  }

  private setState(state: LiveState): void {
    this.state = state;
    this.options.onState(state);
  }

  private down(reason: string): void {
    if (this.state.kind !== 'down') this.downSince = Date.now();
    this.setState({ kind: 'down', reason, since: this.downSince, attempt: this.attempts });
  }

  /**
   * The page's one reconnect loop: connection `generation` broke, or the server ended one of its
   * subscriptions (it ends them all as it stops). The whole connection is dropped, and a new one
   * made after the backoff (0.5 s, 1 s, 2 s, 4 s, then every 5 s, until one is accepted).
   * graphql-sse's own retries are off: in single-connection mode each subscription reconnected on
   * its own, so every step sent two PUTs and opened two streams, and the page re-subscribed on top.
   */
  private retryLater(generation: number, reason: string): void {
    if (generation !== this.generation) return; // this connection is already being replaced
    this.drop();
    const wait = backoffMs(this.attempts);
    this.attempts++;
    this.down(reason);
    const next = this.generation;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (next === this.generation) this.connect(reason);
    }, wait);
  }

  /** `downBecause`: the old connection was dropped for this reason (the page says it is down until the new one is accepted). */
  private connect(downBecause?: string): void {
    this.drop();
    const generation = this.generation;
    const requests = new AbortController();
    this.requests = requests;
    if (downBecause === undefined) this.setState({ kind: 'connecting' });
    else this.down(downBecause);
    const client = createClient({
      singleConnection: true,
      url: this.options.url,
      headers: (): Record<string, string> => {
        const token = this.options.token();
        return token ? { authorization: `Bearer ${token}` } : {};
      },
      // The page reconnects (retryLater), graphql-sse does not: one loop, one stream at a time.
      retryAttempts: 0,
      generateID: operationId,
      fetchFn: (input: RequestInfo | URL, init?: RequestInit) => this.observe(input, init, generation, requests.signal),
    });
    this.client = client;
    for (const subscription of this.options.subscriptions) this.subscribe(client, subscription, generation);
  }

  /** Sees the protocol's answers: a 202 to an operation's POST means the server now holds that subscription. */
  private async observe(
    input: RequestInfo | URL,
    init: RequestInit | undefined,
    generation: number,
    dropped: AbortSignal,
  ): Promise<Response> {
    // A connection being replaced (a new token) ends with its stream, and the server ends every
    // operation on a stream when it closes. graphql-sse's client still sends a DELETE per operation
    // as it is disposed, racing that close: when the close wins, the server no longer knows the
    // stream and answers 404, which the browser logs as an error. They are answered here instead.
    if (generation !== this.generation && init?.method === 'DELETE') return new Response(null, { status: 200 });
    // A request of the protocol that gets no answer (a server gone quiet) fails after NO_ANSWER_MS, and
    // the client retries: unbounded, the page waited on it forever, even once the server was back.
    const response = await fetchAnswered(input, { ...init, cache: 'no-store', credentials: 'omit' }, NO_ANSWER_MS, dropped);
    if (generation !== this.generation) return response;
    if (response.status === 401 || response.status === 429) {
      const body = (await response
        .clone()
        .json()
        .catch(() => null)) as { errors?: { message?: string; extensions?: unknown }[] } | null;
      const message = body?.errors?.[0]?.message;
      // A 429 is the token's only from the failed-auth limit (a token it refused without checking,
      // see Api.run); the subscriptions-per-client limit answers 429 too, and is no news of the token.
      const tokens = response.status === 401 || message === FAILED_AUTH_LIMITED;
      if (tokens && this.options.token()) this.options.onUnauthorized(tokenRefusal(body?.errors?.[0]));
      // No token, and reads need one: retrying cannot help (it asked every 5 s for ever); a token entered restarts it.
      else if (response.status === 401) this.park();
      if (!tokens) this.refusedBy = message ?? 'Too many requests';
    }
    if (response.status === 202) this.refusedBy = null;
    if (init?.method === 'POST' && response.status === 202 && typeof init.body === 'string') {
      const name = (JSON.parse(init.body) as { operationName?: string }).operationName ?? '';
      this.accepted.add(name);
      if (this.accepted.size === this.options.subscriptions.length && this.state.kind !== 'open') {
        const reopened = this.everOpen;
        this.everOpen = true;
        this.attempts = 0;
        this.heardAt = Date.now();
        this.setState({ kind: 'open' });
        this.options.onOpen(reopened);
      }
    }
    // The stream: every chunk it brings (events, the server's pings) is news that it still runs (`watch`).
    if (response.body && response.headers.get('content-type')?.startsWith('text/event-stream')) {
      this.heardAt = Date.now();
      const heard = new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, out) => {
          if (generation === this.generation) this.heardAt = Date.now();
          out.enqueue(chunk);
        },
      });
      const { status, statusText, headers } = response;
      return new Response(response.body.pipeThrough(heard), { status, statusText, headers });
    }
    return response;
  }

  private subscribe<R>(client: Client<true>, subscription: LiveSubscription<R>, generation: number): void {
    const { query, operationName } = documentText(subscription.document);
    /** The server's own words when it refused this subscription (shown as the reason). */
    let refusal: string | null = null;
    client.subscribe(
      { query, operationName },
      {
        next: (result: ExecutionResult<Record<string, unknown>, unknown>) => {
          if (generation !== this.generation) return;
          if (result.data) subscription.onData(result.data as R);
          if (result.errors?.length) refusal = result.errors.map((e) => e.message).join('; ');
          // A token revoked while its stream is open is refused on the stream itself.
          const refused = result.errors?.find((e) => (e.extensions as { code?: unknown } | undefined)?.code === 'UNAUTHENTICATED');
          if (refused && this.options.token()) this.options.onUnauthorized(tokenRefusal(refused));
          // No token, and reads need one: asking again cannot help; a token entered restarts it.
          else if (refused) this.park();
        },
        // A NetworkError: the server refused or did not answer a request of the protocol, or the stream broke.
        error: (error: unknown) =>
          this.retryLater(
            generation,
            this.refusedBy || error instanceof NetworkError
              ? this.unreachable()
              : error instanceof Error
                ? error.message
                : 'The live connection failed',
          ),
        complete: () => this.retryLater(generation, refusal ? `Live updates refused: ${refusal}` : 'The server ended the live updates'),
      },
    );
  }
}
