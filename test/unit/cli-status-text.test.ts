import { describe, expect, it } from 'vitest';
import { statusText } from '../../src/cli/status.js';
import { invalidConfigStatus as invalidConfigStatus_ } from '../helpers/status-fixture.js';

const invalidConfigStatus = invalidConfigStatus_({ lastScanAt: '2026-12-01T13:21:53.750Z', heartbeatAt: '2026-12-01T13:21:53.750Z' });

describe('stratctl status (text)', () => {
  it("a config file problem's lines continue in the value column, under its headline, not where keys start", () => {
    const lines = statusText(invalidConfigStatus as any, { scanIntervalSeconds: 30 }).split('\n');
    const headline = lines.findIndex((l) => l.startsWith('CONFIG FILE INVALID:'));
    expect(lines[headline]).toMatch(/^CONFIG FILE INVALID:\s+config\.yaml: invalid config$/);
    const column = lines[headline]?.indexOf('config.yaml') ?? -1;
    // The problem's own line: in the value column (and its own two-space indent kept), never at a key's place.
    expect(lines[headline + 1]).toBe(
      `${' '.repeat(column)}  line 7, column 24: scan_interval_seconds: must be a whole number of seconds, got "fast"`,
    );
    const runnerError = lines.findIndex((l) => l.startsWith('RUNNER ERROR:'));
    expect(lines[runnerError + 1]?.startsWith(`${' '.repeat(column)}  line 7`)).toBe(true);
    // Every line is a key's, or a continuation in the value column.
    for (const line of lines) expect(line).toMatch(/^(\S[^:]*:\s+\S|\s{2}\S[^:]*:\s+\S| {21,}\S)/);
  });

  it('the kill switch reads as status --watch says it: trading on, TRADING OFF', () => {
    const on = statusText(invalidConfigStatus as any, { scanIntervalSeconds: 30 });
    const off = statusText({ ...invalidConfigStatus, tradingEnabled: false } as any, { scanIntervalSeconds: 30 });
    expect(on).toMatch(/^trading:\s+on$/m);
    expect(off).toMatch(/^TRADING:\s+OFF$/m);
    expect(`${on}\n${off}`).not.toContain('trading enabled');
  });
});
