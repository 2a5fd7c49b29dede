import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_VERSION } from '../../src/config/errors.js';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, spawnStratctl } from '../helpers/server.js';

const TOKEN = 'env-token-abcdefghijklmnop';
const ENV = { CONTROL_PLANE_TOKEN: TOKEN, CONTROL_PLANE_LOG_FORMAT: 'json' };
const STATUS = '{ config { activeStrategyKey tradingEnabled tunableOverrides version } status { configVersion configError { message } } }';

/**
 * A runtime dir whose audit trail's last config version is the bound: a hand edit to it, audited and
 * applied by the runner (its state file says the bound too), then the server stopped.
 */
async function atTheBound(): Promise<string> {
  const dir = await tempRuntimeDir();
  const server = await spawnServer(dir, [], ENV);
  const file = path.join(dir, 'config.yaml');
  const text = await readFile(file, 'utf8');
  await writeFile(
    file,
    text
      .replace(/^version: \d+$/m, `version: ${MAX_VERSION}`)
      .replace('active_strategy_key: momentum', 'active_strategy_key: gold')
      .replace('trading_enabled: true', 'trading_enabled: false')
      .replace('tunable_overrides: {}', 'tunable_overrides:\n  gold:\n    fast_ma_period: 8'),
  );
  await expect
    .poll(async () => (await readFile(path.join(dir, 'audit.log'), 'utf8')).includes(`"version":${MAX_VERSION}`), { timeout: 10_000 })
    .toBe(true);
  await expect
    .poll(async () => (await gql(server.url, '{ status { runner { appliedConfigVersion } } }')).body.data?.status.runner, {
      timeout: 10_000,
    })
    .toEqual({ appliedConfigVersion: MAX_VERSION });
  expect(await server.stop('SIGTERM')).toBe(0);
  return dir;
}

/** The start's failure, read as an operator reads it: the one line of the JSON log that says why. */
async function refusedStart(dir: string): Promise<string> {
  const child = spawnStratctl(['serve', '--port', '0', '--runtime-dir', dir], ENV);
  expect(await child.exited).toBe(78);
  await child.closed;
  const line = child
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string })
    .find((l) => l.msg.startsWith('cannot start: '));
  expect(line).toBeDefined();
  return line?.msg ?? '';
}

