import { z } from 'zod';
import type { StrategyRegistry, TunableSpec, TunableValue } from '../registry/index.js';
import type { ConfigIssue } from './errors.js';

/** The runtime config as the rest of the system uses it. */
export interface RuntimeConfig {
  readonly activeStrategyKey: string;
  readonly tradingEnabled: boolean;
  readonly scanIntervalSeconds: number;
  /** `{ <strategyKey>: { <tunable>: value } }` */
  readonly tunableOverrides: Readonly<Record<string, Readonly<Record<string, TunableValue>>>>;
  /** +1 on every change accepted through the API. */
  readonly version: number;
  /** ISO-8601 time of the last accepted change. */
  readonly updatedAt: string;
}

/** A partial update: absent fields are kept; in overrides, `null` removes (a tunable or a whole strategy's). */
export interface ConfigUpdate {
  activeStrategyKey?: string;
  tradingEnabled?: boolean;
  scanIntervalSeconds?: number;
  tunableOverrides?: Record<string, Record<string, TunableValue | null> | null>;
}

/** File key <-> domain field. The file is snake_case, like the predecessor's. */
export const FILE_KEYS = {
  activeStrategyKey: 'active_strategy_key',
  tradingEnabled: 'trading_enabled',
  scanIntervalSeconds: 'scan_interval_seconds',
  tunableOverrides: 'tunable_overrides',
  version: 'version',
  updatedAt: 'updated_at',
} as const satisfies Record<keyof RuntimeConfig, string>;

export const SCAN_INTERVAL_LIMITS = { min: 1, max: 86_400 } as const;

export const DEFAULT_CONFIG = {
  activeStrategyKey: 'momentum',
  tradingEnabled: true,
  scanIntervalSeconds: 30,
  tunableOverrides: {},
} as const;

export function describeTunableSpec(spec: TunableSpec): string {
  return spec.type === 'boolean' ? 'a boolean' : `${spec.type === 'integer' ? 'an integer' : 'a number'} in [${spec.min}, ${spec.max}]`;
}

/** Why `value` is not acceptable for `spec`, or undefined when it is. */
export function checkTunableValue(spec: TunableSpec, value: unknown): string | undefined {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  if (spec.type === 'boolean') return typeof value === 'boolean' ? undefined : `must be a boolean, got ${shown}`;
  if (typeof value !== 'number' || !Number.isFinite(value)) return `must be ${describeTunableSpec(spec)}, got ${shown}`;
  if (spec.type === 'integer' && !Number.isInteger(value)) return `must be ${describeTunableSpec(spec)}, got ${shown}`;
  if (value < spec.min || value > spec.max) return `must be ${describeTunableSpec(spec)}, got ${shown}`;
  return undefined;
}

type AddIssue = (path: (string | number)[], message: string) => void;

function checkOverrides(registry: StrategyRegistry, overrides: unknown, add: AddIssue, allowNull: boolean): void {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    add([], 'must be a map of strategy keys to { tunable: value } maps');
    return;
  }
  for (const [strategyKey, tunables] of Object.entries(overrides)) {
    const info = registry.get(strategyKey);
    if (!info) {
      add([strategyKey], `unknown strategy "${strategyKey}" (known: ${registry.keys.join(', ')})`);
      continue;
    }
    if (tunables === null && allowNull) continue; // removes all of that strategy's overrides
    if (tunables === null || typeof tunables !== 'object' || Array.isArray(tunables)) {
      add([strategyKey], 'must be a map of tunable names to values');
      continue;
    }
    for (const [name, value] of Object.entries(tunables)) {
      // Own keys only: `constructor` or `toString` must not find Object.prototype's members.
      const spec = Object.hasOwn(info.tunableSpecs, name) ? info.tunableSpecs[name] : undefined;
      if (!spec) {
        add(
          [strategyKey, name],
          `unknown tunable "${name}" for strategy "${strategyKey}" (known: ${Object.keys(info.tunableSpecs).join(', ')})`,
        );
        continue;
      }
      if (value === null && allowNull) continue; // removes this override
      const problem = checkTunableValue(spec, value);
      if (problem) add([strategyKey, name], problem);
    }
  }
}

