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
    // Zero-width space, right-to-left mark, Arabic letter mark, soft hyphen, a tag character, word joiner.
    for (const invisible of ['\u200b', '\u200f', '\u061c', '\u00ad', '\u{E0041}', '\u2060'])
      expect(displayWidth(`Gold${invisible} Trend`), JSON.stringify(invisible)).toBe(10);
    const text = table(
      ['KEY', 'NAME', 'RISK'],
      [
        ['gold_plain', 'Gold Trend', 'low'],
        ['gold_rlm', 'Gold \u200fTrend', 'low'],
        ['gold_tag', 'Gold Trend\u{E0041}', 'low'],
        ['gold_shy', 'Gold\u00ad Trend', 'low'],
        ['gold_alm', 'Gold \u061cTrend', 'low'],
      ],
    );
    const riskColumn = (line: string) => displayWidth(line.slice(0, line.search(/(RISK|low)$/)));
    expect(text.split('\n').map(riskColumn)).toEqual([24, 24, 24, 24, 24, 24]);
  });
});
