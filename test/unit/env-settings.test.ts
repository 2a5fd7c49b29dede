import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveRunnerSettings } from '../../src/runner/settings.js';
import { resolveServerSettings } from '../../src/settings.js';
import { resolveStoreSettings } from '../../src/store-settings.js';

const BLANK = { CONTROL_PLANE_RUNTIME_DIR: '', CONTROL_PLANE_HOST: ' ', CONTROL_PLANE_STORE: '', CONTROL_PLANE_FEED: '  ' };

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
});

describe('a bad value names where it came from: the flag, or the variable (a unit file has no flag to look for)', () => {
  it.each([
    [
      () => resolveRunnerSettings({}, { CONTROL_PLANE_FEED: 'abc' }),
      /^CONTROL_PLANE_FEED must be sim, sim:<seed> or csv:<file>, not "abc"$/,
    ],
    [() => resolveRunnerSettings({ feed: 'abc' }, {}), /^--feed must be/],
    [
      () => resolveRunnerSettings({}, { CONTROL_PLANE_RUNNER_HEARTBEAT_MS: 'abc' }),
      /^CONTROL_PLANE_RUNNER_HEARTBEAT_MS must be a whole number/,
    ],
    [() => resolveRunnerSettings({ 'heartbeat-ms': '10' }, {}), /^--heartbeat-ms must be a whole number/],
    [() => resolveStoreSettings({}, { CONTROL_PLANE_STORE: 'abc' }), /^CONTROL_PLANE_STORE: /],
    [() => resolveStoreSettings({ store: 'abc' }, {}), /^--store: /],
  ])('%#', (resolve, message) => {
    expect(resolve).toThrow(message);
  });
});
