import { readdirSync } from 'node:fs';
import { readFile, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeGroup } from '../../src/config/file-io.js';
import { putBackTakenAway } from '../../src/fs/atomic-write.js';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';
import { fsError } from '../helpers/faulty-fs.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const dotFiles = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('.') && name.endsWith('.tmp'));

/**
 * A group replacing strategies.yaml (`presets: old` -> `presets: new`), whose process is "killed"
 * at the call `killAt` picks (it never returns); the asides it leaves are this process's, whose pid
 * is alive, as a dead writer's is in a container where every server start is pid 1.
 */
async function killedGroup(killAt: (call: string, target: string, count: number) => boolean, auditFails = false) {
  const dir = await tempRuntimeDir();
  const file = path.join(dir, 'strategies.yaml');
  const audit = path.join(dir, 'audit.log');
  await writeFile(file, 'presets: old\n');
  // Written a minute before the change (within one tick of the file clock, the two files' mtimes can be equal).
  const before = new Date(Date.now() - 60_000);
  await utimes(file, before, before);
  const linksToFile = { count: 0 };
  // A call that never returns: the process killed just as it made it (what it left on disk stays as it is).
  let reached!: (how: string) => void;
  const atKill = new Promise<string>((resolve) => {
    reached = resolve;
  });
  const killed = () => {
    reached('killed');
    return new Promise<never>(() => {});
  };
  const fs: FileSystem = {
    ...nodeFileSystem,
    async link(from, to) {
      if (to === file) linksToFile.count += 1;
      if (killAt('link', to, linksToFile.count)) return killed();
      await nodeFileSystem.link(from, to);
    },
    async open(target, flags, mode) {
      if (flags === 'a' && auditFails) throw fsError('ENOSPC', 'open', target);
      if (flags === 'a' && killAt('append', target, 0)) return killed();
      return nodeFileSystem.open(target, flags, mode);
    },
  };
  const group = writeGroup(fs, {
    writes: [{ file, text: 'presets: new\n', previous: 'presets: old\n', unlessChanged: true }],
    audit: { file: audit, text: '{}\n', knownSize: 0 },
    checks: { runtimeDir: dir },
  });
  // Killed: it never answers. Wait until it reached the call it was killed at.
  const stopped = await Promise.race([
    group.then(
      () => 'answered',
      (err: unknown) => `failed: ${String(err)}`,
    ),
    atKill,
  ]);
  expect(stopped).toBe('killed');
  return { dir, file };
}

describe('a start putting back what a killed write had set aside', () => {
  it('puts it back when the write was killed in its window (its new file not yet linked), and leaves no temp name behind', async () => {
    const { dir, file } = await killedGroup((call, target, n) => call === 'link' && target.endsWith('strategies.yaml') && n === 1);
    expect(dotFiles(dir).sort()).toEqual([expect.stringMatching(/\.aside\.tmp$/), expect.stringMatching(/\.[0-9a-f]{12}\.tmp$/)]);
    const [aside, temp] = dotFiles(dir).sort();
    expect(temp).toBe((aside as string).replace('.aside.tmp', '.tmp')); // paired: the same pid and hex
    expect(await putBackTakenAway(file)).toBe(aside);
    expect(await readFile(file, 'utf8')).toBe('presets: old\n');
    expect(dotFiles(dir)).toEqual([]);
  });

  it('never undoes a deletion: an aside of a write that was done (killed during its audit append) is not put back after `rm`, and goes', async () => {
    const { dir, file } = await killedGroup((call) => call === 'append');
    expect(await readFile(file, 'utf8')).toBe('presets: new\n');
    expect(dotFiles(dir)).toEqual([expect.stringMatching(/\.aside\.tmp$/)]);
    await unlink(file); // removed on purpose while the server was down
    expect(await putBackTakenAway(file)).toBeNull();
    await expect(readFile(file, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    // Gone though its pid (this process's) is alive: the next start has nothing to undo the deletion with either.
    expect(dotFiles(dir)).toEqual([]);
  });

  it('a start finding the file in place removes every aside, whatever its pid', async () => {
    const { dir, file } = await killedGroup((call) => call === 'append');
    expect(await putBackTakenAway(file)).toBeNull();
    expect(await readFile(file, 'utf8')).toBe('presets: new\n');
    expect(dotFiles(dir)).toEqual([]);
  });

  it('a kill while a failed change is undone (audit append ENOSPC) puts back the old file, never the refused one', async () => {
    // The audit append refused; the undo takes the new file away and is killed as it links the old one back.
    const { dir, file } = await killedGroup((call, target, n) => call === 'link' && target.endsWith('strategies.yaml') && n === 2, true);
    await expect(readFile(file, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await putBackTakenAway(file)).toMatch(/\.aside\.tmp$/);
    expect(await readFile(file, 'utf8')).toBe('presets: old\n');
    expect(dotFiles(dir)).toEqual([]);
  });
});
