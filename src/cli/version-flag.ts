import { UsageError } from '../usage-error.js';

/** `--if-version <n>`: the change is refused (exit 4) unless the config (or the preset set) is at version n. */
export function parseIfVersion(raw: string | undefined, of: 'config' | 'presets' = 'config'): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`--if-version must be a ${of} version (a whole number), not "${raw}"`);
  return Number(raw);
}
