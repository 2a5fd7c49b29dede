import type {
  ActivateStrategyMutation,
  OperatorHistoryQuery,
  OperatorOverviewQuery,
  OperatorSignalFragment,
  OperatorStatusFragment,
  OperatorStrategiesQuery,
  OperatorTunableDefinitionsQuery,
  RiskLevel,
  RollbackConfigMutation,
  TokenScope,
  TradingSession,
  UpdateConfigMutation,
} from '../generated/graphql.js';
import type { ApiResult } from './api.js';
import { show } from './dom.js';
import type { LiveState } from './live.js';

export type TunableDefinitionRow = NonNullable<OperatorTunableDefinitionsQuery['strategy']>['tunableDefinitions'][number];
/** A row of the strategies table, with its tunables' definitions (its base's, for a preset). */
export type Strategy = OperatorStrategiesQuery['strategies'][number] & { tunableDefinitions: TunableDefinitionRow[] };
export type HistoryEntry = OperatorHistoryQuery['configHistory'][number];
export type Runner = OperatorStatusFragment['runner'];
export type Signal = OperatorSignalFragment;
export type Viewer = NonNullable<OperatorOverviewQuery['viewer']>;

/**
 * Runner ids as a person reads them: runner-2 before runner-10 (code-unit order put runner-10 and
 * runner-11 between runner-1 and runner-2). The fleet's tiles and the per-runner charts both use it.
 */
export const byRunnerId = new Intl.Collator(undefined, { numeric: true }).compare;

export interface Filters {
  instrument: string;
  riskLevel: RiskLevel | '';
  sessionPreference: TradingSession | '';
}

/** Everything the page shows; views render from it and nothing else. */
export interface State {
  viewer: Viewer | null;
  status: OperatorStatusFragment | null;
  config: OperatorOverviewQuery['config'] | null;
  strategies: Strategy[] | null;
  /**
   * The presets version `strategies` was read at (null until read): a dialog made from that list
   * watches the live status's for a preset changed under it, which expectedVersion does not cover.
   */
  strategiesPresetsVersion: number | null;
  /**
   * The config version `strategies` was read at (null until read): their effectiveTunables are of
   * it, so Activate sends it as expectedVersion (the live status's arrives before the list is read again).
   */
  strategiesConfigVersion: number | null;
  /**
   * The strategy in force when `strategies` was read, with its parameters (null until read): what
   * Activate shows as "Now", though the filters may leave it out of the table (it showed "—").
   */
  strategiesActive: { readonly key: string; readonly effectiveTunables: unknown } | null;
  /** Every instrument seen in the registry, for the filter. */
  instruments: string[];
  filters: Filters;
  history: HistoryEntry[] | null;
  /** Per instrument, per runner publishing it: that runner's signals in arrival order (signal-series.ts). */
  signals: Map<string, Map<string, Signal[]>>;
  live: LiveState;
  /** The server's build when the page loaded, and now (GET /version). */
  serverVersion: { loaded: ServerBuild | null; now: ServerBuild | null };
  /** Why the last overview load failed (the server's words), or null. */
  loadError: string | null;
  /**
   * When (this page's clock) the server was heard to reach its config store again after an outage,
   * or null. Until a runner's next heartbeat is read it is STALE on the server's side: not dead.
   */
  storeBackAt: number | null;
  /** Why the last timeline load failed (the server's words, e.g. a `last` over its list limit), or null. */
  historyError: string | null;
  /** Why the last signals load failed (the server's words), or null: the charts said "No signals yet" instead. */
  signalsError: string | null;
}

/** What GET /version says of the server's build: `commit` null when unknown (built outside git, run from source). */
export interface ServerBuild {
  version: string;
  commit: string | null;
}

/**
 * Is the server now another build than the one the page came from? Another version, or the same
 * version built from another commit (a rebuild: before, only the version was compared, and a
 * server rebuilt at another commit went unnoticed). A commit unknown on either side says nothing:
 * the version alone decides.
 */
export function serverChanged(loaded: ServerBuild, now: ServerBuild): boolean {
  if (loaded.version !== now.version) return true;
  return loaded.commit !== null && now.commit !== null && loaded.commit !== now.commit;
}

/** Scopes are a ladder: ADMIN implies OPERATE implies READ. */
const RANK: Record<TokenScope, number> = { READ: 1, OPERATE: 2, ADMIN: 3 };

export function allows(viewer: Viewer | null, needed: TokenScope): boolean {
  return viewer !== null && RANK[viewer.scope] >= RANK[needed];
}

export const RISK_WORDS: Record<RiskLevel, string> = { LOW: 'low risk', MEDIUM: 'medium risk', HIGH: 'high risk' };
export const SESSION_WORDS: Record<TradingSession, string> = {
  ANY: 'any session',
  LONDON: 'London session',
  NY: 'New York session',
  ASIA: 'Asia session',
};

/**
 * The runners that act on a change: RUNNING, or ERROR (heartbeating, scanning with what it could
 * apply), as the server counts them (fleet.ts `isLive`). Counting RUNNING only, a runner in ERROR
 * that still scanned and traded read "no runner is running".
 */
