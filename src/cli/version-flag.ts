import { UsageError } from '../usage-error.js';

/** `--if-version <n>`: the change is refused (exit 4) unless the config is at version n. */
export function parseIfVersion(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`--if-version must be a config version (a whole number), not "${raw}"`);
  return Number(raw);
}
