import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_AUTH_FAILURES_PER_MINUTE } from '../../src/http/steps/auth-failure-limit.js';
import { resolveLimitSettings } from '../../src/limit-settings.js';
import { resolveLogSettings } from '../../src/log.js';
import { resolveRunnerSettings } from '../../src/runner/settings.js';
import { resolveServerSettings } from '../../src/settings.js';
import { resolveStoreSettings } from '../../src/store-settings.js';

const BLANK = {
  CONTROL_PLANE_RUNTIME_DIR: '',
  CONTROL_PLANE_HOST: ' ',
  CONTROL_PLANE_STORE: '',
  CONTROL_PLANE_FEED: '  ',
  // These were refused blank ("not a port (empty)"), while the ones above were unset: one rule for all.
  CONTROL_PLANE_PORT: ' ',
  CONTROL_PLANE_AUTH_FAILURES_PER_MINUTE: ' ',
  CONTROL_PLANE_MAX_COST: ' ',
  CONTROL_PLANE_MAX_LIST_SIZE: '\t',
  CONTROL_PLANE_RUNNER_HEARTBEAT_MS: ' ',
  CONTROL_PLANE_LOG_LEVEL: ' ',
  CONTROL_PLANE_LOG_FORMAT: ' ',
};

describe('a blank setting is an unset one (README, Settings)', () => {
  it('CONTROL_PLANE_RUNTIME_DIR= is ./runtime, not the current directory (the server wrote its files there); a blank host is the default', () => {
    const settings = resolveServerSettings({}, BLANK);
    expect(settings.runtimeDir).toBe(path.resolve('runtime'));
    expect(settings.runtimeDir).not.toBe(process.cwd());
    expect(settings.host).toBe('127.0.0.1');
  });

  it('a blank store is the file store, a blank feed the simulated one', () => {
    expect(resolveStoreSettings({}, BLANK)).toMatchObject({ kind: 'file' });
    expect(resolveRunnerSettings({}, BLANK).feed).toBe('sim');
  });

  it('a blank port, limit, heartbeat or log setting is its default', () => {
    expect(resolveServerSettings({}, BLANK)).toMatchObject({ port: 8787, authFailuresPerMinute: DEFAULT_AUTH_FAILURES_PER_MINUTE });
    expect(resolveLimitSettings({}, BLANK)).toEqual(resolveLimitSettings({}, {}));
    expect(resolveRunnerSettings({}, BLANK).heartbeatMs).toBe(resolveRunnerSettings({}, {}).heartbeatMs);
    expect(resolveLogSettings({}, BLANK, false)).toEqual({ format: 'json', level: 'info' });
  });
});

describe('an empty flag is refused (a script\'s "$MAX" with MAX unset), never read as the default', () => {
  it.each([
    [() => resolveServerSettings({ port: '' }, {}), /^--port: "" is not a port/],
    [() => resolveServerSettings({ 'auth-failures-per-minute': '' }, {}), /is not a whole number from 1/],
    [() => resolveLimitSettings({ 'max-cost': '' }, {}), /^--max-cost: "" is not a whole number/],
    [() => resolveLimitSettings({ 'max-connections': ' ' }, {}), /^--max-connections: " " is not a whole number/],
    [() => resolveRunnerSettings({ 'heartbeat-ms': '' }, {}), /^--heartbeat-ms must be a whole number of milliseconds/],
    [() => resolveLogSettings({ 'log-level': '' }, {}, false), /^--log-level must be one of/],
  ])('%#', (resolve, message) => {
    expect(resolve).toThrow(message);
  });
});

