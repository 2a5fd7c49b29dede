import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Document } from 'yaml';
import { activateStrategy } from '../../src/config/changes.js';
import { ConfigWriteError } from '../../src/config/errors.js';
import { inProcessIo, workerIo } from '../../src/config/file-io.js';
import { openFileConfigStore } from '../../src/config/file-store.js';
import { upsertPreset } from '../../src/config/preset-changes.js';
import { checkReadBack, WrittenTextMismatchError } from '../../src/config/read-back.js';
import type { RuntimeConfig } from '../../src/config/schema.js';
import { nodeFileSystem } from '../../src/fs/file-system.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

/**
 * The check of a group's texts before they are written: an edit that makes the wrong text (a bug,
 * as the missed `true:` key was) is refused, for every writer of the group, and nothing is written.
 * The edits are made to go wrong here on purpose.
 */

const wrong = vi.hoisted(() => ({ config: false, presets: false }));

vi.mock('../../src/config/yaml-document.js', async (original) => {
  const real = await original<typeof import('../../src/config/yaml-document.js')>();
  return {
    ...real,
    applyConfigToDocument: (doc: Document, before: RuntimeConfig, config: RuntimeConfig) => {
      real.applyConfigToDocument(doc, before, config);
      // The edit "goes wrong": trading in the text the opposite of what the change leaves it.
      if (wrong.config) doc.set('trading_enabled', !config.tradingEnabled);
    },
  };
});
vi.mock('../../src/config/presets-file.js', async (original) => {
  const real = await original<typeof import('../../src/config/presets-file.js')>();
  return {
    ...real,
    renderPresetsText: (...args: Parameters<typeof real.renderPresetsText>) => {
      const text = real.renderPresetsText(...args);
      return wrong.presets ? text.replace('name: Gold fast', 'name: Gold slow') : text;
    },
  };
});

const by = { actor: 'written-check-test' };

async function openStore() {
  const dir = await tempRuntimeDir();
  const store = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir });
  await store.start();
  const files = async () =>
    Promise.all(['config.yaml', 'strategies.yaml', 'audit.log'].map((f) => readFile(path.join(dir, f), 'utf8').catch(() => null)));
  return { store, files };
}

describe('the texts of a group are read back before they are written', () => {
  it('config.yaml that would not read as the change: every writer of the group refused, nothing written', async () => {
    const { store, files } = await openStore();
    try {
      expect((await store.commit(activateStrategy('gold', by))).changed).toBe(true);
      const before = await files();
      const inForce = store.state().config;
      wrong.config = true;
      const outcomes = await Promise.allSettled(
        ['range', 'momentum', 'gold', 'range'].map((key) => store.commit(activateStrategy(key, by))),
      );
      wrong.config = false;
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        const error = (outcome as PromiseRejectedResult).reason as ConfigWriteError;
        expect(error).toBeInstanceOf(ConfigWriteError);
        expect(error.step).toMatch(/^check before write: .*config\.yaml would not read back as the change$/);
        expect(error.cause).toBeInstanceOf(WrittenTextMismatchError);
        const trading = inForce.config.tradingEnabled;
        expect((error.cause as Error).message).toMatch(
          new RegExp(`^meant .*"tradingEnabled":${trading}.*; the text reads .*"tradingEnabled":${!trading}`),
        );
      }
      expect(await files()).toEqual(before);
      expect(store.state().config).toEqual(inForce);
      // Nothing half-edited is kept: the next group writes what it says.
      const next = await store.commit(activateStrategy('range', by));
      expect(next.changed).toBe(true);
      expect((await files())[0]).toContain('active_strategy_key: range');
    } finally {
      wrong.config = false;
      await store.close();
    }
  });

  it('strategies.yaml that would not read as the change: refused, nothing written', async () => {
    const { store, files } = await openStore();
    try {
      const before = await files();
      wrong.presets = true;
      const refused = store.commit(upsertPreset({ key: 'gold_fast', base: 'gold', name: 'Gold fast' }, by));
      await expect(refused).rejects.toBeInstanceOf(ConfigWriteError);
      await expect(refused).rejects.toMatchObject({ step: expect.stringMatching(/strategies\.yaml would not read back/) });
      wrong.presets = false;
      expect(await files()).toEqual(before);
      expect(store.state().presets.version).toBe(0);
    } finally {
      wrong.presets = false;
      await store.close();
    }
  });
});

