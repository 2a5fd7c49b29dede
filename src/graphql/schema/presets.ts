import * as z from 'zod';
import type { ConfigFileError } from '../../config/errors.js';
import { deletePreset, type PresetInput as PresetFields, upsertPreset } from '../../config/preset-changes.js';
import type { PresetsCommitResult, StoreState } from '../../config/store.js';
import {
  instrumentSchema,
  ownKeysOnly,
  PRESET_KEY_PATTERN,
  PRESET_TEXT_LIMITS,
  type StrategyInfo,
  shownValue,
  strategyKeyFormat,
} from '../../registry/index.js';
import { builder } from '../builder.js';
import { requester } from '../context.js';
import { stateNowEvents } from '../plugins/no-repeated-events.js';
import { ConfigError, errorView, Status, statusView } from './status.js';
import { RiskLevel, Strategy, TradingSession } from './strategy.js';

const PresetInput = builder
  .inputType('PresetInput', {
    description:
      'A whole preset (it replaces one with the same key). Fields left out follow the base: its description, instruments, risk level, session and tunable defaults.',
    fields: (t) => ({
      key: t.string({ required: true, description: `Its own key: ${PRESET_KEY_PATTERN.source}, not a static strategy’s key.` }),
      base: t.string({ required: true, description: 'The static strategy whose signal code it runs.' }),
      name: t.string({ required: true, description: `Its name: one line, 1 to ${PRESET_TEXT_LIMITS.name} characters.` }),
      description: t.string({
        required: false,
        description: `At most ${PRESET_TEXT_LIMITS.description} characters; left out or null: the base’s.`,
      }),
      instruments: t.stringList({ required: false, description: 'A subset of the base’s instruments.' }),
      riskLevel: t.field({ type: RiskLevel, required: false, description: 'Left out or null: the base’s.' }),
      sessionPreference: t.field({ type: TradingSession, required: false, description: 'Left out or null: the base’s.' }),
      tunables: t.field({
        type: 'JSON',
        required: false,
        description: '`{ <tunable>: value }`: some of the base’s tunables, within their bounds.',
      }),
    }),
  })
  // The shape here; whether the base exists and the tunables fit it is checked at commit, against the strategies in force.
  .validate(
    z.object({
      key: z.string().regex(PRESET_KEY_PATTERN, `must be lower snake_case, 2 to 48 characters (${PRESET_KEY_PATTERN.source})`),
      base: strategyKeyFormat,
      name: z
        .string()
        .min(1, 'must not be empty')
        .max(PRESET_TEXT_LIMITS.name, `must be at most ${PRESET_TEXT_LIMITS.name} characters (UTF-16 code units: most emoji count 2)`),
      description: z
        .string()
        .max(
          PRESET_TEXT_LIMITS.description,
          `must be at most ${PRESET_TEXT_LIMITS.description} characters (UTF-16 code units: most emoji count 2)`,
        )
        .nullish(),
      instruments: z.array(instrumentSchema).min(1, 'must name at least one instrument (leave it out for all of the base’s)').nullish(),
      riskLevel: z.string().nullish(),
      sessionPreference: z.string().nullish(),
      tunables: ownKeysOnly(
        z.record(
          z.string(),
          z.union([z.number(), z.boolean()], { error: (iss) => `must be a number or a boolean, got ${shownValue(iss.input)}` }),
          { error: 'must be a map of tunable names to values' },
        ),
      ).nullish(),
    }),
  );

interface PresetResult {
  readonly strategy: StrategyInfo;
  readonly result: PresetsCommitResult;
}

const PresetPayload = builder.objectRef<PresetResult>('PresetPayload').implement({
  description: 'What `upsertPreset` and `deletePreset` answer.',
  fields: (t) => ({
    strategy: t.field({
      type: Strategy,
      description: 'The preset as now in force (deletePreset: the entry deleted).',
      resolve: (p) => p.strategy,
    }),
    presetsVersion: t.int({ description: 'The preset set’s version after this change.', resolve: (p) => p.result.current.version }),
    changed: t.boolean({
      description: 'False when the preset was already exactly so: nothing was written, no version used, no audit entry.',
      resolve: (p) => p.result.changed,
    }),
    changedFields: t.stringList({
      description: '`<key>.<field>` for each preset field that changed.',
      resolve: (p) => [...p.result.changedFields],
    }),
  }),
});

