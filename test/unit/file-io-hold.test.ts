import { readdirSync, readlinkSync } from 'node:fs';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ConfigWriteError } from '../../src/config/errors.js';
import { type GroupWritePlan, writeGroup } from '../../src/config/file-io.js';
import { type FileSystem, nodeFileSystem, syncNodeFileSystem } from '../../src/fs/file-system.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const OLD = 'active_strategy_key: momentum\nversion: 1\n';
const NEW = 'active_strategy_key: gold\nversion: 2\n';

/** What this process has open in `dir` that is no longer in it (renamed over, still held). */
const heldGone = (dir: string) =>
  readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => target.startsWith(`${dir}/`) && target.endsWith(' (deleted)'));

/** A file's name, an aside's (asidePathFor) as `aside`. */
const named = (file: string) => (file.endsWith('.aside.tmp') ? 'aside' : path.basename(file));

/** `base` with its calls recorded in order (holds, releases, renames, appends); `failAppend` refuses the audit append. */
function recording(base: FileSystem, options: { failAppend?: boolean } = {}) {
  const calls: string[] = [];
  const released: Promise<void>[] = [];
  const fs: FileSystem = {
    ...base,
    async hold(file) {
      calls.push(`hold ${path.basename(file)}`);
      const held = await base.hold?.(file);
      if (!held) return null;
      return {
        release: () => {
          calls.push(`release ${path.basename(file)}`);
          const done = held.release();
          released.push(done);
          return done;
        },
      };
    },
    async rename(from, to) {
      calls.push(`rename -> ${named(to)}`);
      await base.rename(from, to);
    },
    async link(from, to) {
      calls.push(`link -> ${named(to)}`);
      await base.link(from, to);
    },
    async open(file, flags, mode) {
      if (flags === 'a') {
        calls.push(`append ${path.basename(file)}`);
        if (options.failAppend) throw Object.assign(new Error('EIO: i/o error, open'), { code: 'EIO' });
      }
      return base.open(file, flags, mode);
    },
  };
  return { fs, calls, released };
}

async function plan(dir: string): Promise<GroupWritePlan> {
  const file = path.join(dir, 'config.yaml');
  await writeFile(file, OLD);
  return {
    writes: [{ file, text: NEW, previous: OLD, unlessChanged: true }],
    audit: { file: path.join(dir, 'audit.log'), text: '{"version":2}\n', knownSize: 0 },
    checks: { runtimeDir: dir },
  };
}

describe('a group commit holds each file it replaces over its rename', () => {
  for (const [name, base] of [
    ['the I/O thread’s synchronous calls', syncNodeFileSystem],
    ['the promise calls (in process)', nodeFileSystem],
  ] as const) {
    it(`keeps the old config open until the turn after the group is written, so the rename frees nothing (${name})`, async () => {
      const dir = await tempRuntimeDir();
      const { fs, calls, released } = recording(base);
      await writeGroup(fs, await plan(dir));
      // Answered (the reply goes out in this turn), and the old file is still open: its inode is not freed yet.
      // The old file taken away to its aside name, the new one linked into its place (replaceChecked).
      expect(calls).toEqual(['hold config.yaml', 'rename -> aside', 'link -> config.yaml', 'append audit.log']);
      expect(heldGone(dir)).toEqual([
        expect.stringMatching(new RegExp(`^${dir}/\\.config\\.yaml\\.\\d+\\.[0-9a-f]{12}\\.aside\\.tmp \\(deleted\\)$`)),
      ]);
      await nextTurn();
      expect(calls.at(-1)).toBe('release config.yaml');
      await Promise.all(released);
      expect(heldGone(dir)).toEqual([]);
      expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toBe(NEW);
    });
  }

  it('lets go of it when the group fails too (the audit append refused: the config put back)', async () => {
    const dir = await tempRuntimeDir();
    const { fs, calls, released } = recording(syncNodeFileSystem, { failAppend: true });
    const failure = await writeGroup(fs, await plan(dir)).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ConfigWriteError);
    expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toBe(OLD);
    await nextTurn();
    expect(calls.filter((c) => c.startsWith('hold') || c.startsWith('release'))).toEqual(['hold config.yaml', 'release config.yaml']);
    await Promise.all(released);
    expect(heldGone(dir)).toEqual([]);
  });

  it('holds nothing for a file it creates, nor for one it cannot open (a link is never followed)', async () => {
    const dir = await tempRuntimeDir();
    const { fs, calls } = recording(syncNodeFileSystem);
    const file = path.join(dir, 'config.yaml');
    await writeGroup(fs, {
      writes: [{ file, text: NEW, previous: null, unlessChanged: true }],
      audit: { file: path.join(dir, 'audit.log'), text: '{"version":2}\n', knownSize: 0 },
      checks: { runtimeDir: dir },
    });
    expect(calls.some((c) => c.startsWith('hold'))).toBe(false);
    expect(await readFile(file, 'utf8')).toBe(NEW);
    await symlink(file, path.join(dir, 'link.yaml'));
    expect(await syncNodeFileSystem.hold?.(path.join(dir, 'link.yaml'))).toBeNull();
    expect(await nodeFileSystem.hold?.(path.join(dir, 'link.yaml'))).toBeNull();
    expect(await syncNodeFileSystem.hold?.(path.join(dir, 'missing.yaml'))).toBeNull();
  });
});
