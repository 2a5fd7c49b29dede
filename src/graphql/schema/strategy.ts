import { type PresetDefinition, riskLevels, type StrategyInfo, type TunableSpec, tradingSessions } from '../../registry/index.js';
import { builder } from '../builder.js';

const RISK_LEVEL_DESCRIPTIONS: Record<(typeof riskLevels)[number], string> = {
  low: 'Loses the least on a bad day.',
  medium: 'Between LOW and HIGH.',
  high: 'Can lose the most on a bad day.',
};

export const RiskLevel = builder.enumType('RiskLevel', {
  description: 'How much a strategy can lose on a bad day, relative to the others.',
  values: Object.fromEntries(riskLevels.map((v) => [v.toUpperCase(), { value: v, description: RISK_LEVEL_DESCRIPTIONS[v] }])) as Record<
    'LOW' | 'MEDIUM' | 'HIGH',
    { value: (typeof riskLevels)[number]; description: string }
  >,
});

const TRADING_SESSION_DESCRIPTIONS: Record<(typeof tradingSessions)[number], string> = {
  any: 'No session preferred.',
  london: 'The London (European) session.',
  ny: 'The New York session.',
  asia: 'The Asian session (Tokyo, Sydney).',
};

export const TradingSession = builder.enumType('TradingSession', {
  description: 'The market session a strategy is built for.',
  values: Object.fromEntries(
    tradingSessions.map((v) => [v.toUpperCase(), { value: v, description: TRADING_SESSION_DESCRIPTIONS[v] }]),
  ) as Record<'ANY' | 'LONDON' | 'NY' | 'ASIA', { value: (typeof tradingSessions)[number]; description: string }>,
});

export const StrategySource = builder.enumType('StrategySource', {
  description: 'STATIC: shipped in code. PRESET: a variant of a static strategy defined in strategies.yaml (the same signal code).',
  values: {
    STATIC: { value: 'static', description: 'Shipped in code (the static registry); changing it needs a restart.' },
    PRESET: { value: 'preset', description: 'Defined in strategies.yaml as a variant of a static strategy; changed without a restart.' },
  } as const,
});

const TunableType = builder.enumType('TunableType', {
  description: 'The kind of value a tunable takes.',
  values: {
    INTEGER: { description: 'A whole number from `min` to `max`.' },
    NUMBER: { description: 'A number, fractions allowed, from `min` to `max`.' },
    BOOLEAN: { description: 'true or false (no `min` or `max`).' },
  } as const,
});

const TunableDefinition = builder.objectRef<{ name: string; spec: TunableSpec }>('TunableDefinition').implement({
  description: 'One parameter of a strategy: its default and the values an override may take.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Its name: the key in `tunables` and in the config’s `tunableOverrides`.' }),
    type: t.field({
      type: TunableType,
      description: 'The kind of value it takes.',
      resolve: ({ spec }) => spec.type.toUpperCase() as 'INTEGER' | 'NUMBER' | 'BOOLEAN',
    }),
    default: t.field({
      type: 'JSON',
      description:
        'Its default in the code, a number or a boolean; for a preset, its base’s (the preset’s own value is in `Strategy.tunables`).',
      resolve: ({ spec }) => spec.default,
    }),
    min: t.float({
      nullable: true,
      description: 'The lowest value an override may take (inclusive); null for a BOOLEAN.',
      resolve: ({ spec }) => (spec.type === 'boolean' ? null : spec.min),
    }),
    max: t.float({
      nullable: true,
      description: 'The highest value an override may take (inclusive); null for a BOOLEAN.',
      resolve: ({ spec }) => (spec.type === 'boolean' ? null : spec.max),
    }),
    description: t.string({ description: 'What the parameter does.', resolve: ({ spec }) => spec.description }),
  }),
});

const Preset = builder.objectRef<PresetDefinition>('Preset').implement({
  description: 'A preset as written in strategies.yaml: what it sets itself (null: it follows its base).',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'Its key, as in strategies.yaml.' }),
    base: t.exposeString('base', { description: 'The static strategy whose signal code it runs.' }),
    name: t.exposeString('name', { description: 'Its name.' }),
    description: t.string({
      nullable: true,
      description: 'Its own description; null: the base’s.',
      resolve: (p) => p.description ?? null,
    }),
    instruments: t.stringList({
      nullable: true,
      description: 'Its own instruments (a subset of the base’s); null: all of the base’s.',
      resolve: (p) => (p.instruments ? [...p.instruments] : null),
    }),
    riskLevel: t.field({
      type: RiskLevel,
      nullable: true,
      description: 'Its own risk level; null: the base’s.',
      resolve: (p) => p.riskLevel ?? null,
    }),
    sessionPreference: t.field({
      type: TradingSession,
      nullable: true,
      description: 'Its own session; null: the base’s.',
      resolve: (p) => p.sessionPreference ?? null,
    }),
    tunables: t.field({ type: 'JSON', nullable: true, description: 'Only the tunables it sets.', resolve: (p) => p.tunables ?? null }),
  }),
});

