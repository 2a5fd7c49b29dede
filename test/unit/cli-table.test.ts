import { describe, expect, it } from 'vitest';
import { displayWidth, table } from '../../src/cli/client-command.js';

describe('stratctl tables (strategies, preset list, history, audit)', () => {
  it('columns line up in terminal columns when a cell holds wide characters or emoji (a hand-written preset name)', () => {
    const text = table(
      ['KEY', 'NAME', 'RISK'],
      [
        ['gold_fast', 'Gold (fast)', 'low'],
        ['gold_wide', 'Gold 金 trend — wide 📈', 'high'],
        ['café', 'Cafe\u0301 au lait', 'medium'],
      ],
    );
    const lines = text.split('\n');
    // RISK starts at the same terminal column on every line.
    const riskColumn = (line: string) => displayWidth(line.slice(0, line.search(/(RISK|low|high|medium)$/)));
    expect(lines.map(riskColumn)).toEqual([36, 36, 36, 36]);
  });

  it('counts a wide character or an emoji as two columns, a combining mark as none', () => {
    expect(displayWidth('Gold')).toBe(4);
    expect(displayWidth('金')).toBe(2);
    expect(displayWidth('📈')).toBe(2);
    expect(displayWidth('Cafe\u0301')).toBe(4);
    expect(displayWidth('EUR/USD — 5m')).toBe(12);
  });

  it('counts invisible characters (format characters, default-ignorables) as no column: the columns after them stay in line', () => {
    // Zero-width space, right-to-left mark, Arabic letter mark, a tag character, word joiner, Hangul jungseong filler.
    for (const invisible of ['\u200b', '\u200f', '\u061c', '\u{E0041}', '\u2060', '\u1160'])
      expect(displayWidth(`Gold${invisible} Trend`), JSON.stringify(invisible)).toBe(10);
    const text = table(
      ['KEY', 'NAME', 'RISK'],
      [
        ['gold_plain', 'Gold Trend', 'low'],
        ['gold_rlm', 'Gold \u200fTrend', 'low'],
        ['gold_tag', 'Gold Trend\u{E0041}', 'low'],
        ['gold_alm', 'Gold \u061cTrend', 'low'],
      ],
    );
    const riskColumn = (line: string) => displayWidth(line.slice(0, line.search(/(RISK|low)$/)));
    expect(text.split('\n').map(riskColumn)).toEqual([24, 24, 24, 24, 24]);
  });

  it('counts the format characters a terminal draws as glibc wcwidth does: soft hyphen, Hangul fillers, prepended marks', () => {
    // Widths as glibc 2.36's wcwidth gives them (C.UTF-8); counted as none, the columns after them moved left.
    const drawn: [string, number][] = [
      ['\u00ad', 1], // soft hyphen
      ['\u115f', 2], // Hangul choseong filler
      ['\u3164', 2], // Hangul filler
      ['\uffa0', 1], // halfwidth Hangul filler
      ['\u0600', 1], // Arabic number sign, and the other prepended concatenation marks
      ['\u0605', 1],
      ['\u06dd', 1],
      ['\u070f', 1],
      ['\u0890', 1],
      ['\u0891', 1],
      ['\u08e2', 1],
      ['\u{110bd}', 1],
      ['\u{110cd}', 1],
    ];
    for (const [ch, width] of drawn) expect(displayWidth(`Gold${ch}Trend`), JSON.stringify(ch)).toBe(9 + width);
    const text = table(
      ['KEY', 'NAME', 'RISK'],
      [
        ['gold_plain', 'Gold  Trend', 'low'],
        ['gold_shy', 'Gold\u00ad Trend', 'low'],
        ['gold_filler', 'Gold\u3164Trend', 'low'],
        ['gold_sign', 'Gold \u0600Trend', 'low'],
      ],
    );
    const riskColumn = (line: string) => displayWidth(line.slice(0, line.search(/(RISK|low)$/)));
    expect(text.split('\n').map(riskColumn)).toEqual([26, 26, 26, 26, 26]);
  });

  it('a cell with a line break, a tab or another control character stays on its row, the character shown escaped (a description written on two lines split an audit row: a line with no time for grep or while read)', () => {
    const text = table(
      ['TIME', 'CHANGES'],
      [
        ['2026-12-06T10:00:00.000Z', 'gold_jp.description: - -> line1\nline2\ttab\r'],
        ['2026-12-06T10:00:01.000Z', 'key: \u001b[31mred\u001b[0m \u0085 \u007f'],
      ],
    );
    expect(text.split('\n')).toEqual([
      'TIME                      CHANGES',
      '2026-12-06T10:00:00.000Z  gold_jp.description: - -> line1\\nline2\\ttab\\r',
      '2026-12-06T10:00:01.000Z  key: \\u001b[31mred\\u001b[0m \\u0085 \\u007f',
    ]);
  });
});
