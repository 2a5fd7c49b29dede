import { publishedBy, SIGNALS_KEPT_PER_INSTRUMENT } from '../../runner/signal-history.js';
import { builder } from '../builder.js';
import { lastArgOptions, lastOf } from './list-args.js';
import { RunnerSignal } from './runner.js';

/** `eur/usd`, `eur_usd` and `EUR_USD` all name EUR_USD (as the strategies filter reads it). */
const normalizeInstrument = (value: string) => value.trim().toUpperCase().replace('/', '_');

builder.queryField('signals', (t) =>
  t.field({
    type: [RunnerSignal],
    description: `Recent signals, newest first, as the runners published them since this API process started (at most ${SIGNALS_KEPT_PER_INSTRUMENT} per instrument are kept). Needs scope \`read\`.`,
    authScopes: { scope: 'read' },
    args: {
      instrument: t.arg.string({ required: false, description: 'Only this instrument’s (e.g. `EUR_USD`); all instruments when absent.' }),
      runnerId: t.arg.string({ required: false, description: 'Only this runner’s (`RunnerSignal.runnerId`); every runner’s when absent.' }),
      last: t.arg.int({
        required: false,
        defaultValue: 100,
        ...lastArgOptions('signals', SIGNALS_KEPT_PER_INSTRUMENT),
      }),
    },
    resolve: (_root, { instrument, runnerId, last }, ctx, info) =>
      ctx.services.signals.list({
        instrument: instrument == null ? null : normalizeInstrument(instrument),
        runnerId: runnerId ?? null,
        last: lastOf(last, 100, SIGNALS_KEPT_PER_INSTRUMENT, info, ctx),
      }),
  }),
);

builder.subscriptionField('signalsEmitted', (t) =>
  t.field({
    type: [RunnerSignal],
    description: 'The signals of each scan, as a runner publishes them (one event per scan). Over SSE (graphql-sse).',
    authScopes: { scope: 'read' },
    // Each event is a scan of its own: two that read the same are still two scans, both sent (no stateNowEvents).
    subscribe: (_root, _args, ctx) => ctx.services.events.subscribe('signals'),
    resolve: (scan) => (scan ? publishedBy({ id: scan.runnerId, startedAt: scan.runStartedAt }, scan.signals) : []),
  }),
);
