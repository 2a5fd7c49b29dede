import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { Document } from 'yaml';
import { activateStrategy } from '../../src/config/changes.js';
import { ConfigWriteError } from '../../src/config/errors.js';
import { openFileConfigStore } from '../../src/config/file-store.js';
import { upsertPreset } from '../../src/config/preset-changes.js';
import type { RuntimeConfig } from '../../src/config/schema.js';
import { WrittenTextMismatchError } from '../../src/config/written-check.js';
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
