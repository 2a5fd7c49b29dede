import * as z from 'zod';
import {
  brokenTunableRules,
  checkTunableValue,
  ownKeysOnly,
  type StrategyRegistry,
  shownName,
  shownValue,
  storedTunableValue,
  strategyKeySchema,
  type TunableValue,
} from '../registry/index.js';
import { fromSnakeKeys, snakeCase } from './case.js';
import { type ConfigIssue, MAX_VERSION } from './errors.js';

import { SCAN_INTERVAL_LIMITS, SCAN_INTERVAL_WORDS } from './scan-interval.js';

export { SCAN_INTERVAL_LIMITS } from './scan-interval.js';

const required = (what: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? 'is required' : `must be ${what}, got ${shownValue(iss.input)}`;

export const scanIntervalSchema = z
  .number({ error: required('a whole number of seconds') })
  .int({ error: 'must be a whole number of seconds' })
  .min(SCAN_INTERVAL_LIMITS.min, { error: SCAN_INTERVAL_WORDS.min })
  .max(SCAN_INTERVAL_LIMITS.max, { error: SCAN_INTERVAL_WORDS.max });

const tunableValueSchema = z.union([z.number(), z.boolean()]);

/**
 * The runtime config's shape: the source of its type. Which strategies and tunables exist is the
 * registry's to say; `configSchemaFor(registry)` adds those checks.
 */
/**
 * Whether an ISO-8601 time with an offset is, in UTC, within years 0000 to 9999: the API answers
 * every DateTime in UTC (graphql-scalars' DateTime: `toISOString()`), and outside those years that
 * is an expanded year (`9999-12-31T23:59:59-12:00` is `+010000-01-01T11:59:59.000Z`), which no
 * RFC 3339 parser (a generated client's) reads. A hand edit can write one; it is refused at load.
 */
export function inRfc3339Years(time: string): boolean {
  const year = new Date(time).getUTCFullYear();
  return year >= 0 && year <= 9999;
}
export const RFC3339_YEARS_PROBLEM = 'must be, in UTC, within years 0000 to 9999 (RFC 3339)';

/**
 * A time the API serves as a DateTime, read from where anyone may write (a runner's published state,
 * an audit entry): RFC 3339 with an offset (zod's form is stricter than the DateTime scalar's, which
 * threw "Unexpected error." at the field for any other string, e.g. `2026-11-28 10:00`), within years
 * 0000 to 9999 in UTC (`inRfc3339Years`). Everything this project writes there is `toISOString()`.
 */
export const servedTimeSchema = z.iso
  .datetime({ offset: true, error: 'must be an RFC 3339 time, e.g. 2026-01-05T01:35:00Z' })
  .refine(inRfc3339Years, { error: RFC3339_YEARS_PROBLEM });

export const runtimeConfigSchema = z
  .object({
    activeStrategyKey: z.string({ error: required('a strategy key') }).pipe(strategyKeySchema),
    tradingEnabled: z.boolean({ error: required('true or false') }),
    scanIntervalSeconds: scanIntervalSchema,
    /** `{ <strategyKey>: { <tunable>: value } }` */
    tunableOverrides: ownKeysOnly(z.record(z.string(), ownKeysOnly(z.record(z.string(), tunableValueSchema)))),
    /** +1 on every accepted change; never goes backwards. */
    version: z
      .number({ error: required('a positive whole number') })
      .int({ error: 'must be a whole number' })
      .min(1, { error: 'must be at least 1' })
      .max(MAX_VERSION, { error: `must be at most ${MAX_VERSION}` }),
    /** ISO-8601 time of the last accepted change. */
    updatedAt: z.iso
      .datetime({
        offset: true,
        error: (iss) => (iss.input === undefined ? 'is required' : 'must be an ISO-8601 time, e.g. 2026-01-05T01:35:00Z'),
      })
      .refine(inRfc3339Years, { error: RFC3339_YEARS_PROBLEM }),
  })
  .strict();

export type RuntimeConfig = Readonly<z.output<typeof runtimeConfigSchema>>;
export type RuntimeConfigField = keyof RuntimeConfig;
export const CONFIG_FIELDS = Object.keys(runtimeConfigSchema.shape) as RuntimeConfigField[];
/** The fields a change sets; `version` and `updatedAt` are the store's. */
export const SETTABLE_FIELDS = ['activeStrategyKey', 'tradingEnabled', 'scanIntervalSeconds', 'tunableOverrides'] as const;
export type SettableField = (typeof SETTABLE_FIELDS)[number];

/** A partial update: absent fields are kept; in overrides, `null` removes (a tunable or a whole strategy's). */
export const configUpdateSchema = z
  .object({
    activeStrategyKey: z.string({ error: required('a strategy key') }),
    tradingEnabled: z.boolean({ error: required('true or false') }),
    scanIntervalSeconds: scanIntervalSchema,
    tunableOverrides: z.unknown(),
  })
  .partial()
  .strict();

export type ConfigUpdate = {
  activeStrategyKey?: string;
  tradingEnabled?: boolean;
  scanIntervalSeconds?: number;
  tunableOverrides?: Record<string, Record<string, TunableValue | null> | null>;
};

/** The settings of a new config (the seed's defaults): the runner only reports signals; it sends no orders. */
export const DEFAULT_SETTINGS = {
  activeStrategyKey: strategyKeySchema.parse('momentum'),
  tradingEnabled: true,
  scanIntervalSeconds: 30,
  tunableOverrides: {},
} as const satisfies Pick<RuntimeConfig, SettableField>;

type AddIssue = (path: (string | number)[], message: string, more?: number) => void;

/**
 * The most problems of the overrides described one by one; the rest are counted in one more issue.
 * A hand edit of 40,000 unknown tunables took 2.5 s of the event loop to describe (a message, a
 * zod issue each: only 20 are shown), and an update holding them answered a megabyte.
 */
export const MAX_OVERRIDE_ISSUES = 50;

/** Checks `{ <strategyKey>: { <tunable>: value } }` against the registry (null removes, in an update). */
function checkOverrides(registry: StrategyRegistry, overrides: unknown, addIssue: AddIssue, allowNull: boolean): void {
  let described = 0;
  let more = 0;
  const add = (path: (string | number)[], message: string | (() => string)) => {
    if (described === MAX_OVERRIDE_ISSUES) return void more++;
    described++;
    addIssue(path, typeof message === 'string' ? message : message());
  };
  checkOverridesEach(registry, overrides, add, allowNull);
  if (more > 0) addIssue([], `... and ${more} more problems in these overrides`, more);
}

function checkOverridesEach(
  registry: StrategyRegistry,
  overrides: unknown,
  add: (path: (string | number)[], message: string | (() => string)) => void,
  allowNull: boolean,
): void {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    add([], 'must be a map of strategy keys to { tunable: value } maps');
    return;
  }
  for (const [strategyKey, tunables] of Object.entries(overrides)) {
    const info = registry.get(strategyKey);
    if (!info) {
      add([strategyKey], () => `unknown strategy "${shownName(strategyKey)}" (known: ${registry.keys.join(', ')})`);
      continue;
    }
    if (tunables === null && allowNull) continue; // removes all of that strategy's overrides
    if (tunables === null || typeof tunables !== 'object' || Array.isArray(tunables)) {
      add([strategyKey], 'must be a map of tunable names to values');
      continue;
    }
    let invalid = false;
    for (const [name, value] of Object.entries(tunables)) {
      // Own keys only: `constructor` or `toString` must not find Object.prototype's members.
      const spec = Object.hasOwn(info.tunableSpecs, name) ? info.tunableSpecs[name] : undefined;
      if (!spec) {
        add(
          [strategyKey, name],
          () =>
            `unknown tunable "${shownName(name)}" for strategy "${shownName(strategyKey)}" (known: ${Object.keys(info.tunableSpecs).join(', ')})`,
        );
        invalid = true;
        continue;
      }
      if (value === null && allowNull) continue; // removes this override
      const problem = checkTunableValue(spec, value);
      if (problem) {
        add([strategyKey, name], problem);
        invalid = true;
      }
    }
    // Each value within its bounds: then together, as the strategy would run (its tunables, these on top).
    // An update's are checked once merged into the config (mergeConfigUpdate): a null there means the default.
    if (!allowNull && !invalid) {
      for (const broken of brokenTunableRules(
        info.tunableRules,
        { ...info.tunables, ...(tunables as Record<string, TunableValue>) },
        tunables,
      )) {
        add([strategyKey, broken.tunable], broken.message);
      }
    }
  }
}

