import { isDeepStrictEqual } from 'node:util';
import { parseYaml } from '../yaml/core.js';
import { ConfigWriteError } from './errors.js';

/**
 * The last look at a text before it is written, where it is written (the file store's I/O thread):
 * the text must read, as YAML, exactly as the document it was rendered from (`data`, what that
 * document holds). The document itself was judged on the event loop to hold what the group
 * answered and audited (written-check.ts); together, the text reads back as a restart would read it.
 * Here, not on the event loop: that parse was 40% of the memory an activation allocated there, and
 * a sixth of its CPU (`--cpu-prof`, heap sampling, 2026-12-05). The same reading as a restart's
 * (`parseYaml`: its positions are worked out too, a few microseconds for a file of a few keys).
 */

/** What a text read back differs in, with both sides, for the server log. */
export class WrittenTextMismatchError extends Error {
  override name = 'WrittenTextMismatchError';
}

/** What config.yaml's text must read as (its document's data), for the check where it is written. */
export interface ReadBack {
  readonly file: string;
  readonly data: unknown;
}

const sortedKeys = (v: unknown): unknown =>
  v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v;

/** Keys sorted at every level: the file's order of overrides is not what is compared. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => sortedKeys(v));
}

/**
 * `canonical` for a message: a `-0` shown as such (JSON writes it `0`, and a refusal of `-0` against
 * `0` read "meant ...0...; the text reads ...0...", the same on both sides).
 */
const NEGATIVE_ZERO = '\u0000-0\u0000';
const shown = (value: unknown): string =>
  (JSON.stringify(value, (_key, v: unknown) => (Object.is(v, -0) ? NEGATIVE_ZERO : sortedKeys(v))) ?? String(value)).replaceAll(
    JSON.stringify(NEGATIVE_ZERO),
    '-0',
  );

export const refusedWrite = (file: string, detail: string, cause?: unknown) =>
  new ConfigWriteError(`check before write: ${file} would not read back as the change`, undefined, {
    cause: new WrittenTextMismatchError(detail, cause === undefined ? undefined : { cause }),
  });

/** Throws ConfigWriteError unless `text` reads as YAML (with no problem) exactly as `readBack.data`. */
export function checkReadBack(text: string, readBack: ReadBack): void {
  const read = parseYaml(text);
  if (!read.ok)
    throw refusedWrite(
      readBack.file,
      `meant ${shown(readBack.data)}; the text does not read: ${read.problems.map((p) => `${p.line === undefined ? '' : `line ${p.line}: `}${p.message}`).join('; ')}`,
    );
  if (!isDeepStrictEqual(read.data, readBack.data))
    throw refusedWrite(readBack.file, `meant ${shown(readBack.data)}; the text reads ${shown(read.data)}`);
}
