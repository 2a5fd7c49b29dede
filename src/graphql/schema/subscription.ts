import { builder } from '../builder.js';
import { Status, statusView } from './status.js';

builder.subscriptionField('statusChanged', (t) =>
  t.field({
    type: Status,
    description:
      'The status, each time it changes: a config change (API or hand edit, or the file going invalid/valid), the runner applying a config, finishing a scan, or changing state (e.g. going STALE). Over SSE (graphql-sse).',
    authScopes: { scope: 'read' },
    subscribe: (_root, _args, ctx) => ctx.services.events.subscribe('status'),
    resolve: (_event, _args, ctx) => statusView(ctx),
  }),
);
