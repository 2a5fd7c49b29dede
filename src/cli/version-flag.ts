import { MAX_VERSION } from '../config/errors.js';
import { decimalSetting } from '../env-setting.js';
import { UsageError } from '../usage-error.js';

/** `--if-version <n>`: the change is refused (exit 4) unless the config (or the preset set) is at version n. */
export function parseIfVersion(raw: string | undefined, of: 'config' | 'presets' = 'config'): number | undefined {
  if (raw === undefined) return undefined;
  // Versions are GraphQL Ints (32-bit): a larger number was refused by the server in GraphQL's words.
  const n = decimalSetting(raw);
  if (!(n <= MAX_VERSION)) throw new UsageError(`--if-version must be a ${of} version (a whole number up to ${MAX_VERSION}), not "${raw}"`);
  return n;
}
