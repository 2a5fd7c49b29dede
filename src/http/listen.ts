import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Plugin } from 'graphql-yoga';
import { Counter, Gauge, Registry } from 'prom-client';
import { jitExecutionPlugin } from '../graphql/jit.js';
import { endableSubscriptions } from '../graphql/plugins/end-subscriptions.js';
import { GRAPHQL_SSE_PATH } from '../graphql/sse.js';
import { type ControlPlaneYoga, createControlPlaneYoga, playgroundOptions } from '../graphql/yoga.js';
import { CONNECTION_LIMITS, MAX_REQUEST_BODY_BYTES } from '../limit-defaults.js';
import { droppedLogLines, type Later, type Logger } from '../log.js';
import { createControlPlaneMetrics } from '../metrics/control-plane-metrics.js';
import { graphqlMetricsPlugin } from '../metrics/graphql-metrics.js';
import { processRegistry } from '../metrics/process-metrics.js';
import { runTurnPolls, turnPollsDue } from '../turn-polls.js';
import { clientKeyOf } from './client-key.js';
import { ConnectionBurst } from './connection-burst.js';
import { CHECK_INTERVAL_MS, guardConnections, type TrackedRequest } from './connections.js';
import { compose, type Exchange, type MaybePromise, type Reply, type Step } from './exchange.js';
import { type FastLaneOptions, fastLaneRoute } from './fast-lane/route.js';
import { graphiqlRoute, productionPlaygroundNotice } from './graphiql-route.js';
import { inProcessAuthorizer, inProcessRunner } from './in-process.js';
import { type LimitReason, limitCounter } from './limit-counter.js';
import { metricsRoute } from './metrics-route.js';
import { createOperatorPage, type OperatorPageOptions, pageRoutes } from './page.js';
import { clientErrorHandler } from './parser-refusal.js';
import type { HttpPlane, HttpSecurity } from './plane.js';
import { PROBE_PATHS, probeRoutes } from './probes.js';
import { refusalBody, refusals } from './refusal.js';
import { restRoutes } from './rest.js';
import { type Route, router } from './router.js';
import { type StreamOptions, sendReply } from './send.js';
import { authFailureLimitStep, DEFAULT_AUTH_FAILURES_PER_MINUTE } from './steps/auth-failure-limit.js';
import { bodyLimitStep } from './steps/body-limit.js';
import { compressionStep } from './steps/compression.js';
import { guardStep } from './steps/guard.js';
import { hostCheckStep, isLoopbackAddress, LOOPBACK_HOSTNAMES } from './steps/host-check.js';
import { requestIdStep } from './steps/request-id.js';
import { requestMetricsStep } from './steps/request-metrics.js';
import { TurnWriter } from './turn-writer.js';
import { yogaParseErrorsPlugin } from './yoga-parse-errors.js';
import { GRAPHQL_METHODS, GRAPHQL_SSE_METHODS, yogaHandler } from './yoga-route.js';

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const CLOSE_CONNECTION: Record<string, string> = Object.freeze({ connection: 'close' }) as Record<string, string>;

/** How long `close()` lets in-flight requests finish before it closes their connections. */
export const DRAIN_MS = 10_000;
/**
 * During a burst of new connections, how many waiting requests a turn of the event loop runs
 * (connection-burst.ts). Fewer drain the accept queue faster: an activation on a new connection
 * 100 ms into a 200-connection storm took 13-82 ms with 4, 58-143 with 16, 104-196 with 64 and
 * 68-315 without (5 storms each, interleaved). Not fewer than 4: a client opening connections
 * without pause keeps a burst going, and the turns' fixed cost would then bound the throughput.
 */
const BURST_REQUESTS_PER_TURN = 4;
/**
 * How many requests of one connection may be in progress at once (their answers built, or being
 * built, and not yet written). HTTP/1.1 lets a client send requests without waiting for the
 * answers, and they are answered in order: a client that pipelines and does not read made the
 * server build and hold an answer for every request it had sent (~2,000 /metrics answers, ~70 MB,
 * per connection; plain node:http buffers the same). Past this, the connection's further requests
 * wait unrun and it is no longer read: pausing is TCP's own backpressure, so a client that
 * pipelines many requests and reads its answers is still answered in full (closing it would cut
 * off a correct client), and one that does not read holds at most this many answers, plus the
 * unrun requests of the one read (64 KB) in progress when the pause came.
 */
