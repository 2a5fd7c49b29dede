import { mkdir, readFile, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { updateConfig } from '../../src/config/changes.js';
import { openFileConfigStore } from '../../src/config/file-store.js';
import type { StoreEvent } from '../../src/config/store.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const by = { actor: 'test' };
/** README "Retention": a failed trim is tried again no sooner than 60 s later. */
const RETRY_MS = 60_000;
const configVersions = async (file: string) =>
  (await readFile(file, 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { subject: string; version: number })
    .filter((l) => l.subject === 'CONFIG')
    .map((l) => l.version);

it('a trim that fails is tried again no sooner than 60 s later (monotonic clock), each try counted and warned with when the next comes', async () => {
  const dir = await tempRuntimeDir();
  const log = path.join(dir, 'audit.log');
  const old = path.join(dir, 'audit.log.old');
  await mkdir(old); // audit.log.old a directory: every trim that has lines to move fails
  let clock = 1_000_000;
  const warnings: string[] = [];
  const events: StoreEvent[] = [];
  const store = await openFileConfigStore({
    strategies: defaultRegistry,
    runtimeDir: dir,
    auditKeep: 1,
    monotonicNow: () => clock,
    now: () => new Date('2026-12-01T10:00:00.000Z'),
    warn: (m) => warnings.push(m),
  });
  store.subscribe((e) => events.push(e));
  await store.start();
  const tries = () => events.filter((e) => e.type === 'auditTrimFailed').length;
  const trimWarnings = () => warnings.filter((w) => w.includes('could not be trimmed'));
  let seconds = 10;
  const change = async () => {
    seconds = seconds === 10 ? 11 : 10;
    await store.commit(updateConfig({ scanIntervalSeconds: seconds }, by));
  };

  // baseline + 100 changes: 101 CONFIG entries, keep 1 + slack 100: not over yet.
  for (let i = 0; i < 100; i++) await change();
  expect(tries()).toBe(0);
  await change(); // 102 entries: the trim is due, and fails
  expect(tries()).toBe(1);
  expect(trimWarnings()).toHaveLength(1);
  expect(trimWarnings()[0]).toContain(
    'the trim is tried again at the first change from 2026-12-01T10:01:00.000Z on (60 s from now), or at the next start',
  );

  // Within the back-off: the changes are made and recorded, no trim is tried, nothing more is said.
  clock += RETRY_MS - 1;
  await change();
  await change();
  expect(tries()).toBe(1);
  expect(trimWarnings()).toHaveLength(1);
  expect(await configVersions(log)).toEqual(Array.from({ length: 104 }, (_, i) => i + 1));

  // The back-off passed: tried again (fails again: counted, warned, a new back-off).
  clock += 1;
  await change();
  expect(tries()).toBe(2);
  expect(trimWarnings()).toHaveLength(2);
  await change();
  expect(tries()).toBe(2);

  // Fixed meanwhile: the next try (after the back-off) trims.
  await rmdir(old);
  clock += RETRY_MS;
  await change();
  expect(tries()).toBe(2);
  expect(await configVersions(log)).toEqual([107]);
  expect(await configVersions(old)).toEqual(Array.from({ length: 106 }, (_, i) => i + 1));
  await store.close();
});
