import {
  ActivateStrategyDocument,
  OperatorHistoryDocument,
  OperatorOverviewDocument,
  OperatorSignalsDocument,
  OperatorSignalsEmittedDocument,
  OperatorStatusChangedDocument,
  type OperatorStatusFragment,
  OperatorStrategiesDocument,
  OperatorTunableDefinitionsDocument,
  RollbackConfigDocument,
  UpdateConfigDocument,
} from '../generated/graphql.js';
import { Api, type ApiFailure, tokenRefusal } from './api.js';
import type { Filters, PageActions, ServerBuild, Signal, State, TunableDefinitionRow } from './model.js';
import { createLive } from './shared-live.js';
import { addFetched, addLive } from './signal-series.js';
import { token } from './token.js';
import { tokenLost } from './views/dialog.js';

/**
 * Live news that needs queries reloaded (a new config version, presets, another strategy) waits
 * this long for more before the page asks: a burst of versions costs one reload of each query,
 * not one per version (300 activations cost one tab 1,600 queries).
 */
export const RELOAD_COALESCE_MS = 250;

type Reload = 'overview' | 'strategies' | 'history' | 'signals';

/**
 * A read that got no answer (none to any of its attempts, api.ts, or the server could not be
 * reached) while the live connection is open is asked again this long after. Before, what it shows
 * (the strategies table, the timeline, the config panel) stayed as it was under "Live", beside its
 * error, until some news asked for it: after a laptop's sleep every kept-alive connection the
 * browser holds is dead (up to six per server), and the refetch once the live connection has
 * started over can meet three of them. Each attempt given up drops its dead connection, so a later
 * one finds a working one. Not while the live connection is down: its reopening refetches everything.
 */
export const READ_RETRY_MS = 5_000;

/**
 * The page's first load waits for its subscriptions to be accepted (so no change can fall between
 * the load and the live updates), at most this long: a slow or absent live connection does not
 * keep the page empty.
 */
export const FIRST_LOAD_WAIT_MS = 1_000;

export interface AppView {
  render(state: State): void;
  notify(kind: 'success' | 'error' | 'info', text: string, topic?: string): void;
  /** Takes away the notices about `topic`. */
  clearNotices(topic: string): void;
}

/**
 * The page's data: loads every query through typed documents, keeps them fresh from the two
 * subscriptions (one SSE connection, shared with the page's other tabs of the same token), refetches whenever the subscriptions are (re)accepted, and
 * sends changes with the version the operator saw.
 */
export class App implements PageActions {
  readonly state: State = {
    viewer: null,
    status: null,
    config: null,
    strategies: null,
    strategiesPresetsVersion: null,
    strategiesConfigVersion: null,
    strategiesActive: null,
    instruments: [],
    filters: { instrument: '', riskLevel: '', sessionPreference: '' },
    history: null,
    signals: new Map(),
    live: { kind: 'connecting' },
    serverVersion: { loaded: null, now: null },
    loadError: null,
    historyError: null,
    signalsError: null,
    storeBackAt: null,
  };
  /** Bumped by every live status: a query answer that started earlier must not overwrite a newer status. */
  private statusSeq = 0;
  /** Bumped by every strategies load: only the answer to the latest filters is shown. */
  private strategiesSeq = 0;
  /**
   * Each static strategy's tunable definitions, by key, asked once: they are the server's code
   * (dropped when another build answers), and a preset's are its base's.
   */
  private readonly tunableDefinitions = new Map<string, TunableDefinitionRow[]>();
  /** Bumped by every overview and history load: an answer overtaken by a later one is dropped (it is older news). */
  private overviewSeq = 0;
  private historySeq = 0;
  /** What live news asked to reload, and the timer that will (`reloadSoon`). */
  private reloads = new Set<Reload>();
  /** A history load was held back while the store was unreachable (loadHistory): asked when it is back. */
  private historyDue = false;
  private reloadTimer: ReturnType<typeof setTimeout> | null = null;
  /** Reads that got no answer, to be asked again (`askAgain`), and the timer that will. */
  private unanswered = new Set<Reload>();
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly api = new Api({ endpoint: '/graphql', token: () => token.get(), onUnauthorized: (m) => this.dropToken(m) });
  private readonly live = createLive({
    url: '/graphql/stream',
    token: () => token.get(),
    subscriptions: [
      { document: OperatorStatusChangedDocument, onData: (d) => this.onStatus(d.statusChanged) },
      { document: OperatorSignalsEmittedDocument, onData: (d) => this.onSignals(d.signalsEmitted) },
    ],
    onState: (live) => {
      const before = this.state.live.kind;
      this.state.live = live;
      this.render();
      if (live.kind === 'connecting' || live.kind === 'open') return;
      // No live connection to wait for (down, paused, needs a token): the page loads what it can now.
      if (this.loadNow()) return;
      // Refused with no load waiting (a server restarted with reads needing a token, under a page
      // without one): the queries are asked again, once, and their 401s take away what the page
      // showed. Only the stream was asked: the runner card stayed green RUNNING, its last scan
      // counting up, beside "Not live: needs a token".
      if (live.kind === 'needsToken' && before !== 'needsToken') void this.refresh();
    },
    onOpen: (reopened) => {
      // After a reconnect the server's signals are the truth, not a merge with what the page held:
      // a restarted server's feed starts its candle times again, so its new signals sorted before
      // the old ones (and "Last:" stayed on a signal from before the restart).
      if (reopened) this.state.signals = new Map();
      // The open a load waits for is that load (the first, or a new token's): it ran every query
      // twice, once at start (or as the token changed) and once here.
      if (!this.loadNow()) void this.refresh();
      if (reopened) void this.checkVersion();
    },
    onUnauthorized: (m) => this.dropToken(m),
  });