export const MAX_PIPELINED_PER_CONNECTION = 32;

export interface ListenOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** More yoga plugins, after the control plane's own (tests count what reaches yoga's HTTP handling). */
  yogaPlugins?: Plugin[];
  /** The clock the limits read (tests inject one). */
  now?: () => number;
  /** The timers the limits set: the drop of a stream reservation nobody opened (tests run them by hand). */
  later?: Later;
  /**
   * Told of everything a limit refused or ended, by reason (request metrics): requests refused before
   * GraphQL, GraphQL's per-request limits, connections closed at a cap, streams of slow readers.
   * `status` is the HTTP status answered (0: a connection or stream closed without an answer).
   */
  onRefusal?: (reason: LimitReason, status: number) => void;
  /** How long `close()` waits for in-flight requests (default 10 s). */
  drainMs?: number;
  /** HTTP-level limits beyond the defaults. */
  security?: HttpSecurity;
  /** The operator page at `/` (default: the build in dist/page). */
  page?: OperatorPageOptions;
  /** The `/graphql` fast lane in front of yoga, its JIT and response cache (all on by default). */
  fastLane?: FastLaneOptions;
}

export interface HttpServer {
  /** `http://host:port/graphql` */
  readonly url: string;
  readonly origin: string;
  readonly server: Server;
  /** The GraphQL server the adapter built (tests run documents through its envelop orchestrator). */
  readonly yoga: ControlPlaneYoga;
  /** Stops accepting, ends subscriptions, waits for in-flight requests (at most 10 s), then closes every connection. Idempotent. */
  close(): Promise<void>;
  /** What the limits refused so far, by reason (for `/metrics`: `control_plane_refusals_total{reason}`). */
  refusals(): Readonly<Record<string, number>>;
  /** Open connections now. */
  connections(): number;
  /** Requests whose answer is not finished (what `close()` waits for), and how many of them wait to run behind a connection's earlier ones. */
  requests(): { inFlight: number; waiting: number };
}

/** Where the adapter's shared listeners find a request's exchange (one function per event for every request, no closures). */
const EXCHANGE = Symbol('exchange');
type Carrier = { [EXCHANGE]?: HttpExchange };

/** Where a socket keeps its connection's requests in progress, once it has had two at once. */
const PIPELINE = Symbol('pipeline');
/**
 * A connection's one request in progress while it has never had two at once (the usual client,
 * one request at a time): no record for it, whose response's `close` always comes. A Set add and
 * delete per request cost reads ~0.7 µs of CPU each (same-run A/B), a fifth of the bookkeeping's.
 */
const ALONE = Symbol('alone');
type PipelinedSocket = Socket & { [PIPELINE]?: Pipeline; [ALONE]?: HttpExchange | null };
/**
 * A connection's requests whose answer is not finished, and those waiting to run (past
 * `MAX_PIPELINED_PER_CONNECTION`). Its own record: Node never emits `close` on the response of a
 * pipelined request still queued behind an unfinished answer when the connection closes (it only
 * destroys the requests), so those exchanges would never end.
 */
interface Pipeline {
  readonly socket: PipelinedSocket;
  readonly unfinished: Set<HttpExchange>;
  /** Requests not run yet, in order (the connection is paused while any wait). */
  readonly waiting: HttpExchange[];
  closed: boolean;
}

/** What an exchange reports back to its server: its body is here (run the chain), its answer finished or the client went away. */
interface ExchangeOwner {
  run(exchange: HttpExchange): void;
  ended(exchange: HttpExchange): void;
}

function onBodyData(this: IncomingMessage, chunk: Buffer): void {
  (this as IncomingMessage & Carrier)[EXCHANGE]?.bodyChunk(chunk);
}
function onBodyEnd(this: IncomingMessage): void {
  (this as IncomingMessage & Carrier)[EXCHANGE]?.bodyRead(this.complete);
}
function onResponseClose(this: ServerResponse): void {
  (this as ServerResponse & Carrier)[EXCHANGE]?.closed();
}

/**
 * One request's exchange. A class, so every exchange has the same shape (an object literal with a
 * getter got a new hidden class per request: every step touching it went megamorphic, ~9 us a
 * request). The AbortSignal is made when a route asks for it (yoga's path, streams): most never do.
 * Its events (the body's chunks and end, the response's close) reach it through listeners shared
 * by every request, so a request costs no closures (each was an allocation, and esbuild's
 * keepNames adds a defineProperty call to every named one).
 */