/** Follows the message's first step: `move <audit.log> out of the runtime directory` (kept, elsewhere). */
async function moveTheTrailAway(message: string, dir: string): Promise<string> {
  const audit = /move (\S+) out of the runtime directory \(keep it/.exec(message)?.[1];
  expect(audit).toBe(path.join(dir, 'audit.log'));
  // Elsewhere, and removed after the test like the runtime dir.
  const kept = path.join(await tempRuntimeDir('scp-kept-trail-'), 'audit.log');
  await rename(audit as string, kept);
  return kept;
}

/** The server started again serves, takes a change numbered after the file's version, and its runner applies it. */
async function servesAndGoesOn(dir: string, expected: { activeStrategyKey: string; tradingEnabled: boolean; tunableOverrides: unknown }) {
  const server = await spawnServer(dir, [], ENV);
  const status = await gql(server.url, STATUS);
  expect(status.body.data).toEqual({ config: { ...expected, version: 1 }, status: { configVersion: 1, configError: null } });
  const change = await gql(
    server.url,
    'mutation { activateStrategy(strategyKey: "range", waitForRunner: true, timeoutMs: 10000) { configVersion runnerWait { applied } } }',
    undefined,
    { token: TOKEN },
  );
  expect(change.body).toEqual({ data: { activateStrategy: { configVersion: 2, runnerWait: { applied: true } } } });
  // Applied for real: the runner's state at the bound before the restart does not count as ahead.
  const runner = await gql(server.url, '{ status { runner { state appliedConfigVersion appliedStrategyKey } } }');
  expect(runner.body.data?.status.runner).toEqual({ state: 'RUNNING', appliedConfigVersion: 2, appliedStrategyKey: 'range' });
  expect((await fetch(new URL('/ready', server.url))).status).toBe(200);
  expect(await server.stop('SIGTERM')).toBe(0);
}

describe(`the config version bound (${MAX_VERSION}): the exit-78 message gives a way out, and following it the server starts`, () => {
  it('config.yaml missing: move audit.log away, write the JSON the message gives (the trail’s last settings at version 1), start', async () => {
    const dir = await atTheBound();
    await rm(path.join(dir, 'config.yaml'));
    const message = await refusedStart(dir);
    expect(message).toContain(
      `cannot start: ${path.join(dir, 'config.yaml')}: the file is missing and cannot be written again: version ${MAX_VERSION}, the last a config may have, is already recorded in audit.log. To start the version count again:`,
    );
    // Not the advice for an invalid file: moving a missing file away cannot help.
    expect(message).not.toContain('move it away');

    const kept = await moveTheTrailAway(message, dir);
    const write =
      /then write (\S+) holding the trail's last settings at version 1 \(this JSON is valid YAML\): (\{.*\}) and start again\.$/.exec(
        message,
      );
    expect(write?.[1]).toBe(path.join(dir, 'config.yaml'));
    await writeFile(write?.[1] as string, `${write?.[2]}\n`);

    // The settings in force at the bound, not the defaults (which would turn trading back on).
    await servesAndGoesOn(dir, { activeStrategyKey: 'gold', tradingEnabled: false, tunableOverrides: { gold: { fast_ma_period: 8 } } });
    // The old trail is kept as it was, its last line the bound.
    expect((await readFile(kept, 'utf8')).trim().split('\n').at(-1)).toContain(`"version":${MAX_VERSION}`);
    expect(JSON.parse((await readFile(path.join(dir, 'audit.log'), 'utf8')).trim().split('\n')[0] as string)).toMatchObject({ version: 1 });
  }, 90_000);

  it('a hand edit no version is left for: move audit.log away, set `version: 1` in the file as the message says, start', async () => {
    const dir = await atTheBound();
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('trading_enabled: false', 'trading_enabled: true'));
    const message = await refusedStart(dir);
    expect(message).toContain(`cannot start: ${file}: this hand edit cannot be numbered: version ${MAX_VERSION}`);
    await moveTheTrailAway(message, dir);
    expect(message).toMatch(new RegExp(`then set \`version: 1\` in ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} and start again\\.$`));
    await writeFile(file, (await readFile(file, 'utf8')).replace(/^version: \d+$/m, 'version: 1'));
    await servesAndGoesOn(dir, { activeStrategyKey: 'gold', tradingEnabled: true, tunableOverrides: { gold: { fast_ma_period: 8 } } });
  }, 90_000);

  it('strategies.yaml at the bound, hand-edited again: the same way out, `version: 1` in strategies.yaml; the preset set goes on from there', async () => {
    const dir = await tempRuntimeDir();
    const presets = path.join(dir, 'strategies.yaml');
    const atBound = `version: ${MAX_VERSION}\npresets:\n  gold_fast:\n    base: gold\n    name: Gold fast\n`;
    await writeFile(presets, atBound);
    const server = await spawnServer(dir, ['--no-runner'], ENV);
    expect((await gql(server.url, '{ status { presetsVersion } }')).body.data?.status.presetsVersion).toBe(MAX_VERSION);
    expect(await server.stop('SIGTERM')).toBe(0);
    await writeFile(presets, atBound.replace('name: Gold fast', 'name: Gold faster'));

    const message = await refusedStart(dir);
    expect(message).toContain(
      `cannot start: ${presets}: this hand edit cannot be numbered: version ${MAX_VERSION}, the last a preset set may have`,
    );
    await moveTheTrailAway(message, dir);
    expect(message.endsWith(`then set \`version: 1\` in ${presets} and start again.`)).toBe(true);
    await writeFile(presets, (await readFile(presets, 'utf8')).replace(/^version: \d+$/m, 'version: 1'));

    const again = await spawnServer(dir, ['--no-runner'], ENV);
    const status = await gql(again.url, '{ status { presetsVersion strategiesError { message } } strategy(key: "gold_fast") { name } }');
    expect(status.body.data).toEqual({ status: { presetsVersion: 1, strategiesError: null }, strategy: { name: 'Gold faster' } });
    const upsert = await gql(
      again.url,
      'mutation { upsertPreset(input: { key: "range_slow", base: "range", name: "Range slow" }) { presetsVersion changed } }',
      undefined,
      { token: TOKEN },
    );
    expect(upsert.body).toEqual({ data: { upsertPreset: { presetsVersion: 2, changed: true } } });
    expect(await again.stop('SIGTERM')).toBe(0);
  }, 90_000);
});
