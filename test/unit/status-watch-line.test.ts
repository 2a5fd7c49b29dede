import { describe, expect, it } from 'vitest';
import { watchLine } from '../../src/cli/status-watch.js';
import { invalidConfigStatus } from '../helpers/status-fixture.js';

const status = {
  ...invalidConfigStatus({ lastScanAt: null, heartbeatAt: null }),
  strategiesError: { location: 'strategies.yaml', message: 'strategies.yaml: invalid presets\n  line 3: base: unknown strategy "golden"' },
};

describe('stratctl status --watch: one line per change', () => {
  it('a multi-line problem (config file, runner error, presets) stays on its line, each of its lines kept', () => {
    const line = watchLine(status as any);
    expect(line).not.toContain('\n');
    expect(line).toContain(
      'CONFIG FILE INVALID: config.yaml: invalid config; line 7, column 24: scan_interval_seconds: must be a whole number of seconds, got "fast"',
    );
    expect(line).toContain('RUNNER ERROR: config file invalid, keeping version 9: config.yaml: invalid config; line 7, column 24:');
    expect(line).toContain('PRESETS NOT IN FORCE: strategies.yaml: invalid presets; line 3: base: unknown strategy "golden"');
  });
});