class HttpExchange implements Exchange {
  readonly method: string;
  readonly target: string;
  readonly path: string;
  requestId = '';
  host = '';
  body: Buffer | null = null;
  prefetched: Buffer | undefined = undefined;
  /** The connection guard's record of this request. */
  tracked: TrackedRequest | undefined = undefined;
  /** Its answer while it waits for the end of the turn (`TurnWriter`). */
  answer: Reply | null = null;
  /** Its connection's record, until the exchange ends. */
  pipeline: Pipeline | null = null;
  private controller: AbortController | null = null;
  private gone = false;
  private over = false;
  /** The body being read before the chain runs (`prefetch`): its first chunk, and any more. */
  private reading = false;
  private firstChunk: Buffer | null = null;
  private moreChunks: Buffer[] | null = null;
  private bodySize = 0;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    public log: Logger,
    readonly clientKey: string,
    private readonly owner: ExchangeOwner,
  ) {
    const target = req.url ?? '';
    this.method = req.method ?? 'GET';
    this.target = target;
    const query = target.indexOf('?');
    this.path = query === -1 ? target : target.slice(0, query);
    (res as ServerResponse & Carrier)[EXCHANGE] = this;
    res.on('close', onResponseClose);
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.gone) this.controller.abort();
    }
    return this.controller.signal;
  }

  /** The client went away before the answer was finished. */
  abort(): void {
    this.gone = true;
    this.controller?.abort();
  }

  /**
   * Reads the whole body, then runs the chain with it as `prefetched`; or without it, when the
   * client went away first (the body step then finds the request gone, as it would have).
   */
  prefetch(): void {
    this.reading = true;
    const req = this.req as IncomingMessage & Carrier;
    req[EXCHANGE] = this;
    req.on('data', onBodyData);
    req.on('end', onBodyEnd);
  }

  bodyChunk(chunk: Buffer): void {
    if (!this.reading) return;
    if (this.firstChunk === null) this.firstChunk = chunk;
    else if (this.moreChunks === null) this.moreChunks = [this.firstChunk, chunk];
    else this.moreChunks.push(chunk);
    this.bodySize += chunk.byteLength;
  }

  /** Node's parser holds a body to its Content-Length, so an ended body is whole (the step still checks its size). */
  bodyRead(complete: boolean): void {
    if (!this.reading) return;
    this.reading = false;
    if (complete && this.firstChunk !== null) {
      this.prefetched = this.moreChunks !== null ? Buffer.concat(this.moreChunks, this.bodySize) : this.firstChunk;
    }
    this.firstChunk = null;
    this.moreChunks = null;
    this.owner.run(this);
  }

  /** The response's `close`: its answer finished, or the client went away (then streams end, work stops). */
  closed(): void {
    // Once: ended with its connection (Pipeline), then its response's own `close` may follow.
    if (this.over) return;
    this.over = true;
    if (!this.res.writableFinished) this.abort();
    // Gone while its body was still arriving: the chain runs without it, and finds the request gone.
    if (this.reading) {
      this.reading = false;
      this.firstChunk = null;
      this.moreChunks = null;
      this.owner.run(this);
    }
    this.owner.ended(this);
  }
}

/**
 * The node:http adapter. Every request passes one policy chain, once, in this order: request id,
 * request metrics, a guard that turns any failure into a JSON 500, Host and target check, failed-auth
 * limit, body limit, response compression; then the route table. Yoga (built here from the plane) answers only
 * /graphql; the REST routes run their documents in process through yoga's envelop orchestrator.
 */
