/**
 * The plain text tables of stratctl's lists (strategies, history, audit, preset list, token list), in
 * a module of their own so that file-only commands (token) use them without loading the HTTP client.
 */

/** East Asian wide and fullwidth characters, and emoji shown as emoji: two terminal columns each. */
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]|\p{Emoji_Presentation}/u;
/**
 * Combining marks, format characters (zero-width spaces and joiners, directional marks, tags) and the
 * other default-ignorable code points (variation selectors among them): no column of their own. A
 * name holding U+200F or a tag character otherwise pushed the columns after it right.
 */
const ZERO_WIDTH = /\p{Mn}|\p{Me}|\p{Cf}|\p{Default_Ignorable_Code_Point}|\p{Variation_Selector}/u;
/**
 * Save these, which terminals draw (glibc's wcwidth gives them their columns): the soft hyphen, the
 * prepended concatenation marks (Arabic number sign and its kin, Syriac abbreviation mark, Kaithi
 * number signs), one column each; and the Hangul fillers, blank but as wide as a Hangul letter
 * (U+115F and U+3164 two columns, the halfwidth U+FFA0 one). Counted as none, a name holding one
 * pulled the columns after it left.
 */
const DRAWN = /[\u00ad\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2\u115f\u3164\uffa0\u{110bd}\u{110cd}]/u;

/**
 * By hand, not string-width: importing that (with its East Asian width tables) took ~27 ms here,
 * on every stratctl command (the CLI's start is one of issue 10's targets), for two regexes' work.
 *
 * How many terminal columns `text` takes: `padEnd` counts UTF-16 units, so a preset named
 * `Gold 金 trend 📈` (hand-written in strategies.yaml) pushed the columns after it one or two
 * places right of the others'.
 */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += ZERO_WIDTH.test(ch) && !DRAWN.test(ch) ? 0 : WIDE.test(ch) ? 2 : 1;
  return width;
}

const ESCAPED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A cell on one line, control characters shown escaped (`\n`, `\t`, `\u001b`): a preset's description
 * may hold a line break, and a hand-written one any control character. Printed as they were, a row
 * split in two (a line with no time for `grep` or `while read`), and an escape sequence reached the
 * terminal.
 */
function oneLineCell(cell: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters it escapes
  return cell.replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => ESCAPED[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A plain text table: a header row, then one row per item; columns padded to their widest cell (in terminal columns). */
export function table(header: string[], cells: string[][]): string {
  const rows = cells.map((row) => row.map(oneLineCell));
  const widths = header.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(Math.max(0, (widths[i] ?? 0) - displayWidth(c)))))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
