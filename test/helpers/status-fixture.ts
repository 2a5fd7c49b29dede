/**
 * A `status` answer (as the CLI's StatusDocument returns it) while config.yaml on the server is
 * invalid and the runner reports it: multi-line problems, for the text and watch-line tests.
 */
export const CONFIG_PROBLEM =
  'config.yaml: invalid config\n  line 7, column 24: scan_interval_seconds: must be a whole number of seconds, got "fast"';

export function invalidConfigStatus(runnerTimes: { lastScanAt: string | null; heartbeatAt: string | null }) {
  const runner = {
    id: 'vm:1',
    state: 'ERROR',
    inSync: true,
    appliedConfigVersion: 9,
    appliedStrategyKey: 'gold',
    appliedAt: null,
    ...runnerTimes,
    error: `config file invalid, keeping version 9: ${CONFIG_PROBLEM}`,
  };
  return {
    activeStrategyKey: 'gold',
    configVersion: 9,
    configUpdatedAt: '2026-12-01T13:21:23.512Z',
    configDigest: 'sha256:e45e',
    tradingEnabled: true,
    configError: { location: 'config.yaml', message: CONFIG_PROBLEM },
    presetsVersion: 2,
    strategiesError: null as { location: string; message: string } | null,
    runner,
    runners: [runner],
    store: { kind: 'FILE' as const, connected: true, lastContactAt: null },
  };
}
