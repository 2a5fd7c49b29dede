import * as z from 'zod';
import type { SignalFunction, TunableValue } from './signals/types.js';

export type { TunableValue } from './signals/types.js';

/** Broker instrument convention: `EUR_USD`, `XAU_USD`. */
export const instrumentSchema = z.string().regex(/^[A-Z0-9]{3,6}_[A-Z0-9]{3,6}$/, 'instrument must look like EUR_USD');

/** The form of a strategy key. Whether a key names a strategy in force is the registry's to say (`parse`). */
export const strategyKeyFormat = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'strategy key must be lower snake_case');

/**
 * A key the registry has vouched for: parsed once at the edge (`StrategyRegistry.parse`), then
 * trusted; checked again only inside a write, against the strategies in force when it commits.
 */
export const strategyKeySchema = strategyKeyFormat.brand<'StrategyKey'>();
export type StrategyKey = z.output<typeof strategyKeySchema>;

export const riskLevels = ['low', 'medium', 'high'] as const;
export const tradingSessions = ['any', 'london', 'ny', 'asia'] as const;
export type RiskLevel = (typeof riskLevels)[number];
export type TradingSession = (typeof tradingSessions)[number];

/**
 * One tunable parameter of a strategy. The default value is what the strategy runs with unless
 * `tunable_overrides` in the runtime config says otherwise; the bounds are what an override may be.
 */
export const tunableSpecSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('integer'),
      default: z.number().int(),
      min: z.number().int(),
      max: z.number().int(),
      description: z.string().min(1),
    })
    .strict()
    .refine((t) => t.min <= t.default && t.default <= t.max, 'default must lie within [min, max]'),
  z
    .object({
      type: z.literal('number'),
      default: z.number(),
      min: z.number(),
      max: z.number(),
      description: z.string().min(1),
    })
    .strict()
    .refine((t) => t.min <= t.default && t.default <= t.max, 'default must lie within [min, max]'),
  z.object({ type: z.literal('boolean'), default: z.boolean(), description: z.string().min(1) }).strict(),
]);
export type TunableSpec = z.infer<typeof tunableSpecSchema>;

/**
 * A rule across a strategy's tunables: each may lie within its own bounds while together they make
 * no sense (a "fast" moving average longer than the "slow" one inverts a crossover's signals).
 * Checked wherever tunables are set (overrides, presets, hand edits) on the values the strategy
 * would run with.
 */
export interface TunableRule {
  /** The tunables it reads: an issue is reported on the first of them that a change sets. */
  readonly tunables: readonly string[];
  /** Why these values are refused, or undefined when they are acceptable. */
  readonly check: (values: Readonly<Record<string, TunableValue>>) => string | undefined;
}

const tunableRuleSchema = z.custom<TunableRule>(
  (rule) =>
    typeof rule === 'object' &&
    rule !== null &&
    Array.isArray((rule as TunableRule).tunables) &&
    typeof (rule as TunableRule).check === 'function',
  'a tunable rule names its tunables and carries its check',
);

export const strategyDefinitionSchema = z
  .object({
    key: strategyKeyFormat,
    name: z.string().min(1),
    description: z.string().min(20, 'description must say what the strategy does'),
    instruments: z
      .array(instrumentSchema)
      .min(1, 'a strategy must trade at least one instrument')
      .refine((list) => new Set(list).size === list.length, 'instruments must not repeat'),
    tunables: z
      .record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'tunable names are lower snake_case'), tunableSpecSchema)
      .refine((t) => Object.keys(t).length > 0, 'a strategy must declare its tunables'),
    /** Rules across its tunables (optional); its defaults must keep them. */
    rules: z.array(tunableRuleSchema).optional(),
    riskLevel: z.enum(riskLevels),
    sessionPreference: z.enum(tradingSessions),
    /** The strategy's logic: vetted code on the entry itself, never looked up by name elsewhere. */
    signal: z.custom<SignalFunction>((fn) => typeof fn === 'function', 'a strategy must carry its signal function'),
  })
  .strict()
  .superRefine((def, ctx) => {
    const defaults = Object.fromEntries(Object.entries(def.tunables).map(([name, spec]) => [name, spec.default]));
    def.rules?.forEach((rule, i) => {
      const unknown = rule.tunables.filter((name) => !Object.hasOwn(def.tunables, name));
      if (unknown.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i],
          message: `names tunables the strategy does not declare: ${unknown.join(', ')}`,
        });
        return;
      }
      const problem = rule.check(defaults);
      if (problem) ctx.addIssue({ code: 'custom', path: ['rules', i], message: `the defaults break it: ${problem}` });
    });
  });

/** A strategy as written in code: metadata, the specs of its tunables, and its signal function. */
export type StrategyDefinition = z.infer<typeof strategyDefinitionSchema>;

/** A strategy as the rest of the system sees it (deeply read-only). */
export interface StrategyInfo {
  readonly key: StrategyKey;
  readonly name: string;
  readonly description: string;
  readonly instruments: readonly string[];
  /** Default parameters, `{ name: value }`. */
  readonly tunables: Readonly<Record<string, TunableValue>>;
  readonly tunableSpecs: Readonly<Record<string, TunableSpec>>;
  /** Rules across its tunables (a preset's are its base's). */
  readonly tunableRules: readonly TunableRule[];
  readonly riskLevel: RiskLevel;
  readonly sessionPreference: TradingSession;
  /** STATIC: shipped in code. PRESET: a variant defined in strategies.yaml (same signal code as its base). */
  readonly source: 'static' | 'preset';
  /** The static strategy a preset is a variant of; null for a static strategy. */
  readonly base: StrategyKey | null;
  /** Pure and deterministic: the runner calls it with the effective tunables. */
  readonly signal: SignalFunction;
  /** A preset's definition as written in strategies.yaml (absent for a static strategy). */
  readonly preset?: PresetDefinition;
}

/**
 * A preset as written (strategies.yaml, or `upsertPreset`): a variant of a static strategy, the same
 * signal code with its own key, metadata and tunables. Fields left out follow the base.
 */
export interface PresetDefinition {
  readonly key: StrategyKey;
  /** The static strategy whose signal function it runs. */
  readonly base: StrategyKey;
  readonly name: string;
  /** Absent: the base's. */
  readonly description?: string;
  /** A subset of the base's; absent: all of them. */
  readonly instruments?: readonly string[];
  readonly riskLevel?: RiskLevel;
  readonly sessionPreference?: TradingSession;
  /** Only the tunables it sets; the base's defaults fill in the rest. */
  readonly tunables?: Readonly<Record<string, TunableValue>>;
}
