import { describe, expect, it } from 'vitest';
import { bindWarning, isLoopback, resolveServerSettings, UsageError } from '../../src/settings.js';

describe('security settings', () => {
  it('CONTROL_PLANE_AUTH_FAILURES_PER_MINUTE: default 10, env, flag wins, nonsense refused', () => {
    expect(resolveServerSettings({}, {}).authFailuresPerMinute).toBe(10);
    expect(resolveServerSettings({}, { CONTROL_PLANE_AUTH_FAILURES_PER_MINUTE: '500' }).authFailuresPerMinute).toBe(500);
    expect(
      resolveServerSettings({ 'auth-failures-per-minute': '3' }, { CONTROL_PLANE_AUTH_FAILURES_PER_MINUTE: '500' }).authFailuresPerMinute,
    ).toBe(3);
    for (const bad of ['0', '-1', '2.5', 'ten', ' ']) {
      expect(() => resolveServerSettings({}, { CONTROL_PLANE_AUTH_FAILURES_PER_MINUTE: bad })).toThrow(UsageError);
    }
    expect(() => resolveServerSettings({ 'auth-failures-per-minute': 'x' }, {})).toThrow(/--auth-failures-per-minute/);
  });

  it('--behind-tls-proxy / CONTROL_PLANE_BEHIND_TLS_PROXY=1', () => {
    expect(resolveServerSettings({}, {}).behindTlsProxy).toBe(false);
    expect(resolveServerSettings({}, { CONTROL_PLANE_BEHIND_TLS_PROXY: '1' }).behindTlsProxy).toBe(true);
    expect(resolveServerSettings({ 'behind-tls-proxy': true }, {}).behindTlsProxy).toBe(true);
  });

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