/** Builds a schema once per registry: building zod schemas costs more than using them (a hot path on every reload). */
function memoized<T>(build: (registry: StrategyRegistry) => T): (registry: StrategyRegistry) => T {
  const cache = new WeakMap<StrategyRegistry, T>();
  return (registry) => {
    let schema = cache.get(registry);
    if (schema === undefined) {
      schema = build(registry);
      cache.set(registry, schema);
    }
    return schema;
  };
}

const addTo =
  (ctx: z.core.$RefinementCtx, prefix: (string | number)[]): AddIssue =>
  (path, message, more) =>
    ctx.addIssue({ code: 'custom', path: [...prefix, ...path], message, ...(more !== undefined && { params: { more } }) });

/**
 * The whole config, checked against the strategies in force. The checks sit on the fields, so each
 * is reported even when another field is missing or wrong.
 */
export const configSchemaFor = memoized((registry: StrategyRegistry) =>
  z
    .object({
      ...runtimeConfigSchema.shape,
      activeStrategyKey: runtimeConfigSchema.shape.activeStrategyKey.refine((k) => registry.has(k), {
        error: (iss) => `Invalid strategy key: ${typeof iss.input === 'string' ? shownName(iss.input) : shownValue(iss.input)}`,
      }),
      // `tunable_overrides:` left empty in the file reads as null: the same as no overrides.
      tunableOverrides: z.preprocess(
        (v) => v ?? {},
        z.unknown().superRefine((overrides, ctx) => checkOverrides(registry, overrides, addTo(ctx, []), false)),
      ),
    })
    .strict()
    .transform((config) => normalizeConfig(config as RuntimeConfig)),
);

