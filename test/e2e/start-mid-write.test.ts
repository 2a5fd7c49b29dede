import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';
import { SETTLE_MS } from '../../src/fs/settle.js';
import { auditLines, WIDE_SETTLE } from '../helpers/hand-edit.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { startTestServer } from '../helpers/server.js';

const WHOLE = [
  'active_strategy_key: gold\n',
  'trading_enabled: false\n',
  'scan_interval_seconds: 45\n',
  'version: 1\n',
  'updated_at: 2026-01-01T00:00:00.000Z\n',
].join('');
/** The first piece: cut inside a value, as a tool writing in pieces leaves it between two writes. */
const FIRST = WHOLE.slice(0, WHOLE.indexOf('scan_interval_seconds: 4') + 'scan_interval_seconds: 4'.length);

/**
 * The real file system, where `config.yaml` is being written in place, in two pieces, as the start
 * first reads it: the first piece lands just before that read, the rest `gapMs` later. Counts the
 * reads of config.yaml.
 */
function toolWritingAtStart(dir: string, gapMs: number) {
  const file = path.join(dir, 'config.yaml');
  let started = false;
  let reads = 0;
  let rest: Promise<void> = Promise.resolve();
  const fs: FileSystem = {
    ...nodeFileSystem,
    async readFile(target, checks) {
      if (target === file) {
        reads += 1;
        if (!started) {
          started = true;
          await writeFile(file, FIRST);
          rest = new Promise((resolve) => setTimeout(resolve, gapMs)).then(() => appendFile(file, WHOLE.slice(FIRST.length)));
        }
      }
      return nodeFileSystem.readFile(target, checks);
    },
  };
  return { fs, reads: () => reads, rest: () => rest };
}

/**
 * The real file system, where vim writes `config.yaml` as the start reads it: its first look finds
 * the old file just written in place (not still: the start waits), the next finds it renamed away
 * (`config.yaml~`), and the one after finds the new file created and written whole. Counts the
 * reads of config.yaml.
 */
function vimWritingAtStart(dir: string) {
  const file = path.join(dir, 'config.yaml');
  let reads = 0;
  const fs: FileSystem = {
    ...nodeFileSystem,
    async readFile(target, checks) {
      if (target === file) {
        reads += 1;
        if (reads === 1) await writeFile(file, FIRST);
        if (reads === 2) await rename(file, `${file}~`);
        if (reads === 3) await writeFile(file, WHOLE);
      }
      return nodeFileSystem.readFile(target, checks);
    },
  };
  return { fs, reads: () => reads };
}

describe('a start waits for a config.yaml being written in place, as a running server does', () => {
  it('the start reads it once it is still: the whole file is in force, not its first piece (no exit 78)', async () => {
    const dir = await tempRuntimeDir();
    const tool = toolWritingAtStart(dir, 60);
    // A window wide enough that the test process stalled past the gap (a loaded machine) does not leave the first piece still for it.
    const server = await startTestServer({ runtimeDir: dir, fs: tool.fs, fileSettle: WIDE_SETTLE });
    await tool.rest();
    expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toBe(WHOLE);
    const data = (
      await server.gql('{ config { activeStrategyKey tradingEnabled scanIntervalSeconds } status { configError { message } } }')
    ).body.data;
    expect(data).toEqual({
      config: { activeStrategyKey: 'gold', tradingEnabled: false, scanIntervalSeconds: 45 },
      status: { configError: null },
    });
    expect(tool.reads()).toBeGreaterThan(1);
    expect((await auditLines(dir)).map((l) => [l.operation, l.version])).toEqual([['baseline', 1]]);
  });

  it('a file that goes missing while the start waits for it (vim: renamed away, then created anew) is not taken as missing: the new file is in force', async () => {
    const dir = await tempRuntimeDir();
    const vim = vimWritingAtStart(dir);
    const server = await startTestServer({ runtimeDir: dir, fs: vim.fs });
    const data = (
      await server.gql('{ config { version activeStrategyKey tradingEnabled scanIntervalSeconds } status { configError { message } } }')
    ).body.data;
    expect(data).toEqual({
      config: { version: 1, activeStrategyKey: 'gold', tradingEnabled: false, scanIntervalSeconds: 45 },
      status: { configError: null },
    });
    // Not "missing at start" (the defaults written in its place), nor the new file then taken as a hand edit over them.
    expect((await auditLines(dir)).map((l) => [l.operation, l.version])).toEqual([['baseline', 1]]);
    expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toBe(WHOLE);
    expect(vim.reads()).toBeGreaterThanOrEqual(3);
  });

  it('a file last changed more than the settle window before the start is read once, with no wait', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, WHOLE);
    await new Promise((r) => setTimeout(r, SETTLE_MS + 50));
    let reads = 0;
    const fs: FileSystem = {
      ...nodeFileSystem,
      readFile: (target, checks) => {
        if (target === file) reads += 1;
        return nodeFileSystem.readFile(target, checks);
      },
    };
    await startTestServer({ runtimeDir: dir, fs });
    // One read at open, one at start (the store's first look at its files); none repeated to settle.
    expect(reads).toBeLessThanOrEqual(2);
  });
});