describe('a bad value names where it came from: the flag, or the variable (a unit file has no flag to look for)', () => {
  it.each([
    [
      () => resolveRunnerSettings({}, { CONTROL_PLANE_FEED: 'abc' }),
      /^CONTROL_PLANE_FEED must be sim, sim:<seed> or csv:<file>, not "abc"$/,
    ],
    [() => resolveRunnerSettings({ feed: 'abc' }, {}), /^--feed must be/],
    [
      () => resolveRunnerSettings({ feed: 'sim:9007199254740993' }, {}),
      /^--feed: the seed in "sim:9007199254740993" must be a whole number from 0 to 9007199254740991$/,
    ],
    [
      () => resolveRunnerSettings({}, { CONTROL_PLANE_RUNNER_HEARTBEAT_MS: 'abc' }),
      /^CONTROL_PLANE_RUNNER_HEARTBEAT_MS must be a whole number/,
    ],
    [() => resolveRunnerSettings({ 'heartbeat-ms': '10' }, {}), /^--heartbeat-ms must be a whole number/],
    [() => resolveStoreSettings({}, { CONTROL_PLANE_STORE: 'abc' }), /^CONTROL_PLANE_STORE: /],
    [() => resolveStoreSettings({ store: 'abc' }, {}), /^--store: /],
    // It read as a missing file ("--etcd-ca : ENOENT"); both cert and key empty passed their pairing check.
    [
      () => resolveStoreSettings({ store: 'etcd://h:2379/t', 'etcd-ca': '' }, {}),
      /^--etcd-ca must not be empty \(the path of a PEM file\)$/,
    ],
    [
      () => resolveStoreSettings({ store: 'etcd://h:2379/t', 'etcd-cert': ' ', 'etcd-key': '' }, {}),
      /^--etcd-cert must not be empty \(the path of a PEM file\)$/,
    ],
    [
      () => resolveStoreSettings({ store: 'etcd://h:2379/t' }, { CONTROL_PLANE_ETCD_USER: 'alice' }),
      /^CONTROL_PLANE_ETCD_USER is set but CONTROL_PLANE_ETCD_PASSWORD is not$/,
    ],
    // It connected without authentication, the password dropped without a word.
    [
      () => resolveStoreSettings({ store: 'etcd://h:2379/t' }, { CONTROL_PLANE_ETCD_PASSWORD: 'hunter2' }),
      /^CONTROL_PLANE_ETCD_PASSWORD is set but CONTROL_PLANE_ETCD_USER is not$/,
    ],
  ])('%#', (resolve, message) => {
    expect(resolve).toThrow(message);
  });
});

describe('a number setting is decimal digits (0x10, 1e3 were read as 16 and 1000)', () => {
  // -0 was a port: 0, any free one (the server moved without a word); 8787.0 one stratctl refuses.
  const written = ['0x10', '1e3', '0b11', '0o17', '1_000', '+5', '.5e1', 'Infinity', '-0', '-1', '8787.0', '18970.00'];
  it.each(written)('%s is refused wherever the server reads a number, naming where it came from', (raw) => {
    expect(() => resolveServerSettings({}, { CONTROL_PLANE_PORT: raw })).toThrow(/^CONTROL_PLANE_PORT: ".*" is not a port/);
    expect(() => resolveServerSettings({ port: raw }, {})).toThrow(/^--port: ".*" is not a port/);
    expect(() => resolveServerSettings({ 'auth-failures-per-minute': raw }, {})).toThrow(/is not a whole number from 1/);
    expect(() => resolveLimitSettings({}, { CONTROL_PLANE_MAX_COST: raw })).toThrow(/^CONTROL_PLANE_MAX_COST: ".*" is not a whole number/);
    expect(() => resolveRunnerSettings({ 'heartbeat-ms': raw }, {})).toThrow(/^--heartbeat-ms must be a whole number of milliseconds/);
    expect(() => resolveStoreSettings({ store: 'etcd://127.0.0.1:2379/x', 'audit-keep': raw }, {})).toThrow(
      /^--audit-keep: ".*" is not a whole number/,
    );
  });
  it('digits, with blanks around them, are read as written', () => {
    expect(resolveServerSettings({}, { CONTROL_PLANE_PORT: ' 8788 ' }).port).toBe(8788);
    expect(resolveServerSettings({ 'auth-failures-per-minute': '20' }, {}).authFailuresPerMinute).toBe(20);
    expect(resolveRunnerSettings({}, { CONTROL_PLANE_RUNNER_HEARTBEAT_MS: '1000' }).heartbeatMs).toBe(1000);
    expect(resolveLimitSettings({ 'max-cost': '5000' }, {}).security.costLimits).toMatchObject({ maxCost: 5000 });
  });
});
