import { builder } from '../builder.js';
import { stateNowEvents } from '../plugins/no-repeated-events.js';
import { Status, statusView } from './status.js';

builder.subscriptionField('statusChanged', (t) =>
  t.field({
    type: Status,
    description:
      'The status, each time it changes: a config change (API or hand edit, or the file going invalid/valid), the runner applying a config, finishing a scan, or changing state (e.g. going STALE). Over SSE (graphql-sse).',
    authScopes: { scope: 'read' },
    // Each event is the status when it is delivered: one that reads as the last one sent is not sent.
    extensions: stateNowEvents,
    subscribe: (_root, _args, ctx) => ctx.services.events.subscribe('status'),
    resolve: (_event, _args, ctx) => statusView(ctx),
  }),
);
