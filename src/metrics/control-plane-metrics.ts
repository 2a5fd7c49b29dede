import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { TokenStore } from '../auth/token-store.js';
import type { ConfigStore, StoreEvent } from '../config/store.js';
import { PARSER_REFUSALS } from '../http/parser-refusal.js';
import type { RunnerFleet } from '../runner/fleet.js';
import type { RunnerHealth, RunnerState } from '../runner/state.js';
import { RouteHistogram } from './route-histogram.js';

/** What the domain metrics are read from: the plane's store and its view of the runners. */
export interface MetricsSources {
  readonly store: Pick<ConfigStore, 'state' | 'subscribe' | 'problem' | 'strategiesProblem' | 'info'>;
  readonly runners: Pick<RunnerFleet, 'views' | 'subscribe'>;
  /** Named tokens, for their expiry (left out: no token gauge). */
  readonly tokens?: Pick<TokenStore, 'list'>;
  /** The clock tokens expire by (the server's: ControlPlaneSettings.now; default Date.now). */
  readonly tokenNow?: () => number;
  /** Log lines dropped so far because stderr was not read (log.ts droppedLogLines); left out: 0. */
  readonly droppedLogLines?: () => number;
}

export interface ControlPlaneMetrics {
  /** A wrong token (answered 401, or 429 past the failed-auth limit). */
  authFailure(): void;
  /** A request the HTTP adapter refused before any route ran its work, by reason. */
  refusal(reason: string, status: number): void;
  /** One answered request: its route (a known path, or `other`), method, status and time to the answer's head. */
  request(route: string, method: string, status: number, seconds: number): void;
  /** Stops listening to the store and the runners. */
  close(): void;
}

/** Seconds from a change accepted to a runner applying it: sub-second on one machine, minutes when a runner is behind. */
const RELOAD_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const SCAN_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The steps a file-store commit fails at (src/fs/atomic-write.ts, src/config/audit-append.ts), rare ones left out. */
const FILE_WRITE_STEPS = ['open temp file', 'write', 'fsync', 'close', 'rename', 'audit open', 'audit append', 'audit fsync'];
/**
 * Refusals there at 0 from the start, so `rate()` sees the first (by the status each is answered
 * with; 0: a connection closed): those README's alerts watch (the failed-auth limit, the
 * subscriptions per client, the connection caps), and Node's parser's (src/http/parser-refusal.ts).
 */
const ALERTED_REFUSALS = [
  ['rate-limited', 429],
  ['subscriptions-per-client', 429],
  ['connection-limit', 0],
  ['client-connection-limit', 0],
  ...Object.entries(PARSER_REFUSALS).map(([reason, { status }]) => [reason, status] as const),
] as const;
/** Accepted changes waiting for runners to apply them; older ones are dropped (a runner that never applies them). */
const PENDING_LIMIT = 64;
const PENDING_MAX_AGE_MS = 15 * 60_000;

interface Accepted {
  readonly at: number;
  /** Runners already observed applying it. */
  readonly appliedBy: Set<string>;
}

interface SeenRunner {
  readonly startedAt: string;
  scanCount: number;
  /** The runner's cumulative signal counts already counted (RunnerState.signalCounts). */
  signalCounts: NonNullable<RunnerState['signalCounts']>;
}

/**
 * The control plane's own metrics, fed by subscribing to the store and the runner fleet: the domain
 * folders know nothing of Prometheus. Counters count what this process observed; a runner in
 * another process publishes a cumulative `scanCount`, so scans between two observations are still
 * counted (their signals and durations are those of the last scan seen).
 */
/** How many runners no longer listed are remembered, in case one is listed again (see `departed`). */
const DEPARTED_KEPT = 256;