export function liveRunners<R extends { readonly state: Runner['state'] }>(runners: readonly R[]): R[] {
  return runners.filter((r) => r.state === 'RUNNING' || r.state === 'ERROR');
}

/** The settings a rollback re-applies, as the timeline holds them (each version's) and as the config in force has them. */
export interface RollbackSettings {
  readonly activeStrategyKey: string;
  readonly tradingEnabled: boolean;
  readonly scanIntervalSeconds: number;
  readonly tunableOverrides: unknown;
}

/** A row of the Roll back dialog: a setting now, after, and whether it differs (by value: the overrides' key order is no change). */
export interface RollbackRow {
  readonly label: keyof RollbackSettings;
  readonly before: string;
  readonly after: string;
  readonly changed: boolean;
}

export function rollbackRows(now: RollbackSettings, past: RollbackSettings): RollbackRow[] {
  const labels: (keyof RollbackSettings)[] = ['activeStrategyKey', 'tradingEnabled', 'scanIntervalSeconds', 'tunableOverrides'];
  return labels.map((label) => ({
    label,
    before: show(now[label]),
    after: show(past[label]),
    changed: changedLeaves(label, now[label], past[label]).length > 0,
  }));
}

/**
 * What became of a change the server accepted, in a notice: `changed` false (the settings asked
 * for were already in force: no version made) is not told as done ("Rolled back … version 13" for
 * a rollback that wrote nothing).
 */
export function acceptedWords(done: string, already: string, answer: { changed: boolean; version: number }): string {
  return answer.changed ? `${done}: config version ${answer.version}.` : `Nothing changed: ${already} (config version ${answer.version}).`;
}

/** How the timeline names what made a version. */
export function operationKind(operation: string): { kind: string; word: string } {
  switch (operation) {
    case 'activateStrategy':
      return { kind: 'activation', word: 'activation' };
    case 'updateConfig':
      return { kind: 'update', word: 'update' };
    case 'rollbackConfig':
      return { kind: 'rollback', word: 'rollback' };
    case 'handEdit':
      return { kind: 'hand-edit', word: 'hand edit' };
    default:
      return { kind: 'other', word: operation };
  }
}

/** What the dialogs may ask of the page: send a change (with `expectedVersion`), reload, tell the operator. */
export interface PageActions {
  readonly state: State;
  activate(strategyKey: string, expectedVersion: number): Promise<ApiResult<ActivateStrategyMutation>>;
  /** `null` removes an override. */
  updateOverrides(
    strategyKey: string,
    overrides: Record<string, number | boolean | null>,
    expectedVersion: number,
  ): Promise<ApiResult<UpdateConfigMutation>>;
  rollback(toVersion: number, expectedVersion: number): Promise<ApiResult<RollbackConfigMutation>>;
  /** Reloads every query (after a change, or a refusal that says the state moved). */
  refresh(): Promise<void>;
  notify(kind: 'success' | 'error' | 'info', text: string, topic?: string): void;
  /** Takes away the notices about `topic`. */
  clearNotices(topic: string): void;
}

/** A chart's time tick: the time in UTC, with the date on the first tick and at midnight (candle times are market times, in UTC). */
export function utcTick(seconds: number, first: boolean): string {
  const iso = new Date(seconds * 1000).toISOString();
  const time = iso.slice(11, 16);
  return first || time === '00:00' ? `${iso.slice(5, 10)} ${time}` : time;
}

/**
 * A price axis's tick labels: as many decimals as the tick step needs, the same on every tick.
 * uPlot's default keeps 3 at most, so EUR_USD's 1.0512, 1.0514 and 1.0516 all read "1.051".
 */
export function priceTicks(splits: readonly number[], locale?: string): string[] {
  const steps = splits
    .slice(1)
    .map((v, i) => Math.abs(v - splits[i]!))
    .filter((d) => d > 0);
  // The fewest decimals that give each tick back to a thousandth of a step (the splits are
  // multiples of the step, give or take a float's last bits): distinct, since they are a step apart.
  // A lone tick has no step: it is given back to a float's precision.
  const tolerance = steps.length > 0 ? Math.min(...steps) / 1000 : Math.max(1, Math.abs(splits[0] ?? 0)) * 1e-9;
  let decimals = 0;
  while (decimals < 12 && splits.some((v) => Math.abs(Number(v.toFixed(decimals)) - v) > tolerance)) decimals++;
  const format = new Intl.NumberFormat(locale, { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  return splits.map((v) => format.format(v));
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A change in words, down to the values that changed: `tunableOverrides.range.band_period: 100 → 40`,
 * not the whole overrides map twice (the changed value had to be found by eye in two JSON blobs).
 */
export function changedLeaves(field: string, before: unknown, after: unknown): string[] {
  if (!isRecord(before) && !isRecord(after))
    return JSON.stringify(before) === JSON.stringify(after) ? [] : [`${field}: ${show(before)} → ${show(after)}`];
  const b = isRecord(before) ? before : {};
  const a = isRecord(after) ? after : {};
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])];
  return keys.flatMap((key) => changedLeaves(`${field}.${key}`, b[key], a[key]));
}
