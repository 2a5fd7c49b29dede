import { type ConfigFileError, ConfigMissingError } from '../../config/errors.js';
import type { StoreInfo, StoreState } from '../../config/store.js';
import type { RunnerView } from '../../runner/fleet.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { RunnerStatus } from './runner.js';
import { Strategy } from './strategy.js';

/** One consistent view: every field of a Status answers from the same snapshot. */
export interface StatusView {
  readonly state: StoreState;
  readonly problem: ConfigFileError | null;
  readonly strategiesProblem: ConfigFileError | null;
  readonly runners: readonly RunnerView[];
  readonly store: StoreInfo;
}

export function statusView(ctx: GraphQLContext): StatusView {
  const { store, runners } = ctx.services;
  return {
    state: store.state(),
    problem: store.problem(),
    strategiesProblem: store.strategiesProblem(),
    runners: runners.views(),
    store: store.info(),
  };
}

const ConfigProblem = builder.objectRef<ConfigFileError['problems'][number]>('ConfigProblem').implement({
  description: 'One thing wrong with a stored file, and where.',
  fields: (t) => ({
    line: t.int({
      nullable: true,
      description: 'The line it is on, from 1; null when it has no place in the file (e.g. the file is missing).',
      resolve: (p) => p.line ?? null,
    }),
    column: t.int({ nullable: true, description: 'The column, from 1; null when not known.', resolve: (p) => p.column ?? null }),
    message: t.exposeString('message', { description: 'What is wrong.' }),
  }),
});

// Backed by a plain object: graphql-js treats a resolver returning an Error instance as a thrown error.
interface ConfigErrorView {
  file: string;
  message: string;
  problems: ConfigFileError['problems'];
  changesRefused: boolean;
}

export const errorView = (e: ConfigFileError | null): ConfigErrorView | null =>
  e ? { file: e.publicLocation, message: e.publicMessage, problems: e.problems, changesRefused: !(e instanceof ConfigMissingError) } : null;

export const ConfigError = builder.objectRef<ConfigErrorView>('ConfigError').implement({
  description:
    'A stored file is invalid (e.g. a hand edit with a typo), or (presets) would break the config; the last good state stays in force.',
  fields: (t) => ({
    location: t.exposeString('file', {
      description: 'The stored file, by name only: `config.yaml` or `strategies.yaml` (with etcd, the key).',
    }),
    message: t.exposeString('message', { description: 'The whole report: the file, then each problem with its line.' }),
    problems: t.field({
      type: [ConfigProblem],
      description: 'Each problem on its own, with its line and column where known.',
      resolve: (e) => [...e.problems],
    }),
    changesRefused: t.exposeBoolean('changesRefused', {
      description:
        'Whether changes to what this file holds are refused until it is fixed (`CONFIG_FILE_INVALID`). False when the stored config is only missing (deleted by hand; with etcd, its key gone): the next change through the API writes it again.',
    }),
  }),
});

const StoreKind = builder.enumType('StoreKind', {
  description: 'Where the config, presets, audit trail and tokens are stored (`--store`).',
  values: {
    FILE: { description: 'Files in the runtime directory (the default).' },
    ETCD: { description: 'An etcd cluster (`--store etcd://...`), shared by API replicas and runners.' },
  } as const,
});

const StoreStatus = builder.objectRef<StoreInfo>('StoreStatus').implement({
  description: 'Where the config lives and whether this API process reaches it.',
  fields: (t) => ({
    kind: t.field({ type: StoreKind, description: 'FILE or ETCD.', resolve: (s) => s.kind }),
    connected: t.exposeBoolean('connected', {
      description:
        'Whether this API process reaches the store now; always true for FILE. While false, changes are refused (UNAVAILABLE) and reads answer from the last state seen.',
    }),
    lastContactAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'The last successful read or write of the store; null before the first.',
      resolve: (s) => s.lastContactAt,
    }),
  }),
});

export const Status = builder.objectRef<StatusView>('Status').implement({
  description:
    'The system at one moment: the config in force (what is asked), the runners (what is applied), the preset set and the store, all from one snapshot.',
  fields: (t) => ({
    activeStrategyKey: t.string({
      description: 'The strategy the config in force names active; `runner.appliedStrategyKey` is the one running.',
      resolve: (s) => s.state.config.config.activeStrategyKey,
    }),
    activeStrategy: t.field({
      type: Strategy,
      description: 'The active strategy itself.',
      resolve: (s) => {
        const info = s.state.strategies.get(s.state.config.config.activeStrategyKey);
        if (!info) throw new Error(`active strategy ${s.state.config.config.activeStrategyKey} is not in force`);
        return info;
      },
    }),
    configVersion: t.int({
      description: '+1 on every accepted change; never goes backwards.',
      resolve: (s) => s.state.config.config.version,
    }),
    configUpdatedAt: t.field({
      type: 'DateTime',
      description: 'The config’s `updatedAt`: when the change in force was accepted.',
      resolve: (s) => s.state.config.config.updatedAt,
    }),
    configDigest: t.string({
      description: 'sha256 of the stored config content in force: a hand edit changes it even when it leaves the version alone.',
      resolve: (s) => s.state.config.digest,
    }),
    tradingEnabled: t.boolean({
      description: 'The config’s `tradingEnabled` (see RuntimeConfig).',
      resolve: (s) => s.state.config.config.tradingEnabled,
    }),
    configError: t.field({
      type: ConfigError,
      nullable: true,
      description: 'Set while the stored config is invalid; the last good config (reported here) stays in force.',
      resolve: ({ problem }) => errorView(problem),
    }),
    presetsVersion: t.int({
      description: 'Version of the preset set in force (strategies.yaml): +1 on every accepted change; 0 before the first preset.',
      resolve: (s) => s.state.presets.version,
    }),
    strategiesError: t.field({
      type: ConfigError,
      nullable: true,
      description:
        'Set while the stored presets are not in force: invalid, or they would remove or invalidate a strategy the config uses. The last good set stays in force.',
      resolve: ({ strategiesProblem }) => errorView(strategiesProblem),
    }),
    runner: t.field({
      type: RunnerStatus,
      description:
        'The runners in one view: the worst state (ERROR > STALE > STOPPED > RUNNING); the other fields come from the runner with the lowest applied version.',
      resolve: (s, _args, ctx) => ({
        view: ctx.services.runners.summary(s.runners),
        configDigest: s.state.config.digest,
        presetsDigest: s.state.presets.digest,
      }),
    }),
    runners: t.field({
      type: [RunnerStatus],
      description: 'Every runner, in id order (the file store has at most one).',
      resolve: (s) => s.runners.map((view) => ({ view, configDigest: s.state.config.digest, presetsDigest: s.state.presets.digest })),
    }),
    store: t.field({
      type: StoreStatus,
      description: 'Which store this API process uses and whether it reaches it.',
      resolve: (s) => s.store,
    }),
  }),
});

builder.queryField('status', (t) =>
  t.field({
    type: Status,
    description: 'The system now: the config in force (desired), the runners (applied), the preset set and the store. Needs scope `read`.',
    authScopes: { scope: 'read' },
    resolve: (_root, _args, ctx) => statusView(ctx),
  }),
);
