/**
 * The one snake_case <-> camelCase mapping. The config file, the seed's REST routes and
 * `stratctl config set` speak snake_case (like the predecessor); the domain and GraphQL camelCase.
 */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Where a config issue is (its path from the API's validation), in the file's terms:
 * `['scanIntervalSeconds']` -> `scan_interval_seconds`, `['tunableOverrides', 'gold', 'x']` ->
 * `tunable_overrides.gold.x`; no path: `(root)`. Strategy and tunable keys stay as they are.
 */
export function fileTermsPath([field, ...rest]: readonly unknown[] = []): string {
  return field === undefined ? '(root)' : [typeof field === 'string' ? snakeCase(field) : field, ...rest].join('.');
}

export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Renames an object's own top-level keys from snake_case to the known camelCase fields. Keys that
 * are not the snake_case name of a known field are returned apart (the caller refuses them), so a
 * camelCase key in a snake_case file is unknown there, and `__proto__` never reaches a prototype.
 */
export function fromSnakeKeys<K extends string>(
  value: Readonly<Record<string, unknown>>,
  fields: readonly K[],
): { known: Partial<Record<K, unknown>>; unknown: string[] } {
  const byFileKey = new Map(fields.map((f) => [snakeCase(f), f]));
  const known: Partial<Record<K, unknown>> = {};
  const unknown: string[] = [];
  for (const key of Object.keys(value)) {
    const field = byFileKey.get(key);
    if (field === undefined) unknown.push(key);
    else known[field] = value[key];
  }
  return { known, unknown };
}

/** The same object with its own top-level keys in snake_case. */
export function toSnakeKeys(value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[snakeCase(key)] = value[key];
  return out;
}