  constructor(private readonly view: AppView) {}

  start(): void {
    void this.fetchVersion().then((v) => {
      this.state.serverVersion = { loaded: v, now: v };
    });
    this.live.start();
    this.loadWhenLive();
  }

  /** A load waiting for the live connection (`loadWhenLive`): its timer, or null. */
  private waitingLoad: ReturnType<typeof setTimeout> | null = null;

  /**
   * Loads every query once the live connection (just started, or started over) is accepted, or
   * once it is known not to come (down, paused, needs a token), or after FIRST_LOAD_WAIT_MS:
   * the page's first load, and a token entered, forgotten or dropped.
   */
  private loadWhenLive(): void {
    if (this.waitingLoad !== null) clearTimeout(this.waitingLoad);
    this.waitingLoad = setTimeout(() => this.loadNow(), FIRST_LOAD_WAIT_MS);
  }

  /** Runs the load `loadWhenLive` waits for, if one does: true if this call ran it. */
  private loadNow(): boolean {
    if (this.waitingLoad === null) return false;
    clearTimeout(this.waitingLoad);
    this.waitingLoad = null;
    void this.refresh();
    return true;
  }

  private render(): void {
    this.view.render(this.state);
  }

  notify(kind: 'success' | 'error' | 'info', text: string, topic?: string): void {
    this.view.notify(kind, text, topic);
  }

  clearNotices(topic: string): void {
    this.view.clearNotices(topic);
  }

  /**
   * Checks the token with one request before the page uses it: a mistyped token then costs one
   * failed attempt, not one per panel and per stream request (3 or 4: three typos reached the
   * failed-auth limit, and the page went dark retrying the refused token).
   */
  async useToken(value: string): Promise<void> {
    const candidate = value.trim();
    const check = await this.api.run(OperatorOverviewDocument, {}, candidate);
    if (!check.ok && (check.status === 401 || check.status === 429)) {
      const message = tokenRefusal(check.errors[0]);
      this.notify(
        'error',
        check.status === 429
          ? `${message}: this address sent too many wrong tokens. The right token is still accepted at once; the page stays read-only until one is entered.`
          : `The token was refused (${message}): the page stays read-only until a valid one is entered.`,
        'token',
      );
      return;
    }
    // Accepted: what was said of a refused one no longer holds.
    this.view.clearNotices('token');
    token.set(candidate);
    this.restartWithToken();
  }

  forgetToken(): void {
    token.clear();
    this.state.viewer = null;
    this.restartWithToken();
  }

  /**
   * The live connection starts over with the token now held, and the queries load once it is
   * accepted: they loaded at once and then again on that open (every query twice per token change).
   */
  private restartWithToken(): void {
    this.loadWhenLive();
    this.live.restart();
  }

  private dropToken(message: string): void {
    if (!token.get()) return;
    token.clear();
    this.state.viewer = null;
    tokenLost();
    this.notify(
      'error',
      `The token was refused (${message}) and has been forgotten: the page is read-only until a valid one is entered.`,
      'token',
    );
    this.restartWithToken();
  }

  async refresh(): Promise<void> {
    await Promise.all([this.loadOverview(), this.loadStrategies(), this.loadHistory()]);
    await this.loadSignals();
  }

