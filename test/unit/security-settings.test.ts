import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIMIT_SETTINGS, resolveLimitSettings } from '../../src/limit-settings.js';
import { bindWarning, isLoopback, resolveServerSettings, UsageError } from '../../src/settings.js';
import { ROOT } from '../helpers/server.js';

describe('security settings', () => {
  it('CONTROL_PLANE_AUTH_FAILURES_PER_MINUTE: default 10, env, flag wins, nonsense refused', () => {
    expect(resolveServerSettings({}, {}).authFailuresPerMinute).toBe(10);
    expect(resolveServerSettings({}, { CONTROL_PLANE_AUTH_FAILURES_PER_MINUTE: '500' }).authFailuresPerMinute).toBe(500);
    expect(
      resolveServerSettings({ 'auth-failures-per-minute': '3' }, { CONTROL_PLANE_AUTH_FAILURES_PER_MINUTE: '500' }).authFailuresPerMinute,
    ).toBe(3);
    for (const bad of ['0', '-1', '2.5', 'ten']) {
      expect(() => resolveServerSettings({}, { CONTROL_PLANE_AUTH_FAILURES_PER_MINUTE: bad })).toThrow(UsageError);
    }
    // Blank is unset, as for every variable (README, Settings); an empty flag is refused.
    expect(resolveServerSettings({}, { CONTROL_PLANE_AUTH_FAILURES_PER_MINUTE: ' ' }).authFailuresPerMinute).toBe(10);
    expect(() => resolveServerSettings({ 'auth-failures-per-minute': '' }, {})).toThrow(/--auth-failures-per-minute/);
    expect(() => resolveServerSettings({ 'auth-failures-per-minute': 'x' }, {})).toThrow(/--auth-failures-per-minute/);
  });

  it('--behind-tls-proxy / CONTROL_PLANE_BEHIND_TLS_PROXY=1', () => {
    expect(resolveServerSettings({}, {}).behindTlsProxy).toBe(false);
    expect(resolveServerSettings({}, { CONTROL_PLANE_BEHIND_TLS_PROXY: '1' }).behindTlsProxy).toBe(true);
    expect(resolveServerSettings({ 'behind-tls-proxy': true }, {}).behindTlsProxy).toBe(true);
  });

  // A typo in a security setting must fail loudly: `enabled` used to leave reads public without a word.
  it.each(['CONTROL_PLANE_READS_REQUIRE_TOKEN', 'CONTROL_PLANE_BEHIND_TLS_PROXY', 'CONTROL_PLANE_RUNNER'])(
    '%s: a true or false spelling (or empty: unset); anything else is a usage error naming it',
    (name) => {
      const read = (value: string) => {
        const s = resolveServerSettings({}, { [name]: value });
        return { READS_REQUIRE_TOKEN: s.readsRequireToken, BEHIND_TLS_PROXY: s.behindTlsProxy, RUNNER: s.runner }[
          name.replace('CONTROL_PLANE_', '') as 'RUNNER'
        ];
      };
      const unset = read('');
      for (const value of ['1', 'true', 'YES', ' on ']) expect(read(value), value).toBe(true);
      for (const value of ['0', 'false', 'No', 'off']) expect(read(value), value).toBe(false);
      expect(unset).toBe(name === 'CONTROL_PLANE_RUNNER');
      for (const value of ['enabled', 'y', '2', 'treu']) {
        expect(() => resolveServerSettings({}, { [name]: value })).toThrow(UsageError);
        expect(() => resolveServerSettings({}, { [name]: value })).toThrow(
          `${name} must be 1, true, yes or on (or 0, false, no, off), not "${value}"`,
        );
      }
    },
  );

  it('warns for a bind beyond this machine unless a TLS proxy is acknowledged', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '::ffff:127.0.0.1']) {
      expect(isLoopback(host)).toBe(true);
      expect(bindWarning({ host, behindTlsProxy: false })).toBeNull();
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'control.example.com']) {
      expect(bindWarning({ host, behindTlsProxy: false })).toMatch(new RegExp(`binding ${host}:.*clear text.*--behind-tls-proxy`));
      expect(bindWarning({ host, behindTlsProxy: true })).toBeNull();
    }
  });
});

describe('limit settings (DESIGN "Limits and hostile input")', () => {
  it('every limit: its default, the environment, the flag winning, nonsense refused naming where it came from', () => {
    const defaults = resolveLimitSettings({}, {});
    expect(defaults.security).toEqual({});
    expect(defaults.files).toEqual({ maxRuntimeFileBytes: 1024 * 1024, parseDeadlineMs: 2_000 });
    const fromEnv = resolveLimitSettings({}, { CONTROL_PLANE_MAX_CONNECTIONS: '2048', CONTROL_PLANE_MAX_COST: '900' });
    expect(fromEnv.security).toEqual({ connections: { maxConnections: 2048 }, costLimits: { maxCost: 900 } });
    const flagWins = resolveLimitSettings({ 'max-connections': '10' }, { CONTROL_PLANE_MAX_CONNECTIONS: '2048' });
    expect(flagWins.security.connections?.maxConnections).toBe(10);
    expect(() => resolveLimitSettings({ 'max-connections': '0' }, {})).toThrow(/^--max-connections: "0" is not a whole number from 1/);
    expect(() => resolveLimitSettings({}, { CONTROL_PLANE_PARSE_DEADLINE_MS: 'soon' })).toThrow(/^CONTROL_PLANE_PARSE_DEADLINE_MS:/);
    expect(() => resolveLimitSettings({}, { CONTROL_PLANE_MAX_RESPONSE_BYTES: '1.5' })).toThrow(UsageError);
  });

  it('headers timeout at most the request timeout: both given, refused; one given, the default follows it; fitting values untouched', () => {
    expect(() => resolveLimitSettings({ 'headers-timeout-ms': '40000' }, { CONTROL_PLANE_REQUEST_TIMEOUT_MS: '5000' })).toThrow(UsageError);
    const lowered = resolveLimitSettings({ 'request-timeout-ms': '5000' }, {});
    expect(lowered.security.connections).toEqual({ headersTimeoutMs: 5000, requestTimeoutMs: 5000 });
    expect(lowered.adjusted).toHaveLength(1);
    const raised = resolveLimitSettings({}, { CONTROL_PLANE_HEADERS_TIMEOUT_MS: '40000' });
    expect(raised.security.connections).toEqual({ headersTimeoutMs: 40000, requestTimeoutMs: 40000 });
    const equal = resolveLimitSettings({ 'headers-timeout-ms': '5000', 'request-timeout-ms': '5000' }, {});
    expect(equal.security.connections).toEqual({ headersTimeoutMs: 5000, requestTimeoutMs: 5000 });
    expect(equal.adjusted).toBeUndefined();
    expect(resolveLimitSettings({ 'request-timeout-ms': '20000' }, {}).adjusted).toBeUndefined();
  });

  it('the README’s Security section lists each one: flag, environment variable and default', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const security = readme.slice(readme.indexOf('## Security'), readme.indexOf('\n## ', readme.indexOf('## Security') + 1));
    for (const limit of LIMIT_SETTINGS) {
      expect(security).toContain(`| \`--${limit.flag}\` | \`${limit.env}\` | ${limit.defaultValue} |`);
    }
  });
});
