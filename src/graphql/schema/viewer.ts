import type { Identity, Scope } from '../../auth/identity.js';
import { builder } from '../builder.js';

/** Highest first: scopes are a ladder (admin implies operate implies read). */
const LADDER: readonly Scope[] = ['admin', 'operate', 'read'];

const TokenScope = builder.enumType('TokenScope', {
  description: 'What a token may do: READ queries; OPERATE also activates strategies; ADMIN also changes settings and rolls back.',
  values: {
    READ: { value: 'read', description: 'Queries and subscriptions (every caller has it unless reads require a token).' },
    OPERATE: { value: 'operate', description: 'READ, and `activateStrategy`.' },
    ADMIN: { value: 'admin', description: 'Everything: OPERATE, and settings, rollbacks and presets.' },
  } as const,
});

const Viewer = builder.objectRef<Identity>('Viewer').implement({
  description: 'The token this request was made with.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The token’s name: the actor the audit trail records.' }),
    scope: t.field({
      type: TokenScope,
      description: 'The highest scope it holds.',
      resolve: (identity) => LADDER.find((s) => identity.scopes.has(s)) ?? 'read',
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: Viewer,
    nullable: true,
    description: 'Who is asking: null without a token (a wrong token is refused with 401 before this runs).',
    resolve: (_root, _args, ctx) => ctx.identity,
  }),
);
