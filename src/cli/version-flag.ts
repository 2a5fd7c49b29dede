import { UsageError } from '../usage-error.js';

const MAX_VERSION = 2 ** 31 - 1;

/** `--if-version <n>`: the change is refused (exit 4) unless the config (or the preset set) is at version n. */
export function parseIfVersion(raw: string | undefined, of: 'config' | 'presets' = 'config'): number | undefined {
  if (raw === undefined) return undefined;
  // Versions are GraphQL Ints (32-bit): a larger number was refused by the server in GraphQL's words.
  if (!/^\d+$/.test(raw.trim()) || Number(raw) > MAX_VERSION)
    throw new UsageError(`--if-version must be a ${of} version (a whole number up to ${MAX_VERSION}), not "${raw}"`);
  return Number(raw);
}
