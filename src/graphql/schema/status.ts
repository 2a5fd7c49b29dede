import type { ConfigFileError } from '../../config/errors.js';
import type { ConfigSnapshot } from '../../config/store.js';
import type { RunnerView } from '../../runner/monitor.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { RunnerStatus } from './runner.js';
import { Strategy } from './strategy.js';

/** One consistent view: every field of a Status answers from the same snapshot. */
export interface StatusView {
  readonly snapshot: ConfigSnapshot;
  readonly fileError: ConfigFileError | null;
  readonly runner: RunnerView;
}

export function statusView(ctx: GraphQLContext): StatusView {
  const { store, runner } = ctx.services;
  return { snapshot: store.current(), fileError: store.fileError(), runner: runner.view() };
}

const ConfigProblem = builder.objectRef<ConfigFileError['problems'][number]>('ConfigProblem').implement({
  fields: (t) => ({
    line: t.int({ nullable: true, resolve: (p) => p.line ?? null }),
    column: t.int({ nullable: true, resolve: (p) => p.column ?? null }),
    message: t.exposeString('message'),
  }),
});

// Backed by a plain object: graphql-js treats a resolver returning an Error instance as a thrown error.
interface ConfigErrorView {
  file: string;
  message: string;
  problems: ConfigFileError['problems'];
}

const ConfigError = builder.objectRef<ConfigErrorView>('ConfigError').implement({
  description: 'The config on disk is invalid (e.g. a hand edit with a typo); the last good config stays in force.',
  fields: (t) => ({
    location: t.exposeString('file'),
    message: t.exposeString('message'),
    problems: t.field({ type: [ConfigProblem], resolve: (e) => [...e.problems] }),
  }),
});

export const Status = builder.objectRef<StatusView>('Status').implement({
  fields: (t) => ({
    activeStrategyKey: t.string({ resolve: (s) => s.snapshot.config.activeStrategyKey }),
    activeStrategy: t.field({
      type: Strategy,
      resolve: (s, _args, ctx) => {
        const info = ctx.services.registry.get(s.snapshot.config.activeStrategyKey);
        if (!info) throw new Error(`active strategy ${s.snapshot.config.activeStrategyKey} is not in the registry`);
        return info;
      },
    }),
    configVersion: t.int({ description: '+1 on every accepted change.', resolve: (s) => s.snapshot.config.version }),
    configUpdatedAt: t.field({ type: 'DateTime', resolve: (s) => s.snapshot.config.updatedAt }),
    configDigest: t.string({
      description: 'sha256 of the config file content in force: a hand edit changes it even when it leaves the version alone.',
      resolve: (s) => s.snapshot.digest,
    }),
    tradingEnabled: t.boolean({ resolve: (s) => s.snapshot.config.tradingEnabled }),
    configError: t.field({
      type: ConfigError,
      nullable: true,
      description: 'Set while the config file on disk is invalid; the last good config (reported here) stays in force.',
      resolve: ({ fileError: e }) => (e ? { file: e.publicLocation, message: e.publicMessage, problems: e.problems } : null),
    }),
    runner: t.field({
      type: RunnerStatus,
      description: 'What the runner has applied, when it last scanned, what it said, and any error it holds.',
      resolve: (s) => ({ view: s.runner, configDigest: s.snapshot.digest }),
    }),
    runners: t.field({
      type: [RunnerStatus],
      description:
        'Every runner that has reported (file store: the one runner of this runtime dir; none before it first reports). `runner` summarises them.',
      resolve: (s) => (s.runner.state ? [{ view: s.runner, configDigest: s.snapshot.digest }] : []),
    }),
  }),
});

builder.queryField('status', (t) =>
  t.field({
    type: Status,
    authScopes: { scope: 'read' },
    resolve: (_root, _args, ctx) => statusView(ctx),
  }),
);
