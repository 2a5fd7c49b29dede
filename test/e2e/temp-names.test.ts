import { watch } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { activateStrategy } from '../../src/config/changes.js';
import { openFileConfigStore } from '../../src/config/file-store.js';
import type { LoadListener } from '../../src/heap-tuning.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { ACTIVATE, UPSERT } from '../helpers/presets.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { startTestServer } from '../helpers/server.js';

/**
 * Each name made and then removed in a directory stays in the kernel's dentry cache (a negative
 * entry), and adding an inotify watch to the directory walks every entry it has. The file store
 * closes its watch for its own writes and opens it again after them: with two fresh temp names per
 * write (the new file linked into place, the old one set aside, both removed), that reopening cost
 * the event loop 0.4-1.2 ms after ~5,000 activations (strace), more with every write for the life
 * of the process. A server's writes now take the same names again.
 */
it("a server's writes reuse their temp names: one pair per file for its life, not two names per write", async () => {
  const server = await startTestServer();
  const seen: string[] = [];
  const sentinel = path.join(server.runtimeDir, 'sentinel');
  let sentinelSeen!: () => void;
  const allSeen = new Promise<void>((resolve) => {
    sentinelSeen = resolve;
  });
  const watcher = watch(server.runtimeDir, (_event, name) => {
    if (name === 'sentinel') sentinelSeen();
    else if (name?.startsWith('.') && name.endsWith('.tmp')) seen.push(name);
  });
  try {
    for (let i = 0; i < 20; i++) {
      const answer = await server.gql(ACTIVATE, { key: i % 2 ? 'gold' : 'range' });
      expect(answer.body.data?.activateStrategy.configVersion).toBe(i + 2);
    }
    for (let i = 0; i < 6; i++) {
      const input = { key: 'gold_fast', base: 'gold', name: 'Gold fast', description: `take ${i}`, tunables: {} };
      const answer = await server.gql(UPSERT, { input });
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data?.upsertPreset.presetsVersion).toBe(i + 1);
    }
    // inotify reports in order: once our own file's event is here, every event of the writes before it is.
    await writeFile(sentinel, 'x');
    await allSeen;
  } finally {
    watcher.close();
  }
  const namesOf = (file: string) => new Set(seen.filter((name) => name.startsWith(`.${file}.`)));
  const pattern = (file: string, suffix: string) =>
    new RegExp(`^\\.${file.replace('.', '\\.')}\\.${process.pid}\\.([0-9a-f]{12})${suffix}$`);
  for (const file of ['config.yaml', 'strategies.yaml']) {
    const names = [...namesOf(file)].sort();
    // The new file's temp name and the old file's aside name, with the same hex part (a start pairs them).
    expect(names, `${file}: ${names.join(', ')}`).toHaveLength(2);
    const [aside, temp] = names as [string, string];
    expect(aside).toMatch(pattern(file, '\\.aside\\.tmp'));
    expect(temp).toMatch(pattern(file, '\\.tmp'));
    expect(pattern(file, '\\.aside\\.tmp').exec(aside)?.[1]).toBe(pattern(file, '\\.tmp').exec(temp)?.[1]);
  }
  // 20 config writes and 6 presets writes, each seen (a name seen once per write at least).
  expect(seen.filter((name) => name.startsWith('.config.yaml.')).length).toBeGreaterThanOrEqual(20);
});

it('the file store hands its names on across its I/O thread let go and started again, and its writes made in process meanwhile', async () => {
  const dir = await tempRuntimeDir();
  let listener: LoadListener | undefined;
  const followLoad = (l: LoadListener) => {
    listener = l;
    return () => {
      listener = undefined;
    };
  };
  const store = await openFileConfigStore({ strategies: defaultRegistry, runtimeDir: dir, ioWorker: true, followLoad });
  await store.start();
  const load = () => listener ?? expect.unreachable('the store follows the load');
  const seen = new Set<string>();
  const watcher = watch(dir, (_event, name) => {
    if (name?.startsWith('.config.yaml.')) seen.add(name);
  });
  let n = 0;
  // `count` commits, each made where `where` says the store's writes go then.
  const commits = async (where: 'thread' | 'none', count: number) => {
    for (let i = 0; i < count; i++) {
      expect(store.ioThread).toBe(where);
      n += 1;
      const result = await store.commit(activateStrategy(n % 2 ? 'gold' : 'range', { actor: 'temp-names' }));
      expect(result.current.config.version).toBe(n + 1);
    }
  };
  try {
    await expect.poll(() => store.ioThread, { timeout: 10_000 }).toBe('thread');
    await commits('thread', 5);
    // The burst is over: the thread goes, and a write on a quiet loop runs in process (one: the
    // thread is started again 100 ms after it).
    load().over?.();
    await expect.poll(() => store.ioThread, { timeout: 10_000 }).toBe('none');
    await commits('none', 1);
    // Load again: another thread (another isolate: nothing of the first one's).
    load().begun?.();
    await expect.poll(() => store.ioThread, { timeout: 10_000 }).toBe('thread');
    await commits('thread', 5);
    // inotify reports in order: once this file's event is here, every event of the writes before it is.
    const arrived = new Promise<void>((resolve) => {
      const w = watch(dir, (_event, file) => {
        if (file === 'sentinel') {
          w.close();
          resolve();
        }
      });
    });
    await writeFile(path.join(dir, 'sentinel'), 'x');
    await arrived;
    expect([...seen].sort(), [...seen].join(', ')).toEqual([
      expect.stringMatching(new RegExp(`^\\.config\\.yaml\\.${process.pid}\\.[0-9a-f]{12}\\.aside\\.tmp$`)),
      expect.stringMatching(new RegExp(`^\\.config\\.yaml\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`)),
    ]);
  } finally {
    watcher.close();
    await store.close();
  }
});