/** Drops empty override maps and reads -0 as 0, so two configs that mean the same compare (and digest) the same. */
function normalizeConfig(config: RuntimeConfig): RuntimeConfig {
  const tunableOverrides: Record<string, Record<string, TunableValue>> = {};
  for (const [key, tunables] of Object.entries(config.tunableOverrides)) {
    if (tunables && Object.keys(tunables).length > 0)
      tunableOverrides[key] = Object.fromEntries(Object.entries(tunables).map(([name, value]) => [name, storedTunableValue(value)]));
  }
  return { ...config, tunableOverrides };
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message }));
}

/**
 * Parses the config as stored (snake_case keys, e.g. a YAML file's content) against the registry.
 * Issues name the stored keys; an unknown key is reported with `unknownKey` set (for line numbers).
 */
export function parseStoredConfig(
  registry: StrategyRegistry,
  data: Readonly<Record<string, unknown>>,
): { ok: true; config: RuntimeConfig } | { ok: false; issues: (ConfigIssue & { unknownKey?: string })[]; total: number } {
  const { known, unknown } = fromSnakeKeys(data, CONFIG_FIELDS);
  const issues: (ConfigIssue & { unknownKey?: string })[] = unknown.map((key) => ({
    path: [],
    message: `Unrecognized key: "${shownName(key)}"`,
    unknownKey: key,
  }));
  const parsed = configSchemaFor(registry).safeParse(known);
  // Problems counted but not described (MAX_OVERRIDE_ISSUES): one issue says how many.
  let counted = 0;
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const more = (issue as { params?: { more?: unknown } }).params?.more;
      if (typeof more === 'number') counted += more - 1;
      const path = issue.path.map((p, i): string | number =>
        typeof p === 'symbol' ? String(p) : i === 0 && typeof p === 'string' ? snakeCase(p) : p,
      );
      issues.push({ path, message: issue.message });
    }
  }
  if (issues.length > 0 || !parsed.success) return { ok: false, issues, total: issues.length + counted };
  return { ok: true, config: parsed.data };
}

