import { describe, expect, it } from 'vitest';
import { type AuditEntry, mergeNewestFirst } from '../../src/config/audit-entry.js';

const entry = (subject: AuditEntry['subject'], version: number, time: string) => ({ subject, version, time }) as unknown as AuditEntry;
const shown = (entries: readonly AuditEntry[]) => entries.map((e) => `${e.subject === 'CONFIG' ? 'c' : 'p'}${e.version}`);

describe('mergeNewestFirst: one trail of both subjects, newest first', () => {
  it('merges by time, each subject in its own version order even where its times go backwards (clocks that disagree)', () => {
    const config = [
      entry('CONFIG', 5, '2026-12-05T10:00:00.000Z'),
      entry('CONFIG', 4, '2026-12-05T10:00:00.600Z'),
      entry('CONFIG', 3, '2026-12-05T09:00:00Z'),
    ];
    const presets = [entry('PRESETS', 2, '2026-12-05T09:30:00Z'), entry('PRESETS', 1, '2026-12-05T08:00:00Z')];
    expect(shown(mergeNewestFirst(config, presets))).toEqual(['c5', 'c4', 'p2', 'c3', 'p1']);
  });

  it("compares instants, not strings (an offset is a valid time); a tie takes the presets entry first (audit.log writes a group's config line first)", () => {
    // 11:00+02:00 is 09:00Z: older than 10:00Z although it sorts later as a string.
    const config = [entry('CONFIG', 2, '2026-12-05T11:00:00+02:00')];
    const presets = [entry('PRESETS', 7, '2026-12-05T10:00:00Z'), entry('PRESETS', 6, '2026-12-05T09:00:00Z')];
    expect(shown(mergeNewestFirst(config, presets))).toEqual(['p7', 'p6', 'c2']);
  });

  it('keeps every entry once, when either list is empty too', () => {
    const config = [entry('CONFIG', 1, '2026-12-05T10:00:00Z')];
    expect(shown(mergeNewestFirst(config, []))).toEqual(['c1']);
    expect(shown(mergeNewestFirst([], config))).toEqual(['c1']);
  });
});