const ReloadStrategiesPayload = builder
  .objectRef<{ state: StoreState; problem: ConfigFileError | null }>('ReloadStrategiesPayload')
  .implement({
    description: 'What `reloadStrategies` answers: what is in force after reading the stored files again.',
    fields: (t) => ({
      presetsVersion: t.int({
        description: 'Version of the preset set in force; 0 before the first preset.',
        resolve: (p) => p.state.presets.version,
      }),
      strategies: t.field({
        type: [Strategy],
        description: 'The strategies in force: the static ones, then the presets in file order.',
        resolve: (p) => p.state.strategies.list(),
      }),
      strategiesError: t.field({
        type: ConfigError,
        nullable: true,
        description: 'Why the presets on disk are not in force (the last good set is), or null.',
        resolve: (p) => errorView(p.problem),
      }),
      status: t.field({ type: Status, description: 'The status after the reload.', resolve: (_p, _args, ctx) => statusView(ctx) }),
    }),
  });

const EXPECTED_VERSION = 'Refuse with CONFLICT unless the preset set is at this version (`status.presetsVersion`).';

builder.mutationFields((t) => ({
  upsertPreset: t.field({
    type: PresetPayload,
    description:
      'Adds a preset, or replaces the one with this key, in strategies.yaml (comments kept); validated before anything is written, audited, in force without a restart. Needs scope `admin`.',
    authScopes: { scope: 'admin' },
    args: {
      input: t.arg({ type: PresetInput, required: true, description: 'The whole preset; it replaces the one with the same key.' }),
      expectedVersion: t.arg.int({ required: false, description: EXPECTED_VERSION }),
    },
    resolve: async (_root, { input, expectedVersion }, ctx) => {
      const fields: PresetFields = {
        key: input.key,
        base: input.base,
        name: input.name,
        ...(input.description != null && { description: input.description }),
        ...(input.instruments != null && { instruments: input.instruments }),
        ...(input.riskLevel != null && { riskLevel: input.riskLevel }),
        ...(input.sessionPreference != null && { sessionPreference: input.sessionPreference }),
        ...(input.tunables != null && { tunables: input.tunables }),
      };
      const result = await ctx.services.store.commit(upsertPreset(fields, requester(ctx)), {
        expectedVersion: expectedVersion ?? undefined,
        requestId: ctx.requestId,
      });
      return { strategy: result.strategies.get(input.key) as StrategyInfo, result };
    },
  }),
  deletePreset: t.field({
    type: PresetPayload,
    description:
      'Removes a preset from strategies.yaml; refused while the config uses it (active, or in tunable_overrides). Audited. Needs scope `admin`.',
    authScopes: { scope: 'admin' },
    args: {
      key: t.arg.string({ required: true, description: 'The preset’s key; an unknown key (or a static strategy’s) is refused.' }),
      expectedVersion: t.arg.int({ required: false, description: EXPECTED_VERSION }),
    },
    resolve: async (_root, { key, expectedVersion }, ctx) => {
      const result = await ctx.services.store.commit(deletePreset(key, requester(ctx)), {
        expectedVersion: expectedVersion ?? undefined,
        requestId: ctx.requestId,
      });
      return { strategy: result.previousStrategies.get(key) as StrategyInfo, result };
    },
  }),
  reloadStrategies: t.field({
    type: ReloadStrategiesPayload,
    description:
      'Reads strategies.yaml (and config.yaml) now instead of at the next watch event or periodic check, and answers what is in force. Needs scope `admin`.',
    authScopes: { scope: 'admin' },
    resolve: async (_root, _args, ctx) => {
      const { store } = ctx.services;
      await store.refresh();
      return { state: store.state(), problem: store.strategiesProblem() };
    },
  }),
}));

builder.subscriptionField('strategiesChanged', (t) =>
  t.field({
    type: [Strategy],
    description:
      'The strategies in force, each time the set changes (a preset added, edited or removed, through the API or by hand). Over SSE.',
    authScopes: { scope: 'read' },
    // Each event is the set in force when it is delivered (two quick changes can both read the last).
    extensions: stateNowEvents,
    subscribe: (_root, _args, ctx) => ctx.services.events.subscribe('strategies'),
    resolve: (_event, _args, ctx) => ctx.services.store.state().strategies.list(),
  }),
);