export function createControlPlaneMetrics(sources: MetricsSources, registry: Registry, now: () => number = Date.now): ControlPlaneMetrics {
  const registers = [registry];
  const createdAt = now();
  const { store, runners } = sources;

  new Gauge({
    name: 'control_plane_config_version',
    help: 'The config version in force (+1 on every accepted change).',
    registers,
    collect() {
      this.set(store.state().config.config.version);
    },
  });
  new Gauge({
    name: 'control_plane_presets_version',
    help: 'The preset set version in force (+1 on every accepted change; 0 before the first preset).',
    registers,
    collect() {
      this.set(store.state().presets.version);
    },
  });
  new Gauge({
    name: 'control_plane_store_problem',
    help: '1 while the stored config (subject="config") or presets (subject="presets") are not in force: invalid, or presets kept out because they would break the config. The last good state stays; status.configError / status.strategiesError say why.',
    labelNames: ['subject'],
    registers,
    collect() {
      this.set({ subject: 'config' }, store.problem() ? 1 : 0);
      this.set({ subject: 'presets' }, store.strategiesProblem() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'control_plane_store_connected',
    help: '1 while this process reaches its config store (the file store: always 1); 0 through an etcd outage, or while etcd refuses its credentials. Alert on 0: writes are refused meanwhile.',
    registers,
    collect() {
      this.set(store.info().connected ? 1 : 0);
    },
  });
  const tokens = sources.tokens;
  if (tokens) {
    const tokenNow = sources.tokenNow ?? Date.now;
    new Gauge({
      name: 'control_plane_token_expiry_seconds',
      help: 'Seconds until each named token with an expiry is refused (negative: expired that long ago); tokens without one have no series. Alert on min() < 7 days: rotate it.',
      labelNames: ['name'],
      registers,
      async collect() {
        // As the store holds them now: a token revoked or rotated since the last scrape is not kept.
        // Unreadable (tokens.yaml refused, etcd away): no series rather than a failed scrape (/ready says why).
        const list = await tokens.list().catch(() => null);
        this.reset();
        if (!list) return;
        const at = tokenNow();
        for (const t of list) if (t.expiresAt !== undefined) this.set({ name: t.name }, (Date.parse(t.expiresAt) - at) / 1000);
      },
    });
  }
  new Gauge({
    name: 'control_plane_runner_applied_config_version',
    help: 'The config version each runner last reported applied.',
    labelNames: ['runner'],
    registers,
    collect() {
      this.reset();
      for (const { state } of runners.views()) {
        if (state?.applied) this.set({ runner: state.id }, state.applied.configVersion);
      }
    },
  });
  new Gauge({
    name: 'control_plane_runners',
    help: 'Runners by state, as status.runners lists them (STALE: no heartbeat for 3 intervals; on etcd a dead runner stays STALE for 10 minutes, then leaves the list).',
    labelNames: ['state'],
    registers,
    collect() {
      const counts: Record<RunnerHealth, number> = { RUNNING: 0, STALE: 0, STOPPED: 0, ERROR: 0 };
      for (const { health } of runners.views()) counts[health] += 1;
      for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
    },
  });
  new Gauge({
    name: 'control_plane_runner_state',
    help: 'Each listed runner, with its state now as a label (value 1): which runner is STALE or in ERROR.',
    labelNames: ['runner', 'state'],
    registers,
    collect() {
      this.reset();
      for (const { state, health } of runners.views()) if (state) this.set({ runner: state.id, state: health }, 1);
    },
  });
  new Gauge({
    name: 'control_plane_runner_heartbeat_age_seconds',
    help: "Seconds since this process last heard each running runner's heartbeat (as its STALE is counted): past 3 heartbeat intervals it is STALE; a rise before that is a runner or its store falling behind.",
    labelNames: ['runner'],
    registers,
    collect() {
      this.reset();
      const at = now();
      for (const { state, heardAtMs } of runners.views()) {
        if (state && !state.stopped && heardAtMs !== undefined && Number.isFinite(heardAtMs))
          this.set({ runner: state.id }, Math.max(0, (at - heardAtMs) / 1000));
      }
    },
  });
  const writeFailures = new Counter({
    name: 'control_plane_config_write_failures_total',
    help: 'Commits the file store could not write (a full or read-only disk, a refused runtime file), by the step that failed: each refused with 503 CONFIG_WRITE_FAILED, nothing changed.',
    labelNames: ['step'],
    registers,
  });
  const auditTrimFailures = new Counter({
    name: 'control_plane_audit_trim_failures_total',
    help: 'Trims of audit.log (file store, --audit-keep) that failed after a change: the change stands, audit.log is left as it was, and the trim is tried again at the first change 60 s later (or after a restart); each try counted.',
    registers,
  });
  const droppedLogLines = sources.droppedLogLines;
  new Counter({
    name: 'control_plane_log_lines_dropped_total',
    help: 'Log lines this process dropped because stderr was not read (its reader stalled) while 4 MiB of lines were already waiting; one WARN line says how many once stderr is read again. Alert on any increase: the log has gaps.',
    registers,
    // The logger's own running total (it only grows), as the burst-wait counter reads its total.
    collect() {
      this.reset();
      this.inc(droppedLogLines?.() ?? 0);
    },
  });
  const scans = new Counter({
    name: 'control_plane_runner_scans_total',
    help: 'Scans the runners finished, as this process observed them.',
    labelNames: ['runner'],
    registers,
  });
  const scanSeconds = new Histogram({
    name: 'control_plane_runner_scan_seconds',
    help: 'How long a runner scan took (signal functions over the active strategy instruments).',
    buckets: SCAN_BUCKETS,
    registers,
  });
  const reloadSeconds = new Histogram({
    name: 'control_plane_reload_seconds',
    help: 'Seconds from a config change accepted to a runner reporting it applied (one observation per runner).',
    buckets: RELOAD_BUCKETS,
    registers,
  });
  const configErrors = new Counter({
    name: 'control_plane_config_errors_total',
    help: 'Times the stored config became invalid (a broken hand edit); the last good config stays in force.',
    registers,
  });
  const presetsErrors = new Counter({
    name: 'control_plane_presets_errors_total',
    help: 'Times the stored presets stopped being in force (invalid, or kept out: they would break the config); the last good set stays in force.',
    registers,
  });
  const authFailures = new Counter({
    name: 'control_plane_auth_failures_total',
    help: 'Requests with a wrong token (answered 401, or 429 past the failed-auth limit).',
    registers,
  });
  const signals = new Counter({
    name: 'control_plane_signals_total',
    help: 'Signals the runners reported, by strategy and direction (reported only: no orders are sent).',
    labelNames: ['strategy', 'direction'],
    registers,
  });
  const refusals = new Counter({
    name: 'control_plane_http_refusals_total',
    help: 'Requests the HTTP adapter answered before any route ran its work, by reason and status.',
    labelNames: ['reason', 'status'],
    registers,
  });
  const requests = new Counter({
    name: 'control_plane_http_requests_total',
    help: 'HTTP requests answered, by route, method and status (every route: GraphQL, REST, probes, metrics).',
    labelNames: ['route', 'method', 'status'],
    registers,
    collect: () => pendingRequests.flush(),
  });
  const requestSeconds = new RouteHistogram(
    'control_plane_http_request_seconds',
    'Seconds from a request arriving to its answer starting (a stream: its head), by route.',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers,
  );
  const pendingRequests = requestBuffer(requests, requestSeconds);
  // Labelled series exist from the start at 0, so rate() and dashboards see them before the first event.
  configErrors.inc(0);
  presetsErrors.inc(0);
  authFailures.inc(0);
  // The file store's write steps too: a series born at 1 is invisible to rate()/increase() (no
  // earlier sample to compare with), so the README's alert on this counter's rate missed the first
  // failure of a spell, and a single refused write for ever.
  if (store.info().kind === 'FILE') {
    for (const step of FILE_WRITE_STEPS) writeFailures.inc({ step }, 0);
    auditTrimFailures.inc(0);
  }
  // The refusals an attack or a runaway client sets off, there at 0 too: a series born at 1 shows no rise to rate().
  for (const [reason, status] of ALERTED_REFUSALS) refusals.inc({ reason, status: String(status) }, 0);

  const accepted = new Map<string, Accepted>();
  const seenRunners = new Map<string, SeenRunner>();
  /**
   * Runners no longer listed, as last seen, the newest DEPARTED_KEPT: one listed again with the same
   * start (its state file removed and republished, its etcd key expired and put again) is counted on
   * from there. Taken for a new runner, its whole running totals were counted a second time.
   */
  const departed = new Map<string, SeenRunner>();
  /** The label values control_plane_signals_total has: strategy -> directions. */
  const signalSeries = new Map<string, Set<string>>();

  const observeApplied = (state: RunnerState) => {
    const applied = state.applied;
    const change = applied ? accepted.get(applied.configDigest) : undefined;
    if (!applied || !change || change.appliedBy.has(state.id)) return;
    change.appliedBy.add(state.id);
    // The runner's own time of applying; a runner elsewhere may be a little ahead of this clock.
    const appliedAt = Date.parse(applied.appliedAt);
    reloadSeconds.observe(Math.max(0, (Number.isFinite(appliedAt) ? appliedAt : now()) - change.at) / 1000);
  };

  const observeScans = (state: RunnerState) => {
    const count = state.scanCount ?? 0;
    let seen = seenRunners.get(state.id);
    const back = seen ? undefined : departed.get(state.id);
    if (back) departed.delete(state.id);
    if (back?.startedAt === state.startedAt) {
      seen = back;
      seenRunners.set(state.id, seen);
    }
    if (seen?.startedAt !== state.startedAt) {
      // A new runner (or a restart): scans it made before this process started are not counted here.
      const fresh = Date.parse(state.startedAt) >= createdAt;
      seen = { startedAt: state.startedAt, scanCount: fresh ? 0 : count, signalCounts: fresh ? {} : (state.signalCounts ?? {}) };
      seenRunners.set(state.id, seen);
    }
    if (count <= seen.scanCount) return;
    scans.inc({ runner: state.id }, count - seen.scanCount);
    seen.scanCount = count;
    if (state.lastScanMs !== undefined) scanSeconds.observe(state.lastScanMs / 1000);
    const countSignals = (strategy: string, direction: string, n: number) => {
      if (n <= 0) return;
      signals.inc({ strategy, direction }, n);
      const directions = signalSeries.get(strategy) ?? new Set();
      signalSeries.set(strategy, directions.add(direction));
    };
    if (state.signalCounts) {
      // The runner's running totals: every scan since the last state seen counts, not only the last one.
      for (const [strategy, byDirection] of Object.entries(state.signalCounts))
        for (const [direction, total] of Object.entries(byDirection))
          countSignals(strategy, direction, total - (seen.signalCounts[strategy]?.[direction as 'LONG'] ?? 0));
      seen.signalCounts = state.signalCounts;
    } else {
      // An older runner publishes no totals: its last scan's signals are all there is to count.
      for (const signal of state.lastSignals) if (!signal.error) countSignals(signal.strategyKey, signal.direction, 1);
    }
  };

  const onRunners = () => {
    const listed = new Set<string>();
    for (const { state } of runners.views()) {
      if (!state) continue;
      listed.add(state.id);
      observeScans(state);
      observeApplied(state);
    }
    // A runner the fleet no longer lists (stopped or stale past its retention) loses its series:
    // each restart of a runner named <host>:<pid> left one more, for ever (a crash loop, without bound).
    for (const [id, seen] of seenRunners) {
      if (listed.has(id)) continue;
      seenRunners.delete(id);
      scans.remove({ runner: id });
      departed.set(id, seen);
      if (departed.size > DEPARTED_KEPT) departed.delete(departed.keys().next().value as string);
    }
  };

  const onStore = (event: StoreEvent) => {
    if (event.type === 'writeFailed') writeFailures.inc({ step: event.step });
    if (event.type === 'auditTrimFailed') auditTrimFailures.inc();
    if (event.type === 'invalid') configErrors.inc();
    if (event.type === 'presetsInvalid') presetsErrors.inc();
    // A preset removed loses its signal series: each preset ever run left up to three, for ever.
    if (event.type === 'presetsChanged') {
      const strategies = store.state().strategies;
      for (const [strategy, directions] of signalSeries) {
        if (strategies.has(strategy)) continue;
        for (const direction of directions) signals.remove({ strategy, direction });
        signalSeries.delete(strategy);
      }
    }
    if (event.type !== 'changed') return;
    const at = now();
    const recorded = event.audit ? Date.parse(event.audit.time) : Number.NaN;
    accepted.delete(event.current.digest); // the same content again (a rollback): a new change, at the end
    accepted.set(event.current.digest, { at: Number.isFinite(recorded) ? Math.min(recorded, at) : at, appliedBy: new Set() });
    for (const [digest, change] of accepted) {
      if (accepted.size <= PENDING_LIMIT && at - change.at <= PENDING_MAX_AGE_MS) break;
      accepted.delete(digest);
    }
    // A runner in another process may have applied it before this process heard of it.
    onRunners();
  };

  const unsubscribeStore = store.subscribe(onStore);
  const unsubscribeRunners = runners.subscribe(onRunners);
  onRunners();

  return {
    authFailure: () => authFailures.inc(),
    refusal: (reason, status) => refusals.inc({ reason, status: String(status) }),
    request: pendingRequests.record,
    close() {
      unsubscribeStore();
      unsubscribeRunners();
    },
  };
}

/**
 * Per-request metrics: the count kept in plain counters and handed to prom-client in bulk when it is
 * scraped (its `collect` hook), the time observed at once by RouteHistogram. A label object, a label
 * hash and a closure per request showed in the profile of a cached read (prom-client's observe, even
 * batched, was ~1.4 µs of ~18 a cached read). What a scrape reports is the same.
 */
function requestBuffer(requests: Counter<'route' | 'method' | 'status'>, requestSeconds: RouteHistogram) {
  const counts = new Map<string, Map<string, Map<number, number>>>();
  const flush = () => {
    for (const [route, methods] of counts) {
      for (const [method, statuses] of methods) {
        for (const [status, n] of statuses) if (n > 0) requests.inc({ route, method, status: String(status) }, n);
        statuses.clear();
      }
    }
  };
  return {
    flush,
    record(route: string, method: string, status: number, elapsed: number): void {
      let methods = counts.get(route);
      if (!methods) {
        methods = new Map();
        counts.set(route, methods);
      }
      let statuses = methods.get(method);
      if (!statuses) {
        statuses = new Map();
        methods.set(method, statuses);
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      requestSeconds.observe(route, elapsed);
    },
  };
}
