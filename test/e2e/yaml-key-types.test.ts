import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigFileError } from '../../src/config/errors.js';
import { auditLines } from '../helpers/hand-edit.js';
import { DELETE, handEditPresets, readPresetsFile, UPSERT } from '../helpers/presets.js';
import { writeWhole } from '../helpers/runtime-dir.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * A key a person writes bare (`true:`) is a boolean to YAML, yet the strategy "true" to the config
 * (every key is read as its text). API edits looked it up by the text, missed it, and deleted
 * nothing or added a second `"true":` beside it: the answer and the audit said one thing, the file
 * (and so the next start) another. The file store; a preset named `true` on `range`.
 */

const UPDATE = `mutation($input: UpdateConfigInput!) {
  updateConfig(input: $input) { changed config { version tunableOverrides } }
}`;
const OVERRIDES = '{ config { version tunableOverrides } }';

const configFile = (server: TestServer) => path.join(server.runtimeDir, 'config.yaml');

/** A server with preset `true` and the hand edit `true: { band_period: 30, exit_at_mean: false }` in force. */
async function withHandWrittenTrueKey(): Promise<TestServer> {
  const server = await startTestServer();
  const upserted = await server.gql(UPSERT, { input: { key: 'true', base: 'range', name: 'R true' } });
  expect(upserted.body.errors).toBeUndefined();
  const text = await readFile(configFile(server), 'utf8');
  expect(text).toContain('tunable_overrides: {}');
  await writeWhole(
    configFile(server),
    text.replace('tunable_overrides: {}', 'tunable_overrides:\n  true:\n    band_period: 30\n    exit_at_mean: false'),
  );
  await waitUntil(
    () => server.gql(OVERRIDES),
    (res) => res.body.data?.config?.tunableOverrides?.true?.band_period === 30,
    { what: 'the hand edit in force' },
  );
  return server;
}

/** What a restart over the same directory puts in force (a fresh server reads the files). */
async function restartedOverrides(server: TestServer): Promise<unknown> {
  const { runtimeDir } = server;
  await server.close();
  const again = await startTestServer({ runtimeDir });
  return (await again.gql(OVERRIDES)).body.data?.config;
}

describe('a hand-written key YAML reads as a boolean', () => {
  it('updating its override edits that key: the answer, the audit, the file and a restart agree', async () => {
    const server = await withHandWrittenTrueKey();
    const res = await server.gql(UPDATE, { input: { tunableOverrides: { true: { band_period: 40 } } } });
    expect(res.body.errors).toBeUndefined();
    const answered = res.body.data?.updateConfig.config;
    expect(answered.tunableOverrides).toEqual({ true: { band_period: 40, exit_at_mean: false } });

    const text = await readFile(configFile(server), 'utf8');
    expect(text.match(/true"?:\n/g), text).toHaveLength(1);
    expect(parse(text).tunable_overrides).toEqual({ true: { band_period: 40, exit_at_mean: false } });
    const last = (await auditLines(server.runtimeDir)).at(-1) as unknown as { version: number; config: { tunableOverrides: unknown } };
    expect(last.version).toBe(answered.version);
    expect(last.config.tunableOverrides).toEqual(answered.tunableOverrides);
    expect(await restartedOverrides(server)).toEqual(answered);
  });

  it('removing its override removes that key, and deleting the preset after it leaves a file that starts', async () => {
    const server = await withHandWrittenTrueKey();
    const res = await server.gql(UPDATE, { input: { tunableOverrides: { true: null } } });
    expect(res.body.data?.updateConfig).toMatchObject({ changed: true, config: { tunableOverrides: {} } });
    expect(parse(await readFile(configFile(server), 'utf8')).tunable_overrides).toEqual({});

    const deleted = await server.gql(DELETE, { key: 'true' });
    expect(deleted.body.errors).toBeUndefined();
    expect(deleted.body.data?.deletePreset.changed).toBe(true);
    expect(await restartedOverrides(server)).toEqual(res.body.data?.updateConfig.config);
  });

  it('strategies.yaml: upserting a preset written `true:` by hand edits it, no second entry', async () => {
    const server = await startTestServer();
    expect((await server.gql(UPSERT, { input: { key: 'true', base: 'range', name: 'R true' } })).body.errors).toBeUndefined();
    await handEditPresets(server, (text) => text.replace(/^ {2}"true":$/m, '  true:').replace('name: R true', 'name: R by hand'));
    await waitUntil(
      () => server.gql('{ strategy(key: "true") { name } }'),
      (res) => res.body.data?.strategy?.name === 'R by hand',
      { what: 'the hand edit in force' },
    );
    expect(await readPresetsFile(server)).toMatch(/^ {2}true:$/m);

    const res = await server.gql(UPSERT, { input: { key: 'true', base: 'range', name: 'R again' } });
    expect(res.body.data?.upsertPreset).toMatchObject({ changed: true, strategy: { key: 'true', name: 'R again' } });
    const text = await readPresetsFile(server);
    expect(text.match(/^ {2}"?true"?:$/gm), text).toHaveLength(1);
    expect(parse(text).presets.true.name).toBe('R again');
  });

  it('a file with `true:` and `"true":` in one mapping is refused at the start, at the second key', async () => {
    const server = await startTestServer();
    const { runtimeDir } = server;
    expect((await server.gql(UPSERT, { input: { key: 'true', base: 'range', name: 'R true' } })).body.errors).toBeUndefined();
    await server.close();
    const text = await readFile(path.join(runtimeDir, 'config.yaml'), 'utf8');
    await writeWhole(
      path.join(runtimeDir, 'config.yaml'),
      text.replace('tunable_overrides: {}', 'tunable_overrides:\n  true:\n    band_period: 30\n  "true":\n    band_period: 40'),
    );
    const started = startTestServer({ runtimeDir });
    await expect(started).rejects.toBeInstanceOf(ConfigFileError);
    const error = (await started.catch((e: unknown) => e)) as ConfigFileError;
    const line = text.split('\n').indexOf('tunable_overrides: {}') + 4;
    expect(error.problems).toEqual([expect.objectContaining({ line, column: 3, message: 'Map keys must be unique' })]);
  });

  it('a key YAML reads as null is refused in words that say so, not as a strategy named ""', async () => {
    const server = await startTestServer();
    const text = await readFile(configFile(server), 'utf8');
    await writeWhole(configFile(server), text.replace('tunable_overrides: {}', 'tunable_overrides:\n  null:\n    band_period: 30'));
    const res = await waitUntil(
      () => server.gql('{ status { configError { problems { line message } } } }'),
      (r) => r.body.data?.status?.configError != null,
      { what: 'the hand edit refused' },
    );
    const problems = res.body.data?.status.configError.problems;
    expect(problems).toEqual([expect.objectContaining({ message: expect.stringContaining('a mapping key YAML reads as null') })]);
    expect(JSON.stringify(problems)).not.toContain('unknown strategy');
  });
});
