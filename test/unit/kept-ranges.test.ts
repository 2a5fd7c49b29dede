import { describe, expect, it } from 'vitest';
import { VersionNotInHistoryError } from '../../src/audit/errors.js';
import { keptRanges } from '../../src/audit/history.js';

describe('the kept versions in a rollback refusal, as runs', () => {
  it('a gap (a hand edit that jumped the version) is shown, so an unknown version inside the range is no contradiction', () => {
    const kept = [...Array.from({ length: 40 }, (_, i) => i + 1), 88, 89, 90];
    expect(keptRanges(kept)).toBe('versions 1 to 40, 88 to 90');
    expect(new VersionNotInHistoryError(58, 'unknown', 1, 90, keptRanges(kept)).message).toBe(
      'Unknown config version: 58 (kept: versions 1 to 40, 88 to 90)',
    );
  });

  it('one run, one version, none, and many gaps (cut short)', () => {
    expect(keptRanges([3, 1, 2])).toBe('versions 1 to 3');
    expect(keptRanges([7])).toBe('version 7');
    expect(keptRanges([])).toBe('none');
    expect(keptRanges([1, 3, 5, 7, 9, 11, 13, 15])).toBe('versions 1, 3, 5, …, 13, 15');
  });
});
