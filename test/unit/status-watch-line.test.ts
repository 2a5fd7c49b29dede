import { describe, expect, it } from 'vitest';
import { watchLine } from '../../src/cli/status-watch.js';

const problem = 'config.yaml: invalid config\n  line 7, column 24: scan_interval_seconds: must be a whole number of seconds, got "fast"';
const runner = {
  id: 'vm:1',
  state: 'ERROR',
  inSync: true,
  appliedConfigVersion: 9,
  appliedStrategyKey: 'gold',
  appliedAt: null,
  lastScanAt: null,
  heartbeatAt: null,
  error: `config file invalid, keeping version 9: ${problem}`,
};
const status = {
  activeStrategyKey: 'gold',
  configVersion: 9,
  configUpdatedAt: '2026-12-01T13:21:23.512Z',
  configDigest: 'sha256:e45e',
  tradingEnabled: true,
  configError: { location: 'config.yaml', message: problem },
  presetsVersion: 2,
  strategiesError: { location: 'strategies.yaml', message: 'strategies.yaml: invalid presets\n  line 3: base: unknown strategy "golden"' },
  runner,
  runners: [runner],
  store: { kind: 'FILE', connected: true, lastContactAt: null },
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
