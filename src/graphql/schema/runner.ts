import type { RunnerView } from '../../runner/fleet.js';
import { type PublishedSignal, publishedBy } from '../../runner/signal-history.js';
import { STALE_AFTER_HEARTBEATS } from '../../runner/state.js';
import { builder } from '../builder.js';

export const RunnerStateEnum = builder.enumType('RunnerState', {
  description:
    'RUNNING: heartbeat fresh, no error. STALE: no heartbeat for 3 intervals (dead or stuck). STOPPED: none running. ERROR: running but cannot do what the config asks.',
  values: {
    RUNNING: { description: 'Heartbeat fresh, no error.' },
    STALE: { description: `No heartbeat for ${STALE_AFTER_HEARTBEATS} heartbeat intervals: dead or stuck.` },
    STOPPED: { description: 'Stopped cleanly, or no runner has reported.' },
    ERROR: { description: 'Running, but cannot do what the config asks (an invalid file, a failing feed): see `error`.' },
  } as const,
});

const SignalDirection = builder.enumType('SignalDirection', {
  description: 'What a signal says to hold in an instrument. Reported only: no orders are sent.',
  values: {
    LONG: { description: 'Be long (bought).' },
    SHORT: { description: 'Be short (sold).' },
    FLAT: { description: 'Hold nothing; also what a scan reports for an instrument whose feed failed (with `error`).' },
  } as const,
});

export const RunnerSignal = builder.objectRef<PublishedSignal>('RunnerSignal').implement({
  description: 'What the active strategy said about one instrument on the last scan. Reported only: no orders are sent.',
  fields: (t) => ({
    instrument: t.exposeString('instrument', { description: 'The instrument, in the broker’s convention (`EUR_USD`).' }),
    strategyKey: t.exposeString('strategyKey', { description: 'The strategy that computed it (the one active for that scan).' }),
    runnerId: t.exposeString('runnerId', {
      description:
        'The runner that published it (`--runner-id`; the embedded runner’s id): two runners may scan one instrument, each from its own feed.',
    }),
    direction: t.field({ type: SignalDirection, description: 'What the strategy says to hold.', resolve: (s) => s.direction }),
    reason: t.exposeString('reason', { description: 'Why, in the strategy’s words (`no data: ...` when the feed failed).' }),
    price: t.float({ nullable: true, description: 'The last close the signal was computed on (null: no data).', resolve: (s) => s.price }),
    values: t.field({ type: 'JSON', description: 'The numbers behind the signal (returns, averages, stops).', resolve: (s) => s.values }),
    candleTime: t.field({ type: 'DateTime', nullable: true, description: 'Time of the last candle used.', resolve: (s) => s.candleTime }),
    error: t.string({ nullable: true, description: 'Why there is no real signal (the feed failed).', resolve: (s) => s.error }),
    runStartedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description:
        'When the runner that made it started (its run): a restarted runner, even under the same `runnerId`, is another run and its feed starts over. Null only when the runner did not say.',
      resolve: (s) => s.runStartedAt ?? null,
    }),
    scan: t.int({
      nullable: true,
      description:
        'The scan that made it, numbered within its run (1: the first scan after the runner started). The same `runStartedAt` and `scan` is the same signal (heard twice, e.g. in `signals` and again on `signalsEmitted`). Null from a runner of an older version.',
      resolve: (s) => s.scan ?? null,
    }),
  }),
});

/** The runner's published state, beside the digests of the config and presets in force (to say whether it is in sync). */
export interface RunnerStatusView {
  readonly view: RunnerView;
  readonly configDigest: string;
  readonly presetsDigest: string;
}

export const RunnerStatus = builder.objectRef<RunnerStatusView>('RunnerStatus').implement({
  description: 'What the runner has applied and is doing, as it last published (status, not spec).',
  fields: (t) => ({
    id: t.string({
      nullable: true,
      description: '`--runner-id` (default `<host>:<pid>`); null when no runner has published.',
      resolve: ({ view }) => view.state?.id ?? null,
    }),
    host: t.string({
      nullable: true,
      description: 'The host it runs on; null when no runner has published.',
      resolve: ({ view }) => view.state?.host ?? null,
    }),
    instruments: t.stringList({
      nullable: true,
      description: 'The instruments this runner scans (its share of the active strategy’s); null: all of them.',
      resolve: ({ view }) => view.state?.instruments ?? null,
    }),
    state: t.field({
      type: RunnerStateEnum,
      description: 'RUNNING, STALE, STOPPED or ERROR, judged by this API process from the heartbeat and the error.',
      resolve: ({ view }) => view.health,
    }),
    inSync: t.boolean({
      description: 'True when the runner has applied the config and the presets now in force (same content digests).',
      resolve: ({ view, configDigest, presetsDigest }) => {
        const applied = view.state?.applied;
        // A runner that predates presets reports no presets digest: judged on the config alone.
        return applied?.configDigest === configDigest && (applied.presetsDigest === undefined || applied.presetsDigest === presetsDigest);
      },
    }),
    appliedConfigVersion: t.int({
      nullable: true,
      description: 'The config version it runs with; null until it has applied a config.',
      resolve: ({ view }) => view.state?.applied?.configVersion ?? null,
    }),
    appliedConfigDigest: t.string({
      nullable: true,
      description: 'sha256 of the config content it applied (compare `status.configDigest`); null until it has applied a config.',
      resolve: ({ view }) => view.state?.applied?.configDigest ?? null,
    }),
    appliedStrategyKey: t.string({
      nullable: true,
      description: 'The strategy it runs; null until it has applied a config.',
      resolve: ({ view }) => view.state?.applied?.strategyKey ?? null,
    }),
    appliedPresetsVersion: t.int({
      nullable: true,
      description: 'The version of the preset set the runner’s strategies come from.',
      resolve: ({ view }) => view.state?.applied?.presetsVersion ?? null,
    }),
    appliedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it applied that config; null until it has applied one.',
      resolve: ({ view }) => view.state?.applied?.appliedAt ?? null,
    }),
    lastScanAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When its last scan ended; null before its first scan.',
      resolve: ({ view }) => view.state?.lastScanAt ?? null,
    }),
    lastSignals: t.field({
      type: [RunnerSignal],
      description: 'Its last scan’s signals, one per instrument it scans; empty before its first scan.',
      resolve: ({ view }) => (view.state ? publishedBy(view.state, view.state.lastSignals) : []),
    }),
    error: t.string({
      nullable: true,
      description:
        'What keeps it from doing what the config asks (an invalid or unreadable config, a strategy not in force, a failed scan), or null.',
      resolve: ({ view }) => view.state?.error ?? null,
    }),
    heartbeatAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Its last heartbeat (every `--heartbeat-ms`); null when no runner has published.',
      resolve: ({ view }) => view.state?.heartbeatAt ?? null,
    }),
    staleAfterMs: t.int({
      nullable: true,
      description: `The runner is STALE when its heartbeat is older than this (${STALE_AFTER_HEARTBEATS} heartbeat intervals).`,
      resolve: ({ view }) => (view.state ? STALE_AFTER_HEARTBEATS * view.state.heartbeatIntervalMs : null),
    }),
    pid: t.int({
      nullable: true,
      description: 'Its process id on `host`; null when no runner has published.',
      resolve: ({ view }) => view.state?.pid ?? null,
    }),
    feed: t.string({
      nullable: true,
      description: 'Where its candles come from (`sim:<seed>`, `csv:<file>`).',
      resolve: ({ view }) => view.state?.feed ?? null,
    }),
  }),
});