describe('config.yaml read back where it is written (the I/O thread, or in process)', () => {
  /** A text that differs from its document only in how it is rendered (what the document check cannot see). */
  const unfaithful = (text: string) =>
    text.replace(/^trading_enabled: (true|false)$/m, (_m, v: string) => `trading_enabled: ${v !== 'true'}`);

  for (const where of ['worker', 'in-process'] as const) {
    it(`a text that does not read as its document: refused with both sides, nothing written (${where})`, async () => {
      const dir = await tempRuntimeDir();
      const file = path.join(dir, 'config.yaml');
      const audit = path.join(dir, 'audit.log');
      const before = 'active_strategy_key: gold\ntrading_enabled: true\nversion: 1\n';
      await writeFile(file, before);
      const fallback = inProcessIo(nodeFileSystem);
      const io = where === 'worker' ? workerIo(fallback, { loopBusy: () => true }) : fallback;
      try {
        const text = 'active_strategy_key: range\ntrading_enabled: true\nversion: 2\n';
        const data = { active_strategy_key: 'range', trading_enabled: true, version: 2 };
        const plan = (written: string) => ({
          writes: [{ file, text: written, previous: before }],
          audit: { file: audit, text: '{"version":2}\n', knownSize: 0 },
          checks: {},
          readBack: { file, data },
        });
        const refused = io.writeGroup(plan(unfaithful(text)));
        await expect(refused).rejects.toBeInstanceOf(ConfigWriteError);
        const error = (await refused.catch((e: unknown) => e)) as ConfigWriteError;
        expect(error.step).toBe(`check before write: ${file} would not read back as the change`);
        expect(error.cause).toBeInstanceOf(WrittenTextMismatchError);
        expect((error.cause as Error).message).toMatch(/^meant .*"trading_enabled":true.*; the text reads .*"trading_enabled":false/);
        expect(await readFile(file, 'utf8')).toBe(before);
        await expect(readFile(audit, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
        // The same plan with the faithful text is written.
        await io.writeGroup(plan(text));
        expect(await readFile(file, 'utf8')).toBe(text);
      } finally {
        await io.close();
      }
    });
  }

  it('a text that does not read at all (a duplicate key), or reads a number of another sign, is refused', () => {
    const readBack = { file: 'config.yaml', data: { version: 0, a: 1 } };
    const refusal = (text: string) => {
      try {
        checkReadBack(text, readBack);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigWriteError);
        expect((err as ConfigWriteError).step).toBe('check before write: config.yaml would not read back as the change');
        return ((err as ConfigWriteError).cause as Error).message;
      }
      return null;
    };
    expect(refusal('version: 0\na: 1\n')).toBeNull();
    expect(refusal('a: 1\nversion: 0\n')).toBeNull();
    expect(refusal('version: 0\na: 1\na: 1\n')).toMatch(/^meant \{"a":1,"version":0\}; the text does not read: line 3: .*unique/);
    // JSON writes -0 as 0: the message shows it, or both sides read the same.
    expect(refusal('version: -0\na: 1\n')).toBe('meant {"a":1,"version":0}; the text reads {"a":1,"version":-0}');
  });

  it('the store sends the check with every write it edits from a document, and a text unfaithful to it is refused', async () => {
    const { store, files } = await openStore();
    const render = vi.spyOn(Document.prototype, 'toString');
    try {
      expect((await store.commit(activateStrategy('gold', by))).changed).toBe(true);
      const before = await files();
      const inForce = store.state().config;
      render.mockImplementation(function (this: Document) {
        render.mockRestore();
        return unfaithful(this.toString());
      });
      const refused = store.commit(activateStrategy('range', by));
      await expect(refused).rejects.toMatchObject({ step: expect.stringMatching(/config\.yaml would not read back as the change$/) });
      expect(((await refused.catch((e: unknown) => e)) as ConfigWriteError).cause).toBeInstanceOf(WrittenTextMismatchError);
      expect(await files()).toEqual(before);
      expect(store.state().config).toEqual(inForce);
      expect((await store.commit(activateStrategy('range', by))).changed).toBe(true);
      expect((await files())[0]).toContain('active_strategy_key: range');
    } finally {
      render.mockRestore();
      await store.close();
    }
  });
});
