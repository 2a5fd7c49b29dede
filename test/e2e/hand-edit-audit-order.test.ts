import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { digestOf } from '../../src/config/digest.js';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';
import { auditLines } from '../helpers/hand-edit.js';
import { UPSERT } from '../helpers/presets.js';
import { writeWhole } from '../helpers/runtime-dir.js';
import { startTestServer } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * The real file system, with audit.log's fsync held at a gate the test opens: while it is shut, an
 * audit line has been written but is not durable yet. `held` resolves when an fsync reaches the gate.
 */
function gatedAuditFs() {
  let shut = false;
  let reached: () => void = () => {};
  let held = new Promise<void>((resolve) => {
    reached = resolve;
  });
  let open: () => void = () => {};
  let gate = Promise.resolve();
  const fs: FileSystem = {
    ...nodeFileSystem,
    async open(file, flags, mode) {
      const real = await nodeFileSystem.open(file, flags, mode);
      if (flags !== 'a' || path.basename(file) !== 'audit.log') return real;
      return {
        ...real,
        sync: async () => {
          if (shut) {
            reached();
            await gate;
          }
          await real.sync();
        },
      };
    },
  };
  return {
    fs,
    /** The next audit fsyncs wait until `release()`; resolves `held` when one gets there. */
    shut() {
      shut = true;
      held = new Promise<void>((resolve) => {
        reached = resolve;
      });
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
    },
    get held() {
      return held;
    },
    release() {
      shut = false;
      open();
    },
  };
}

describe('a hand edit is in force only once its audit line is durable (as a change through the API)', () => {
  it("config.yaml: while its handEdit line is being fsync'd, status still shows the version before it", async () => {
    const audit = gatedAuditFs();
    const server = await startTestServer({ fs: audit.fs });
    const file = path.join(server.runtimeDir, 'config.yaml');
    const before = (await server.gql('{ status { configVersion configDigest } }')).body.data?.status;
    expect(before?.configVersion).toBe(1);
    const edited = (await readFile(file, 'utf8')).replace('scan_interval_seconds: 30', 'scan_interval_seconds: 45');
    expect(edited).toContain('scan_interval_seconds: 45');

    audit.shut();
    // Written whole (a rename): taken at once, so only the audit append stands between it and status.
    let meanwhile: unknown;
    try {
      await writeWhole(file, edited);
      await audit.held;
      meanwhile = (await server.gql('{ status { configVersion configDigest } config { scanIntervalSeconds } }')).body.data;
    } finally {
      audit.release();
    }

    const after = await waitUntil(
      async () => (await server.gql('{ status { configVersion configDigest } config { scanIntervalSeconds } }')).body.data,
      (d) => d?.status.configVersion === 2,
      { what: 'the hand edit in force' },
    );
    const lines = await auditLines(server.runtimeDir);
    // Nothing of the edit was shown before its line was durable: the old version, the old value.
    expect(meanwhile).toEqual({ status: before, config: { scanIntervalSeconds: 30 } });
    expect(after).toEqual({ status: { configVersion: 2, configDigest: digestOf(edited) }, config: { scanIntervalSeconds: 45 } });
    expect(lines.map((l) => [l.operation, l.version, l.digest])).toEqual([
      ['baseline', 1, before?.configDigest],
      ['handEdit', 2, digestOf(edited)],
    ]);
  });

  it("strategies.yaml: while its handEdit line is being fsync'd, the preset set before it stays in force", async () => {
    const audit = gatedAuditFs();
    const server = await startTestServer({ fs: audit.fs });
    const added = await server.gql(UPSERT, { input: { key: 'gold_fast', base: 'gold', name: 'Gold fast' } });
    expect(added.body.data?.upsertPreset).toMatchObject({ presetsVersion: 1 });
    const file = path.join(server.runtimeDir, 'strategies.yaml');
    const edited = (await readFile(file, 'utf8')).replace('name: Gold fast', 'name: Gold warm');
    expect(edited).toContain('Gold warm');
    const probe = async () => (await server.gql('{ status { presetsVersion } strategy(key: "gold_fast") { name } }')).body.data;

    audit.shut();
    let meanwhile: Awaited<ReturnType<typeof probe>>;
    try {
      await writeWhole(file, edited);
      await audit.held;
      meanwhile = await probe();
    } finally {
      audit.release();
    }

    const after = await waitUntil(probe, (d) => d?.status.presetsVersion === 2, { what: 'the hand edit in force' });
    const lines = (await auditLines(server.runtimeDir)).filter((l) => l.subject === 'PRESETS');
    expect(meanwhile).toEqual({ status: { presetsVersion: 1 }, strategy: { name: 'Gold fast' } });
    expect(after).toEqual({ status: { presetsVersion: 2 }, strategy: { name: 'Gold warm' } });
    expect(lines.map((l) => [l.operation, l.version])).toEqual([
      ['upsertPreset', 1],
      ['handEdit', 2],
    ]);
  });
});