  /** Reloads `parts` once RELOAD_COALESCE_MS have passed, with whatever else is asked for meanwhile. */
  private reloadSoon(...parts: Reload[]): void {
    for (const part of parts) this.reloads.add(part);
    if (this.reloadTimer !== null) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      const due = this.reloads;
      this.reloads = new Set();
      if (due.has('overview')) void this.loadOverview();
      if (due.has('strategies')) void this.loadStrategies();
      if (due.has('history')) void this.loadHistory();
      if (due.has('signals')) void this.loadSignals();
    }, RELOAD_COALESCE_MS);
  }

  /**
   * Asks `part` again READ_RETRY_MS from now if a read of it got no answer (NETWORK, status 0) while
   * the live connection is open; other failures (a refusal, an answer not the API's) are said and left.
   */
  private askAgain(part: Reload, failures: readonly ApiFailure[]): void {
    if (this.state.live.kind !== 'open' || !failures.some((f) => f.status === 0)) return;
    this.unanswered.add(part);
    if (this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      const due = [...this.unanswered];
      this.unanswered.clear();
      if (this.state.live.kind === 'open') this.reloadSoon(...due);
    }, READ_RETRY_MS);
  }

  private async loadOverview(): Promise<void> {
    const seq = this.statusSeq;
    const mine = ++this.overviewSeq;
    const result = await this.api.run(OperatorOverviewDocument, {});
    if (mine !== this.overviewSeq) return; // a later load's answer is on its way
    if (!result.ok) {
      this.askAgain('overview', [result]);
      this.state.loadError = result.errors.map((e) => e.message).join('; ');
      // Drawn in the panels only while they are empty: over what the page holds it was said nowhere,
      // and the config panel went on looking current. Taken away once a load is answered.
      if (result.status !== 401 && this.state.status !== null) {
        this.notify(
          'error',
          `Cannot load the status and config (what is shown may be out of date): ${this.state.loadError}`,
          'load-overview',
        );
      }
      // Reads need a token and this page has none (any more): what it showed is no longer known.
      // Kept, it went on looking current, its "changed 39 s ago" ticking, beside a read-only banner.
      if (result.status === 401) {
        this.state.status = null;
        this.state.config = null;
        this.state.history = null;
        this.state.strategies = null;
        this.state.signals = new Map();
      }
      this.render();
      return;
    }
    this.state.loadError = null;
    this.clearNotices('load-overview');
    this.state.viewer = result.data.viewer;
    this.state.config = result.data.config;
    if (seq === this.statusSeq) this.state.status = result.data.status;
    this.render();
  }

  private async loadStrategies(): Promise<void> {
    const seq = ++this.strategiesSeq;
    const f = this.state.filters;
    const result = await this.api.run(OperatorStrategiesDocument, {
      instrument: f.instrument || null,
      riskLevel: f.riskLevel || null,
      sessionPreference: f.sessionPreference || null,
    });
    if (seq !== this.strategiesSeq) return; // filters changed meanwhile: a newer answer is on its way
    // The list's read or a definitions read failed: asked again if unanswered, and said unless a 401
    // (the token's: dropped and refetched, or reads need one: the status panel says so).
    const failed = (failure: ApiFailure) => {
      this.askAgain('strategies', [failure]);
      if (failure.status !== 401)
        this.notify('error', `Cannot load the strategies: ${failure.errors.map((e) => e.message).join('; ')}`, 'load-strategies');
    };
    if (!result.ok) return failed(result);
    // Asked per base strategy, not per row: a full preset set's rows each carrying their base's
    // definitions put the answer over the server's response limit.
    const rows = result.data.strategies;
    const missing = [...new Set(rows.map((s) => s.base ?? s.key))].filter((key) => !this.tunableDefinitions.has(key));
    const answers = await Promise.all(missing.map((key) => this.api.run(OperatorTunableDefinitionsDocument, { key })));
    if (seq !== this.strategiesSeq) return;
    for (const [i, answer] of answers.entries()) {
      if (!answer.ok) return failed(answer);
      if (answer.data.strategy) this.tunableDefinitions.set(missing[i] as string, answer.data.strategy.tunableDefinitions);
    }
    // A notice that the table could not be loaded is over once it is.
    this.clearNotices('load-strategies');
    this.state.strategies = rows.map((s) => ({ ...s, tunableDefinitions: this.tunableDefinitions.get(s.base ?? s.key) ?? [] }));
    this.state.strategiesPresetsVersion = result.data.status.presetsVersion;
    this.state.strategiesConfigVersion = result.data.status.configVersion;
    this.state.strategiesActive = result.data.status.activeStrategy;
    const instruments = new Set(this.state.instruments);
    for (const s of result.data.strategies) for (const i of s.instruments) instruments.add(i);
    this.state.instruments = [...instruments].sort();
    this.render();
  }

  private async loadHistory(): Promise<void> {
    // The trail is read from the store: while the store is unreachable the read is refused (503), and
    // the list as last loaded is the best there is. Asked once the store is back (onStatus).
    if (this.state.status && !this.state.status.store.connected) {
      this.historyDue = true;
      // Never loaded: said, not "Loading…" for the whole outage. A list loaded before stays as it is
      // (no change can be made while the store is away).
      if (this.state.history === null) {
        this.state.historyError = 'the config store is unreachable; it is loaded once the store answers again';
        this.render();
      }
      return;
    }
    this.historyDue = false;
    const seq = ++this.historySeq;
    const result = await this.api.run(OperatorHistoryDocument, {});
    if (seq !== this.historySeq) return;
    if (!result.ok) {
      this.askAgain('history', [result]);
      // Said where the timeline goes (a server whose --max-list-size is under the page's `last`
      // refuses it): it was left "Loading…" for good. A 401 is the token's (the status panel says so).
      this.state.historyError = result.status === 401 ? null : result.errors.map((e) => e.message).join('; ');
      this.render();
      return;
    }
    this.state.historyError = null;
    this.state.history = result.data.configHistory;
    this.render();
  }

  private async loadSignals(): Promise<void> {
    const instruments = this.state.status?.activeStrategy.instruments ?? [];
    const refused: string[] = [];
    const failures: ApiFailure[] = [];
    await Promise.all(
      instruments.map(async (instrument) => {
        const result = await this.api.run(OperatorSignalsDocument, { instrument });
        if (!result.ok) {
          failures.push(result);
          // Said on the charts: swallowed, a refused query read as "No signals yet". A 401 is the token's.
          if (result.status !== 401) refused.push(result.errors.map((e) => e.message).join('; '));
          return;
        }
        addFetched(this.state.signals, instrument, result.data.signals);
      }),
    );
    this.askAgain('signals', failures);
    this.state.signalsError = refused.length > 0 ? [...new Set(refused)].join('; ') : null;
    this.render();
  }

  private onStatus(status: OperatorStatusFragment): void {
    const before = this.state.status;
    this.state.status = status;
    this.statusSeq++;
    if (!status.store.connected) this.state.storeBackAt = null;
    else if (before && !before.store.connected) {
      // Back from an outage: the runners' heartbeats published meanwhile (or not) are read from now
      // on. A runner STALE on the server's side stays unknown for its staleAfterMs (glance.ts), and
      // nothing is pushed when that ends (a dead runner stays STALE): render again then.
      this.state.storeBackAt = Date.now();
      const grace = Math.max(0, ...status.runners.map((r) => r.staleAfterMs ?? 0));
      setTimeout(() => this.render(), grace + 100);
      // A history load held back meanwhile, or refused as the outage began: asked now.
      if (this.historyDue || this.state.historyError !== null) this.reloadSoon('history');
    }
    this.render();
    if (!before || before.configVersion !== status.configVersion || before.configDigest !== status.configDigest) {
      this.reloadSoon('overview', 'strategies', 'history');
    } else if (
      before.presetsVersion !== status.presetsVersion ||
      (before.strategiesError?.message ?? null) !== (status.strategiesError?.message ?? null)
    ) {
      // A preset added, changed or removed (stratctl preset, a hand edit of strategies.yaml): the
      // strategies table shows the set in force.
      this.reloadSoon('strategies');
    }
    if (before?.activeStrategyKey !== status.activeStrategyKey) this.reloadSoon('signals');
  }

  private onSignals(signals: readonly Signal[]): void {
    addLive(this.state.signals, signals);
    this.render();
  }

  setFilters(filters: Filters): void {
    this.state.filters = filters;
    void this.loadStrategies();
  }

  activate(strategyKey: string, expectedVersion: number) {
    return this.api.run(ActivateStrategyDocument, { strategyKey, expectedVersion });
  }

  updateOverrides(strategyKey: string, overrides: Record<string, number | boolean | null>, expectedVersion: number) {
    return this.api.run(UpdateConfigDocument, { input: { tunableOverrides: { [strategyKey]: overrides } }, expectedVersion });
  }

  rollback(toVersion: number, expectedVersion: number) {
    return this.api.run(RollbackConfigDocument, { toVersion, expectedVersion });
  }

  private async fetchVersion(): Promise<ServerBuild | null> {
    try {
      const response = await fetch('/version', { cache: 'no-store', credentials: 'omit' });
      if (!response.ok) return null;
      const body = (await response.json()) as { version?: unknown; commit?: unknown };
      if (typeof body.version !== 'string') return null;
      // No `commit` (a server from before it was added) or not a string: unknown.
      return { version: body.version, commit: typeof body.commit === 'string' && body.commit !== '' ? body.commit : null };
    } catch {
      return null;
    }
  }

  /** After a reconnect: is this still the server the page was loaded from? */
  private async checkVersion(): Promise<void> {
    const now = await this.fetchVersion();
    if (now === null) return;
    if (this.state.serverVersion.loaded === null) this.state.serverVersion.loaded = now;
    const before = this.state.serverVersion.now;
    // Another build may ship other tunables: asked again with the next strategies load.
    if (before && (before.version !== now.version || before.commit !== now.commit)) this.tunableDefinitions.clear();
    this.state.serverVersion.now = now;
    this.render();
  }
}