/** What a change does to the config: the fields whose value differs (version and time aside). */
export function changedFields(before: RuntimeConfig, after: RuntimeConfig): SettableField[] {
  return SETTABLE_FIELDS.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
}

/** The update's schema with the registry's checks; built once per registry (zod compiles each new schema on first use). */
const updateSchemaFor = memoized((registry: StrategyRegistry) =>
  configUpdateSchema.superRefine((u, ctx) => {
    if (u.activeStrategyKey !== undefined && !registry.has(u.activeStrategyKey)) {
      ctx.addIssue({ code: 'custom', path: ['activeStrategyKey'], message: `Invalid strategy key: ${shownName(u.activeStrategyKey)}` });
    }
    if (u.tunableOverrides !== undefined) checkOverrides(registry, u.tunableOverrides, addTo(ctx, ['tunableOverrides']), true);
  }),
);

/**
 * Merges `update` into `base` and validates the result against the registry. Returns the new config
 * (version and time not yet bumped) or the issues, with paths in the update's terms.
 */
export function mergeConfigUpdate(
  registry: StrategyRegistry,
  base: RuntimeConfig,
  update: unknown,
): { ok: true; config: RuntimeConfig; changed: SettableField[] } | { ok: false; issues: ConfigIssue[] } {
  const parsed = updateSchemaFor(registry).safeParse(update);
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error) };
  const u = parsed.data as ConfigUpdate;

  const overrides: Record<string, Record<string, TunableValue>> = {};
  for (const [k, v] of Object.entries(base.tunableOverrides)) overrides[k] = { ...v };
  for (const [strategyKey, tunables] of Object.entries(u.tunableOverrides ?? {})) {
    if (tunables === null) {
      delete overrides[strategyKey];
      continue;
    }
    const merged = { ...overrides[strategyKey] };
    for (const [name, value] of Object.entries(tunables)) {
      if (value === null) delete merged[name];
      else merged[name] = storedTunableValue(value);
    }
    if (Object.keys(merged).length > 0) overrides[strategyKey] = merged;
    else delete overrides[strategyKey];
  }
  const config: RuntimeConfig = {
    ...base,
    ...(u.activeStrategyKey !== undefined && { activeStrategyKey: registry.parse(u.activeStrategyKey) }),
    ...(u.tradingEnabled !== undefined && { tradingEnabled: u.tradingEnabled }),
    ...(u.scanIntervalSeconds !== undefined && { scanIntervalSeconds: u.scanIntervalSeconds }),
    tunableOverrides: overrides,
  };
  // The strategies the update touches, as they would run once it is merged (what it leaves stands as it was).
  const issues: ConfigIssue[] = [];
  for (const [strategyKey, tunables] of Object.entries(u.tunableOverrides ?? {})) {
    const info = registry.get(strategyKey)!;
    for (const broken of brokenTunableRules(info.tunableRules, { ...info.tunables, ...overrides[strategyKey] }, tunables ?? {})) {
      issues.push({ path: ['tunableOverrides', strategyKey, broken.tunable], message: broken.message });
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, config, changed: changedFields(base, config) };
}

/** The tunables a strategy runs with: its defaults, then the config's overrides for it. */
export function effectiveTunables(registry: StrategyRegistry, config: RuntimeConfig, strategyKey: string): Record<string, TunableValue> {
  const info = registry.get(strategyKey);
  return { ...info?.tunables, ...config.tunableOverrides[strategyKey] };
}

/**
 * Why `config` would not be valid against `strategies` (paths in the file's snake_case), or none:
 * what a preset change must not cause (the active strategy or one in `tunable_overrides` removed,
 * or a tunable override out of the strategy's bounds).
 */
export function configIssuesWith(strategies: StrategyRegistry, config: RuntimeConfig): ConfigIssue[] {
  const parsed = configSchemaFor(strategies).safeParse(config);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => ({
    path: issue.path.map((p, i): string | number =>
      typeof p === 'symbol' ? String(p) : i === 0 && typeof p === 'string' ? snakeCase(p) : p,
    ),
    message: issue.message,
  }));
}