export async function listenHttp(plane: HttpPlane, options: ListenOptions): Promise<HttpServer> {
  const security = options.security ?? {};
  const now = options.now ?? Date.now;
  const subscriptions = endableSubscriptions();
  // One registry per server (tests run many in one process): GraphQL and control-plane metrics; /metrics adds the process's.
  const registry = new Registry();
  const metrics = createControlPlaneMetrics(
    { ...plane.services, tokenNow: plane.settings.now, droppedLogLines: () => droppedLogLines(plane.logger) },
    registry,
  );
  new Gauge({
    name: 'control_plane_subscriptions',
    help: 'GraphQL subscriptions open now (over SSE: the operator page holds two per browser and token, stratctl status --watch one).',
    registers: [registry],
    collect() {
      this.set(subscriptions.openCount());
    },
  });
  // Everything a limit refuses or ends: counted by reason (the metric, and refusals() for tests), logged at a bounded rate.
  const limits = limitCounter({ logger: plane.logger, now });
  const counted = (reason: LimitReason, status: number) => {
    metrics.refusal(reason, status);
    options.onRefusal?.(reason, status);
  };
  const yoga = createControlPlaneYoga({
    services: plane.services,
    authenticator: plane.services.authenticator,
    logger: plane.logger,
    production: plane.settings.production,
    readsRequireToken: plane.settings.readsRequireToken,
    queryLimits: security.queryLimits,
    onDocumentRefusal: (reason) => {
      limits.add(reason, `request refused: ${reason}`);
      counted(reason, reason === 'subscriptions-per-client' ? 429 : 400);
    },
    costLimits: security.costLimits,
    maxResponseBytes: security.maxResponseBytes,
    maxSubscriptionsPerClient: security.maxSubscriptionsPerClient,
    // A /graphql/stream reservation subscribed on but never opened is the slowest reader of all.
    maxStreamBufferBytes: security.maxStreamBufferBytes,
    onSlowReader: (queued) => {
      limits.add('slow-reader', 'stream reservation dropped: more of its events waited for its GET than a reader may leave unread', {
        buffered: queued,
      });
      counted('slow-reader', 0);
    },
    later: options.later,
    tokenRecheckMs: security.tokenRecheckMs,
    plugins: [
      yogaParseErrorsPlugin(),
      subscriptions.plugin,
      graphqlMetricsPlugin(registry),
      jitExecutionPlugin(options.fastLane?.jitCompiles),
      ...(options.yogaPlugins ?? []),
    ],
  });
  const refuse = refusals({
    now,
    faults: plane.services.faultLog,
    // One log budget for every refusal, the chain's and the other limits' alike.
    log: limits.log,
    onRefusal: (reason, status) => {
      limits.add(reason);
      counted(reason, status);
    },
  });
  let closing = false;

  const yogaRoute = yogaHandler(yoga);
  const lane =
    (options.fastLane?.enabled ?? true)
      ? fastLaneRoute(yoga, plane.services, plane.services.authenticator, yogaRoute, options.fastLane)
      : null;
  // One entry per route. The fast lane goes in front of yoga as a `/graphql` entry that `accepts`
  // plain JSON POSTs; the operator page is an entry like /version.
  const page = createOperatorPage(options.page);
  const routes: Route[] = [
    ...probeRoutes(plane, now, { behindTlsProxy: security.behindTlsProxy }),
    metricsRoute(plane, [processRegistry(), registry]),
    ...restRoutes(inProcessRunner(yoga, plane.services.faultLog), inProcessAuthorizer(yoga)),
    ...(lane ? [lane] : []),
    // GraphiQL (not in production mode): a browser's GET; yoga answers the rest of /graphql.
    ...(plane.settings.production ? [productionPlaygroundNotice()] : [graphiqlRoute(playgroundOptions(plane.settings.readsRequireToken))]),
    { path: '/graphql', methods: GRAPHQL_METHODS, handle: yogaRoute },
    // graphql-sse's single-connection mode (the operator page's one SSE connection per browser and token, src/page/shared-live.ts): yoga's HTTP handling.
    { path: GRAPHQL_SSE_PATH, methods: GRAPHQL_SSE_METHODS, handle: yogaHandler(yoga) },
    ...pageRoutes(page),
  ];
  const allowedHostnames =
    security.allowedHostnames ?? (isLoopbackAddress(options.host) ? [...LOOPBACK_HOSTNAMES, options.host] : undefined);
  const chain: Step[] = [
    requestIdStep(plane.logger),
    requestMetricsStep({ routes: routes.map((r) => r.path), record: metrics.request, accessLog: plane.logger.isLevelEnabled('debug') }),
    guardStep(refuse),
    hostCheckStep(refuse, { allowedHostnames }),
    authFailureLimitStep(refuse, {
      failuresPerMinute: security.authFailures?.failuresPerMinute ?? DEFAULT_AUTH_FAILURES_PER_MINUTE,
      authenticator: plane.services.authenticator,
      onFailure: () => metrics.authFailure(),
      // The probes and the operator page (its HTML and assets) never read a token.
      tokenFree: (path) => PROBE_PATHS.has(path) || page.handles(path),
    }),
    bodyLimitStep(refuse, security.maxRequestBodyBytes ?? MAX_REQUEST_BODY_BYTES),
    compressionStep(),
  ];
  const handle = compose(chain, router(routes, refuse));

  // Requests whose answer is not finished (close() waits for them).
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const bodyLimit = security.maxRequestBodyBytes ?? MAX_REQUEST_BODY_BYTES;
  const behindTlsProxy = security.behindTlsProxy ?? false;
  /**
   * The last request's objects, kept reachable after it ended: its exchange (with its request,
   * response and socket) and the last end-of-turn Immediate. V8's optimized code names the maps
   * (and some objects) it was specialized on and holds them weakly. After a quiet spell every
   * connection has closed, and the next full collection (the idle one, heap-tuning.ts, or V8's
   * own) found those maps dead and threw away the code naming them: ~150 functions of the request
   * path (--trace-deopt, "weak objects"), so the next burst's first second ran at about half speed
   * while V8 optimized them again (CPU per cached read, 1-s slices after 15 s idle: 51, 30, then
   * 25.5 us; back to back: 25.5). Kept, 2-3 such deopts instead of ~150; `bench/ab.ts status`
   * (each server idle ~12 s between its rounds, as in `npm run bench`) against the build before:
   * 27.9 against 29.2 us of CPU an answer, 7% more answers a second, p99 3.9 against 6.4 ms. The
   * cost: one finished exchange and one Immediate per server, replaced at every request.
   */
  const kept: { exchange: HttpExchange | null; turn: NodeJS.Immediate | null } = { exchange: null, turn: null };
  const owner: ExchangeOwner = {
    run: (exchange) => run(exchange),
    ended(exchange) {
      kept.exchange = exchange;
      if (exchange.tracked !== undefined) guard.requestEnded(exchange.tracked);
      inFlight -= 1;
      const pipeline = exchange.pipeline;
      if (pipeline !== null) {
        exchange.pipeline = null;
        pipeline.unfinished.delete(exchange);
        if (pipeline.waiting.length > 0 && !pipeline.closed) startWaiting(pipeline);
      } else {
        const socket = exchange.req.socket as PipelinedSocket | null;
        if (socket && socket[ALONE] === exchange) socket[ALONE] = null;
      }
      if (inFlight === 0) drained?.();
    },
  };
  let waitingCount = 0;
  // The connection's first waiting requests run as earlier answers finish; when none wait, it is read again.
  const startWaiting = (pipeline: Pipeline) => {
    const { unfinished, waiting } = pipeline;
    while (waiting.length > 0 && unfinished.size - waiting.length < MAX_PIPELINED_PER_CONNECTION) {
      waitingCount -= 1;
      start(waiting.shift()!);
    }
    if (waiting.length === 0) pipeline.socket.resume();
  };
  // Every request still unfinished when its connection closes ends now (its response's `close` may never come).
  function onPipelineClose(this: PipelinedSocket): void {
    const pipeline = this[PIPELINE];
    if (pipeline === undefined) return;
    pipeline.closed = true;
    waitingCount -= pipeline.waiting.length;
    pipeline.waiting.length = 0;
    for (const exchange of [...pipeline.unfinished]) exchange.closed();
  }
  // Node's own flow control resumes the socket as queued answers drain (_http_server.js): paused again while requests wait.
  function onPipelineResume(this: PipelinedSocket): void {
    if ((this[PIPELINE]?.waiting.length ?? 0) > 0) this.pause();
  }
  const pipelineOf = (socket: PipelinedSocket): Pipeline => {
    let pipeline = socket[PIPELINE];
    if (pipeline === undefined) {
      pipeline = { socket, unfinished: new Set(), waiting: [], closed: false };
      socket[PIPELINE] = pipeline;
      socket.once('close', onPipelineClose);
      socket.on('resume', onPipelineResume);
    }
    return pipeline;
  };
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    // A reply due from another thread (a write's, from the file store's I/O thread) is taken now,
    // between two requests, instead of after the rest of this turn and the next (turn-polls.ts).
    if (turnPollsDue()) runTurnPolls();
    const tracked = guard.requestStarted(req);
    const exchange = new HttpExchange(req, res, plane.logger, clientKeyOf(req, behindTlsProxy, tracked?.client), owner);
    exchange.tracked = tracked;
    inFlight += 1;
    const socket = req.socket as PipelinedSocket;
    let pipeline = socket[PIPELINE];
    if (pipeline === undefined) {
      const alone = socket[ALONE];
      if (alone === undefined || alone === null) {
        socket[ALONE] = exchange;
        start(exchange);
        return;
      }
      // A request while the connection's one before it is unfinished: the client pipelines, and from
      // now on the connection keeps its record (the earlier one included).
      socket[ALONE] = null;
      pipeline = pipelineOf(socket);
      alone.pipeline = pipeline;
      pipeline.unfinished.add(alone);
    }
    exchange.pipeline = pipeline;
    pipeline.unfinished.add(exchange);
    if (pipeline.waiting.length > 0 || pipeline.unfinished.size > MAX_PIPELINED_PER_CONNECTION) {
      pipeline.waiting.push(exchange);
      waitingCount += 1;
      req.socket.pause();
    } else start(exchange);
  };
  const start = (exchange: HttpExchange) => {
    const { req } = exchange;
    // A body of a declared length within the limit is read first (what the body step would read
    // anyway), so the chain runs once it is here and answers in that turn instead of waiting inside.
    const declared = Number(req.headers['content-length']);
    if (declared > 0 && declared <= bodyLimit && req.headers['transfer-encoding'] === undefined) exchange.prefetch();
    else run(exchange);
  };

  const streamOptions: StreamOptions = {
    maxBufferedBytes: security.maxStreamBufferBytes,
    onSlowReader: (buffered, exchange) => {
      limits.add('slow-reader', 'stream ended: its reader fell too far behind', { buffered }, exchange.log);
      counted('slow-reader', 0);
    },
  };

  // A failure past the chain (writing the answer, a stream that broke): once per kind with its
  // stack, then counted (fault-log.ts), as every other 500; a client repeating it cannot flood the log.
  const failed = (exchange: HttpExchange, err: unknown) => {
    const { res } = exchange;
    plane.services.faultLog.failed(exchange.log, err, 'the HTTP adapter could not answer', {
      method: exchange.method,
      path: exchange.path.slice(0, 200),
    });
    if (res.headersSent) res.destroy();
    else {
      res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(refusalBody(exchange.path, { code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error.' })));
    }
  };
  const deliver = (exchange: HttpExchange, reply: Reply) => {
    try {
      const sent = sendReply(exchange, reply, closing ? CLOSE_CONNECTION : NO_HEADERS, streamOptions);
      if (sent instanceof Promise) sent.catch((err: unknown) => failed(exchange, err));
    } catch (err) {
      failed(exchange, err);
    }
  };
  // What the two queues below report of a request or an answer that threw anyway.
  const couldNotAnswer = (err: unknown) => plane.logger.error({ err }, 'the HTTP adapter could not answer');
  // An answer ready in the turn that read its request (a cached read, a refusal) is written at the
  // end of the turn's I/O with the turn's others, back to back (turn-writer.ts).
  const writer = new TurnWriter<HttpExchange>(
    (exchange) => {
      const reply = exchange.answer!;
      exchange.answer = null;
      deliver(exchange, reply);
    },
    couldNotAnswer,
    (flush) => {
      kept.turn = setImmediate(flush);
    },
  );
  // While new connections keep arriving, requests run a few a turn so the next connection is accepted
  // soon. Those run from its queue run in a check phase: their answers are written then, not a turn later.
  const burst = new ConnectionBurst(BURST_REQUESTS_PER_TURN, couldNotAnswer, setImmediate, writer.flush);
  new Counter({
    name: 'control_plane_http_burst_waits_total',
    help: 'Requests that waited for a short turn of the event loop while a burst of new connections was accepted.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(burst.queuedTotal);
    },
  });
  const run = (exchange: HttpExchange): void => {
    if (burst.inBurst) burst.admit(() => runNow(exchange));
    else runNow(exchange);
  };
  // Not an async function: a cached read passes the chain and is written at the end of the same turn, without a promise.
  const runNow = (exchange: HttpExchange): void => {
    let pending: MaybePromise<Reply>;
    try {
      pending = handle(exchange);
    } catch (err) {
      failed(exchange, err);
      return;
    }
    if (pending instanceof Promise) {
      pending.then(
        (reply) => deliver(exchange, reply),
        (err: unknown) => failed(exchange, err),
      );
    } else {
      exchange.answer = pending;
      writer.add(exchange);
    }
  };

  const connectionLimits = { ...CONNECTION_LIMITS, ...security.connections };
  const server = createServer(
    {
      // Headers and request time are checked every second (Node's default: every 30 s).
      connectionsCheckingInterval: CHECK_INTERVAL_MS,
      headersTimeout: connectionLimits.headersTimeoutMs,
      requestTimeout: connectionLimits.requestTimeoutMs,
      // Longer than a fronting proxy's idle timeout (nginx, ALB: 60 s), so neither side sends a request
      // onto a connection the other is closing; with Node's 5 s, 500 busy clients saw resets (load soak).
      keepAliveTimeout: connectionLimits.keepAliveTimeoutMs,
      // A request without Host (RFC 9112 says 400) is refused by the Host step, with a JSON body,
      // logged and counted as `bad-host`: Node's own check answered an empty 400 outside the chain.
      requireHostHeader: false,
    },
    serve,
  );
  // `Expect: 100-continue` (curl sends it with a body over 1 KB): Node answered 100 Continue by
  // itself, so a body declared over the limit was uploaded whole before its 413. Not invited now:
  // the body step refuses it at once and the connection closes (the body may still come unasked).
  server.on('checkContinue', (req, res) => {
    if (!(Number(req.headers['content-length']) > bodyLimit)) res.writeContinue();
    serve(req, res);
  });
  // Any other `Expect`: Node answered an empty 417 by itself, outside the chain (no request id, log
  // line or count). The Host step refuses it as every other bad request, with 417.
  server.on('checkExpectation', serve);
  // What Node's parser refuses (timeouts, headers too large, a request it cannot parse): counted and
  // logged as every other refusal (README: Security).
  server.on(
    'clientError',
    clientErrorHandler((reason, status, client, code) => {
      limits.add(reason, `request refused by the HTTP parser: ${reason}`, { client, code, status });
      counted(reason, status);
    }),
  );
  server.on('connection', () => burst.connected());
  // Behind a TLS proxy every connection is the proxy's: only the total is capped.
  const guard = guardConnections(server, {
    limits: connectionLimits,
    perClient: !(security.behindTlsProxy ?? false),
    now,
    onClose: (reason, client) => {
      limits.add(reason, `connection closed: ${reason}`, { client });
      counted(reason, 0);
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const origin = `http://${hostForUrl}:${address.port}`;

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      closing = true;
      kept.exchange = null;
      kept.turn = null;
      burst.flush();
      guard.close();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Open subscriptions complete (their streams end in order); other requests run to their answer.
      subscriptions.endAll();
      if (inFlight > 0) {
        // Said, so that an operator watching a stop that takes its time knows what it waits for and
        // what a second signal does (README: Stopping).
        const drainMs = options.drainMs ?? DRAIN_MS;
        const seconds = `${drainMs / 1000} s`;
        const requests = (n: number) => `${n} in-flight request${n === 1 ? '' : 's'}`;
        plane.logger.info(
          { inFlight, drainMs },
          `waiting for ${requests(inFlight)} to finish (at most ${seconds}); a second stop signal a second or more after the first exits at once`,
        );
        let timer: NodeJS.Timeout | undefined;
        const outcome = await Promise.race([
          new Promise<'drained'>((resolve) => {
            drained = () => resolve('drained');
          }),
          new Promise<'ran out'>((resolve) => {
            timer = setTimeout(() => resolve('ran out'), drainMs);
          }),
        ]);
        clearTimeout(timer);
        if (outcome === 'ran out')
          plane.logger.warn(
            { inFlight, drainMs },
            `the drain ran out after ${seconds}: ${requests(inFlight)} still unfinished (a slow or stalled client); their connections are closed`,
          );
      }
      server.closeAllConnections();
      await stopped;
      lane?.close();
      metrics.close();
      await yoga.dispose();
    })();
    return closed;
  };

  return {
    url: `${origin}/graphql`,
    origin,
    server,
    yoga,
    close,
    refusals: () => limits.counts(),
    connections: () => guard.size,
    requests: () => ({ inFlight, waiting: waitingCount }),
  };
}
