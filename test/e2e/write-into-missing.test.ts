import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';
import { auditLines } from '../helpers/hand-edit.js';
import { ACTIVATE, UPSERT } from '../helpers/presets.js';
import { startTestServer } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * The real file system, where a person creates `name` (with `text`) at the worst moment: after a
 * write of the API into the missing file has judged it missing, just before the write links its own
 * file into the empty place (link(2), which then fails with EEXIST rather than replace). Once only.
 */
function personCreatesAfterTheCheck(name: string, text: string) {
  let on = false;
  let armed = false;
  let created = false;
  const fs: FileSystem = {
    ...nodeFileSystem,
    async open(file, flags, mode) {
      // The write's temp file: its link into the target's place comes next.
      if (flags === 'wx' && path.basename(file).startsWith(`.${name}.`) && on && !created) armed = true;
      return nodeFileSystem.open(file, flags, mode);
    },
    async link(existing, file) {
      if (armed && path.basename(file) === name) {
        armed = false;
        created = true;
        await writeFile(file, text, { flag: 'wx' });
      }
      return nodeFileSystem.link(existing, file);
    },
  };
  return {
    fs,
    /** From now on (the server's own start writes config.yaml too). */
    arm: () => {
      on = true;
    },
    created: () => created,
  };
}

/** A server whose config.yaml was removed (and taken as missing), with a person ready to create `handMade` under its next write. */
async function serverWithConfigMissing(handMade: string) {
  const person = personCreatesAfterTheCheck('config.yaml', handMade);
  const server = await startTestServer({ fs: person.fs });
  const file = path.join(server.runtimeDir, 'config.yaml');
  await rm(file);
  await waitUntil(
    async () => (await server.gql('{ status { configError { message } } }')).body.data?.status.configError?.message,
    (m) => typeof m === 'string' && m.includes('missing'),
    { what: 'config.yaml taken as missing' },
  );
  return { person, server, file };
}

describe('a write of the API into a missing file never replaces a file a person created meanwhile', () => {
  it('config.yaml: the hand-made file stays, is audited as a hand edit, and the activation is built on it', async () => {
    const handMade =
      'active_strategy_key: range\ntrading_enabled: false\nscan_interval_seconds: 45\nversion: 1\nupdated_at: 2026-01-01T00:00:00.000Z\n';
    const { person, server, file } = await serverWithConfigMissing(handMade);

    person.arm();
    const res = await server.gql(ACTIVATE, { key: 'gold' });
    expect(person.created()).toBe(true);
    expect(res.body.errors).toBeUndefined();
    // The person's settings are on disk and in force, with the activation on top of them.
    const text = await readFile(file, 'utf8');
    expect(text).toContain('scan_interval_seconds: 45');
    expect(text).toContain('trading_enabled: false');
    expect(text).toContain('active_strategy_key: gold');
    const config = (await server.gql('{ config { activeStrategyKey tradingEnabled scanIntervalSeconds version } }')).body.data?.config;
    expect(config).toEqual({ activeStrategyKey: 'gold', tradingEnabled: false, scanIntervalSeconds: 45, version: 3 });
    expect(res.body.data?.activateStrategy.configVersion).toBe(3);
    expect((await auditLines(server.runtimeDir)).map((l) => [l.operation, l.version])).toEqual([
      ['baseline', 1],
      ['handEdit', 2],
      ['activateStrategy', 3],
    ]);
  });

  it('config.yaml: a hand-made file that is invalid is refused, not replaced: the change fails and the file is left as it is', async () => {
    const handMade = 'active_strategy_key: range\nscan_interval_seconds: many\n';
    const { person, server, file } = await serverWithConfigMissing(handMade);

    person.arm();
    const res = await server.gql(ACTIVATE, { key: 'gold' });
    expect(person.created()).toBe(true);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('CONFIG_FILE_INVALID');
    expect(await readFile(file, 'utf8')).toBe(handMade);
    expect((await auditLines(server.runtimeDir)).map((l) => [l.operation, l.version])).toEqual([['baseline', 1]]);
  });

  it('strategies.yaml: the first preset change does not replace a presets file a person created meanwhile', async () => {
    const handMade = 'version: 1\npresets:\n  gold_slow:\n    base: gold\n    name: Gold slow\n';
    const person = personCreatesAfterTheCheck('strategies.yaml', handMade);
    const server = await startTestServer({ fs: person.fs });
    const file = path.join(server.runtimeDir, 'strategies.yaml');
    await expect(readFile(file)).rejects.toMatchObject({ code: 'ENOENT' });

    person.arm();
    const res = await server.gql(UPSERT, { input: { key: 'gold_fast', base: 'gold', name: 'Gold fast' } });
    expect(person.created()).toBe(true);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.upsertPreset).toMatchObject({ changed: true, presetsVersion: 2 });
    const text = await readFile(file, 'utf8');
    expect(text).toContain('gold_slow:');
    expect(text).toContain('gold_fast:');
    const keys = (((await server.gql('{ strategies { key } }')).body.data?.strategies ?? []) as { key: string }[]).map((s) => s.key);
    expect(keys).toEqual(expect.arrayContaining(['gold_slow', 'gold_fast']));
    expect((await auditLines(server.runtimeDir)).filter((l) => l.subject === 'PRESETS').map((l) => [l.operation, l.version])).toEqual([
      ['handEdit', 1],
      ['upsertPreset', 2],
    ]);
  });
});