export const Strategy = builder.objectRef<StrategyInfo>('Strategy').implement({
  description:
    'A strategy in force: static (vetted code) or a preset (a variant of a static one: the same signal code, its own metadata and tunables). Activating one is a config change.',
  fields: (t) => ({
    key: t.exposeString('key', {
      description: 'What activation and `tunableOverrides` name it by: lower snake_case, a static key or a preset’s.',
    }),
    name: t.exposeString('name', { description: 'Its name, for people.' }),
    description: t.exposeString('description', { description: 'What it does (a preset without its own: its base’s).' }),
    instruments: t.field({
      type: ['String'],
      description: 'The instruments the runner scans with it, in the broker’s convention (`EUR_USD`, `XAU_USD`).',
      resolve: (s) => [...s.instruments],
    }),
    tunables: t.field({
      type: 'JSON',
      description: 'Default parameters, `{ name: value }` (a preset: its base’s defaults, then its own).',
      resolve: (s) => s.tunables,
    }),
    tunableDefinitions: t.field({
      type: [TunableDefinition],
      description: 'Type, default and bounds of each tunable.',
      resolve: (s) => Object.entries(s.tunableSpecs).map(([name, spec]) => ({ name, spec })),
    }),
    effectiveTunables: t.field({
      type: 'JSON',
      description: 'The parameters it runs with: its defaults, then the config’s `tunableOverrides` for it.',
      // From the strategy being answered, not looked up by its key: a deleted preset (`deletePreset`'s
      // answer) is no longer in the strategies in force, and its defaults still stand.
      resolve: (s, _args, ctx) => ({ ...s.tunables, ...ctx.services.store.state().config.config.tunableOverrides[s.key] }),
    }),
    riskLevel: t.field({
      type: RiskLevel,
      description: 'How much it can lose on a bad day, relative to the others.',
      resolve: (s) => s.riskLevel,
    }),
    sessionPreference: t.field({
      type: TradingSession,
      description: 'The market session it is built for (information only: the runner scans at every interval).',
      resolve: (s) => s.sessionPreference,
    }),
    isActive: t.boolean({
      description: 'True for the strategy the config in force names active (`status.activeStrategyKey`).',
      resolve: (s, _args, ctx) => ctx.services.store.state().config.config.activeStrategyKey === s.key,
    }),
    source: t.field({ type: StrategySource, description: 'Shipped in code, or a preset.', resolve: (s) => s.source }),
    base: t.string({
      nullable: true,
      description: 'The static strategy a preset is a variant of; null for a static one.',
      resolve: (s) => s.base,
    }),
    preset: t.field({
      type: Preset,
      nullable: true,
      description: 'A preset’s definition as written (null for a static strategy).',
      resolve: (s) => s.preset ?? null,
    }),
  }),
});

/** `eur/usd`, `eur_usd` and `EUR_USD` all name EUR_USD. */
const normalizeInstrument = (value: string) => value.trim().toUpperCase().replace('/', '_');

builder.queryFields((t) => ({
  strategies: t.field({
    type: [Strategy],
    description: 'The strategies in force: the static ones, then the presets in file order; every filter given must match.',
    authScopes: { scope: 'read' },
    args: {
      instrument: t.arg.string({ required: false, description: 'Only strategies that trade this instrument (e.g. `EUR_USD`).' }),
      riskLevel: t.arg({ type: RiskLevel, required: false, description: 'Only strategies of this risk level.' }),
      sessionPreference: t.arg({
        type: TradingSession,
        required: false,
        description: 'Only strategies built for this session (ANY matches only those whose preference is ANY).',
      }),
    },
    resolve: (_root, args, ctx) => {
      const instrument = args.instrument == null ? null : normalizeInstrument(args.instrument);
      return ctx.services.store
        .state()
        .strategies.list()
        .filter(
          (s) =>
            (instrument === null || s.instruments.includes(instrument)) &&
            (args.riskLevel == null || s.riskLevel === args.riskLevel) &&
            (args.sessionPreference == null || s.sessionPreference === args.sessionPreference),
        );
    },
  }),
  strategy: t.field({
    type: Strategy,
    nullable: true,
    description: 'One strategy by key; null when there is no such strategy.',
    authScopes: { scope: 'read' },
    args: { key: t.arg.string({ required: true, description: 'The key exactly as listed, e.g. `momentum` or a preset’s key.' }) },
    resolve: (_root, args, ctx) => ctx.services.store.state().strategies.get(args.key) ?? null,
  }),
}));
