/** At most this many characters of a value go into a message. */
const MAX_SHOWN = 60;
/** Levels of arrays and objects spelled out; deeper ones read `[…]` / `{…}`. */
const MAX_LEVELS = 3;
/** Items or keys spelled out per array or object. */
const MAX_ITEMS = 5;

/**
 * Characters that change how the rest of a message reads, or are not seen at all: C0 and C1
 * controls (NUL, ESC, ...), bidi controls (U+202E made `Invalid strategy key: ‮dlog` read as
 * "gold" reversed), every format character (zero-width ones, the soft hyphen, the BOM, tags such as
 * U+E0041), the line and paragraph separators, and the fillers that show as blank (U+3164, U+115F).
 * Shown as `\u202E` (`\u{E0041}` past U+FFFF), so a message shows what was sent. Variation
 * selectors are left: they are how an emoji is drawn.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters it escapes
const HIDDEN = /\u034f|[\u0000-\u001f\u007f-\u009f\p{Cf}\u115f\u1160\u2028\u2029\u3164\uffa0]/gu;
const escaped = (c: string) => {
  const hex = (c.codePointAt(0) ?? 0).toString(16).toUpperCase();
  return hex.length > 4 ? `\\u{${hex}}` : `\\u${hex.padStart(4, '0')}`;
};
const visible = (text: string) => text.replace(HIDDEN, escaped);

/** `text`, or its first `max - 1` characters and an ellipsis. */
const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const clip = (text: string) => cut(text, MAX_SHOWN);

function render(value: unknown, levels: number): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'a number out of range';
  if (typeof value === 'string') return visible(JSON.stringify(value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value));
  if (typeof value === 'boolean') return String(value);
  // What YAML's tags make of a file's text (`!!timestamp 2001-12-14`, `!!binary aGVsbG8=`): named as
  // such, not as the object's keys (`{}`, `{"0":104,...}`), which is not what the file says.
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid date' : `a date (${value.toISOString()})`;
  if (value instanceof Uint8Array) return `binary data (${value.byteLength} bytes)`;
  if (typeof value === 'bigint') return `${value} (a bigint)`;
  if (value instanceof Map || value instanceof Set) return `a YAML ${value instanceof Map ? 'map' : 'set'} of ${value.size}`;
  if (Array.isArray(value)) {
    if (levels === 0) return value.length === 0 ? '[]' : '[…]';
    const items = value.slice(0, MAX_ITEMS).map((item) => render(item, levels - 1));
    return `[${items.join(',')}${value.length > MAX_ITEMS ? ',…' : ''}]`;
  }
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    if (levels === 0) return keys.length === 0 ? '{}' : '{…}';
    const entries = keys
      .slice(0, MAX_ITEMS)
      .map((key) => `${render(key, 0)}:${render((value as Record<string, unknown>)[key], levels - 1)}`);
    return `{${entries.join(',')}${keys.length > MAX_ITEMS ? ',…' : ''}}`;
  }
  return typeof value;
}

/**
 * A value a client sent, for an error message ("must be a number, got …"): JSON-like, at most
 * MAX_SHOWN characters, arrays and objects spelled out a few levels deep. Bounded whatever comes
 * in: `JSON.stringify` of a value nested 5,000 levels deep threw a RangeError (stack overflow),
 * which was answered as a 500; a 6 KB value came back whole in the message. A number JSON cannot
 * hold (1e400 parses as Infinity) is named as such, where JSON.stringify printed `null`.
 */
export function shownValue(value: unknown): string {
  return value === undefined ? 'nothing' : clip(render(value, MAX_LEVELS));
}

/**
 * A name or key a client sent (a strategy key, a tunable, a runner id), for a message: as typed, or
 * cut to MAX_SHOWN characters. A 5,000-character key came back whole, two to four times over, in
 * one answer.
 */
export function shownName(name: string): string {
  return clip(visible(name));
}

/**
 * A path into what a client sent or a file holds (`tunableOverrides.<key>.<tunable>`) for a message,
 * each key as shownName shows it: a 5,000-character key filled the message's 500 characters before
 * its reason, and a hidden character in it came through raw.
 */
export function shownPath(path: readonly (string | number | symbol)[]): string {
  return path.map((part) => (typeof part === 'number' ? String(part) : shownName(String(part)))).join('.');
}

/** At most this many characters of any error message an answer carries (the last guard: `clippedMessage`). */
export const MAX_MESSAGE = 500;

/** A message cut to MAX_MESSAGE characters, whatever it quotes (graphql-js quotes values and names whole). */
export function clippedMessage(message: string): string {
  return cut(message, MAX_MESSAGE);
}