const required = (what: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? 'is required' : `must be ${what}, got ${JSON.stringify(iss.input) ?? String(iss.input)}`;

const scanIntervalSchema = z
  .number({ error: required('a whole number of seconds') })
  .int({ error: 'must be a whole number of seconds' })
  .min(SCAN_INTERVAL_LIMITS.min, { error: `must be at least ${SCAN_INTERVAL_LIMITS.min} second` })
  .max(SCAN_INTERVAL_LIMITS.max, { error: `must be at most ${SCAN_INTERVAL_LIMITS.max} seconds (one day)` });

function strategyKeyField(registry: StrategyRegistry) {
  return z
    .string({ error: required('a strategy key') })
    .refine((k) => registry.has(k), { error: (iss) => `Invalid strategy key: ${String(iss.input)}` });
}

function overridesField(registry: StrategyRegistry, allowNull: boolean) {
  return z
    .unknown()
    .superRefine((overrides, ctx) =>
      checkOverrides(registry, overrides, (path, message) => ctx.addIssue({ code: 'custom', path, message }), allowNull),
    );
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

/** The config file's schema (snake_case, strict: an unknown key is an error, not silently ignored). */
export const configFileSchema = memoized(buildConfigFileSchema);

function buildConfigFileSchema(registry: StrategyRegistry) {
  return z
    .object({
      active_strategy_key: strategyKeyField(registry),
      trading_enabled: z.boolean({ error: required('true or false') }),
      scan_interval_seconds: scanIntervalSchema,
      // `tunable_overrides:` left empty reads as null: the same as no overrides.
      tunable_overrides: z
        .preprocess((v) => v ?? {}, overridesField(registry, false))
        .transform((v) => v as Record<string, Record<string, TunableValue>>),
      version: z
        .number({ error: required('a positive whole number') })
        .int({ error: 'must be a whole number' })
        .min(1, { error: 'must be at least 1' }),
      updated_at: z.iso.datetime({
        offset: true,
        error: (iss) => (iss.input === undefined ? 'is required' : 'must be an ISO-8601 time, e.g. 2026-01-05T01:35:00Z'),
      }),
    })
    .strict();
}

export type ConfigFileShape = z.output<ReturnType<typeof buildConfigFileSchema>>;

export function fromFileShape(file: ConfigFileShape): RuntimeConfig {
  const tunableOverrides: Record<string, Record<string, TunableValue>> = {};
  for (const [key, tunables] of Object.entries(file.tunable_overrides)) {
    if (tunables && Object.keys(tunables).length > 0) tunableOverrides[key] = { ...tunables };
  }
  return {
    activeStrategyKey: file.active_strategy_key,
    tradingEnabled: file.trading_enabled,
    scanIntervalSeconds: file.scan_interval_seconds,
    tunableOverrides,
    version: file.version,
    updatedAt: file.updated_at,
  };
}

/** An update's schema: names, types and the registry's rules. Paths are the domain's field names. */
const updateSchema = memoized(buildUpdateSchema);

function buildUpdateSchema(registry: StrategyRegistry) {
  return z
    .object({
      activeStrategyKey: strategyKeyField(registry),
      tradingEnabled: z.boolean({ error: required('true or false') }),
      scanIntervalSeconds: scanIntervalSchema,
      tunableOverrides: overridesField(registry, true).transform((v) => v as Record<string, Record<string, TunableValue | null> | null>),
    })
    .partial()
    .strict();
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message }));
}

/**
 * Merges `update` into `base` and validates the result against the registry. Returns the new config
 * (version and time not yet bumped) or the issues, with paths in the update's terms.
 */
export function mergeConfigUpdate(
  registry: StrategyRegistry,
  base: RuntimeConfig,
  update: unknown,
): { ok: true; config: RuntimeConfig; changed: (keyof RuntimeConfig)[] } | { ok: false; issues: ConfigIssue[] } {
  const parsed = updateSchema(registry).safeParse(update);
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error) };
  const u = parsed.data;

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
      else merged[name] = value;
    }
    if (Object.keys(merged).length > 0) overrides[strategyKey] = merged;
    else delete overrides[strategyKey];
  }
  const config: RuntimeConfig = {
    ...base,
    ...(u.activeStrategyKey !== undefined && { activeStrategyKey: u.activeStrategyKey }),
    ...(u.tradingEnabled !== undefined && { tradingEnabled: u.tradingEnabled }),
    ...(u.scanIntervalSeconds !== undefined && { scanIntervalSeconds: u.scanIntervalSeconds }),
    tunableOverrides: overrides,
  };
  const changed = (Object.keys(FILE_KEYS) as (keyof RuntimeConfig)[]).filter((k) => JSON.stringify(config[k]) !== JSON.stringify(base[k]));
  return { ok: true, config, changed };
}

/** The tunables a strategy runs with: its defaults, then the config's overrides for it. */
export function effectiveTunables(registry: StrategyRegistry, config: RuntimeConfig, strategyKey: string): Record<string, TunableValue> {
  const info = registry.get(strategyKey);
  return { ...info?.tunables, ...config.tunableOverrides[strategyKey] };
}
