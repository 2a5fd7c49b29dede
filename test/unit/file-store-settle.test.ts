import { open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { activateStrategy } from '../../src/config/changes.js';
import { openFileConfigStore } from '../../src/config/file-store.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

/** A store over a temp runtime dir with its watch paused: only the refreshes the test asks for read the files. */
async function storeWith(settle: { ms: number; maxMs: number }) {
  const dir = await tempRuntimeDir();
  const warnings: string[] = [];
  const store = await openFileConfigStore({
    strategies: defaultRegistry,
    runtimeDir: dir,
    settle,
    warn: (message) => warnings.push(message),
  });
  await store.start();
  store.watch?.pause();
  await store.refresh();
  const file = path.join(dir, 'config.yaml');
  const edit = async (key: string) => (await readFile(file, 'utf8')).replace(/^active_strategy_key: \w+$/m, `active_strategy_key: ${key}`);
  return { store, file, edit, warnings };
}

const active = (store: Awaited<ReturnType<typeof storeWith>>['store']) => store.state().config.config.activeStrategyKey;

describe('file store: hand edits and the settle window', () => {
  it('a hand edit renamed into place (a temp file, then mv) is taken at once; one written in place waits until the file is still', async () => {
    const SETTLE_MS = 3000;
    const { store, file, edit } = await storeWith({ ms: SETTLE_MS, maxMs: 2 * SETTLE_MS });
    // Renamed into place: a different file than the one last read, written before (its ctime, set by
    // the rename, after its mtime), whole.
    await writeFile(`${file}.edit`, await edit('gold'));
    await new Promise((r) => setTimeout(r, 20));
    await rename(`${file}.edit`, file);
    let t0 = Date.now();
    await store.refresh();
    expect(Date.now() - t0).toBeLessThan(SETTLE_MS);
    expect(active(store)).toBe('gold');

    // Written in place (the file just read): taken once it has been still for the settle window.
    // t0 before the write: the window runs from the file's change, and a test resumed late after it measured less.
    const range = await edit('range');
    t0 = Date.now();
    await writeFile(file, range);
    await store.refresh();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(SETTLE_MS - 50);
    expect(active(store)).toBe('range');

    // An API write is never waited for, and the edit in place after it (in the file the API renamed into place) is.
    t0 = Date.now();
    await store.commit(activateStrategy('momentum', { actor: 'test' }));
    expect(Date.now() - t0).toBeLessThan(SETTLE_MS);
    const gold = await edit('gold');
    t0 = Date.now();
    await writeFile(file, gold);
    await store.refresh();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(SETTLE_MS - 50);
    expect(active(store)).toBe('gold');
    await store.close();
  });

  it('a change through the API while a hand edit is written in place waits for the whole edit and builds upon it', async () => {
    // A window far above the 50 ms pause: a test process stalled on a loaded machine does not leave the empty file still for it.
    const { store, file, edit } = await storeWith({ ms: 2000, maxMs: 6000 });
    const edited = (await edit('gold')).replace('scan_interval_seconds: 30', 'scan_interval_seconds: 45');
    expect(edited).toContain('scan_interval_seconds: 45');
    const handle = await open(file, 'r+');
    await handle.truncate(0);
    // The change comes while the file is empty: its check before the rename sees the edit under way.
    const committed = store.commit(activateStrategy('range', { actor: 'test' }));
    await new Promise((r) => setTimeout(r, 50));
    await handle.write(edited, 0);
    await handle.close();
    const result = await committed;
    // The edit (version 2: gold, 45 s) first, then the change built upon it (version 3: range, still 45 s).
    expect(result.current.config.version).toBe(3);
    expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'range', scanIntervalSeconds: 45, version: 3 });
    const audit = await store.audit({ last: 10, subject: 'CONFIG' });
    expect(audit.map((e) => [e.version, e.operation, e.config.activeStrategyKey])).toEqual([
      [3, 'activateStrategy', 'range'],
      [2, 'handEdit', 'gold'],
      [1, 'baseline', 'momentum'],
    ]);
    expect(await readFile(file, 'utf8')).toContain('scan_interval_seconds: 45');
    await store.close();
  });

  it('a file rewritten in place without a pause is taken as it stands after the bound, and said', async () => {
    const MAX_MS = 400;
    // Never still for the window (60 s) while it is rewritten: a starved writer (a busy CI machine)
    // cannot let it settle early. Its first write has landed before the refresh looks: a refresh
    // ahead of it found the file as the store knew it and was over in 1 ms (CI).
    const { store, file, edit, warnings } = await storeWith({ ms: 60_000, maxMs: MAX_MS });
    const keys = ['gold', 'range'];
    let writing = true;
    const texts = await Promise.all(keys.map(edit));
    let firstWritten!: () => void;
    // From the first write: a refresh its watch event started may have begun the spell before this test's refresh.
    let t0 = 0;
    const first = new Promise<void>((resolve) => {
      firstWritten = resolve;
    });
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await writeFile(file, texts[i % 2] as string);
        if (i === 0) {
          t0 = performance.now();
          firstWritten();
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await first;
    await store.refresh();
    const took = performance.now() - t0;
    writing = false;
    await writer;
    expect(took).toBeGreaterThanOrEqual(MAX_MS - 50);
    expect(keys).toContain(active(store));
    expect(warnings).toEqual([expect.stringContaining('config.yaml kept changing for 400 ms: taken as it stands')]);
    await store.close();
  });
  it('a file created anew and being written (vim: the old one renamed away) is not taken for one renamed into place, even when the missing moment went unseen', async () => {
    const SETTLE_MS = 1000;
    const { store, file, edit } = await storeWith({ ms: SETTLE_MS, maxMs: 3 * SETTLE_MS });
    await store.refresh();
    const edited = await edit('gold');
    // The store does not look while the file is missing: its first look is at the new file, a third written.
    await rename(file, `${file}~`);
    const handle = await open(file, 'wx');
    const third = Math.floor(edited.length / 3);
    await handle.write(edited.slice(0, third), 0);
    const refreshed = store.refresh();
    await new Promise((r) => setTimeout(r, 50));
    await handle.write(edited.slice(third), third);
    await handle.close();
    await unlink(`${file}~`);
    await refreshed;
    expect(store.problem()).toBeNull();
    expect(active(store)).toBe('gold');
    await store.close();
  });
  it('past the bound, what is taken is a read between two writes, never the moment after a truncate', async () => {
    // A writer rewriting the file in a loop, each time truncating it, then writing it 5 ms later
    // (as writeFile does, with the moment stretched): read in that moment, config.yaml is empty.
    // Full moments (16 ms) longer than WHOLE_READ_MS, so a whole read can come; ten rounds, so that
    // without the retry some read at the bound lands after a truncate (3 runs of 3 failed so). The
    // window (60 s) is never reached, so only the bound is tested: with 200 ms, a writer stalled
    // between its truncate and its write (a loaded machine) left the empty file still for the window,
    // rightly taken.
    const MAX_MS = 300;
    let torn = 0;
    for (let round = 0; round < 10; round++) {
      const { store, file, edit } = await storeWith({ ms: 60_000, maxMs: MAX_MS });
      const texts = await Promise.all(['gold', 'range'].map(edit));
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          const handle = await open(file, 'r+');
          await handle.truncate(0);
          await new Promise((r) => setTimeout(r, 5));
          await handle.write(texts[i % 2] as string, 0);
          await handle.close();
          await new Promise((r) => setTimeout(r, 16));
        }
      })();
      await store.refresh();
      writing = false;
      await writer;
      if (store.problem() !== null) torn++;
      await store.close();
    }
    expect(torn).toBe(0);
  });
  it('a change through the API while vim writes the file (renamed away, then created anew) waits for the new file and builds upon it', async () => {
    const SETTLE_MS = 2000;
    const { store, file, edit } = await storeWith({ ms: SETTLE_MS, maxMs: 3 * SETTLE_MS });
    const edited = (await edit('gold')).replace('scan_interval_seconds: 30', 'scan_interval_seconds: 45');
    expect(edited).toContain('scan_interval_seconds: 45');
    // vim: the file renamed to its backup; the change comes while there is no config.yaml.
    await rename(file, `${file}~`);
    let done = false;
    const committed = store.commit(activateStrategy('range', { actor: 'test' })).finally(() => {
      done = true;
    });
    // Given time to write a file of its own in the gap (it did, at once), well within the window.
    for (let i = 0; i < 30 && !done; i++) await new Promise((r) => setTimeout(r, 10));
    const handle = await open(file, 'w');
    const half = Math.floor(edited.length / 2);
    await handle.write(edited.slice(0, half), 0);
    await new Promise((r) => setTimeout(r, 30));
    await handle.write(edited.slice(half), half);
    await handle.close();
    await unlink(`${file}~`);
    const result = await committed;
    // The new file (version 2: gold, 45 s) first, then the change built upon it (version 3: range, still 45 s).
    expect(result.current.config.version).toBe(3);
    expect(store.state().config.config).toMatchObject({ activeStrategyKey: 'range', scanIntervalSeconds: 45, version: 3 });
    const audit = await store.audit({ last: 10, subject: 'CONFIG' });
    expect(audit.map((e) => [e.version, e.operation, e.config.activeStrategyKey])).toEqual([
      [3, 'activateStrategy', 'range'],
      [2, 'handEdit', 'gold'],
      [1, 'baseline', 'momentum'],
    ]);
    const text = await readFile(file, 'utf8');
    expect(text).toContain('scan_interval_seconds: 45');
    expect(text).toContain('active_strategy_key: range');
    await store.close();
  });

  it('a file removed is taken as missing once it has stayed missing for the window; after that, nothing waits for it again', async () => {
    const SETTLE_MS = 1000;
    const { store, file } = await storeWith({ ms: SETTLE_MS, maxMs: 3 * SETTLE_MS });
    await unlink(file);
    let t0 = Date.now();
    await store.refresh();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(SETTLE_MS - 50);
    expect(store.problem()?.message).toContain('the file is missing; the next change through the API writes it again');
    // Taken: a change through the API writes it again without waiting.
    t0 = Date.now();
    const result = await store.commit(activateStrategy('gold', { actor: 'test' }));
    expect(Date.now() - t0).toBeLessThan(SETTLE_MS);
    expect(result.current.config.version).toBe(2);
    expect(store.problem()).toBeNull();
    expect(await readFile(file, 'utf8')).toContain('active_strategy_key: gold');

    // Removed a while ago (nothing in the directory changed since): taken at once.
    await unlink(file);
    await new Promise((r) => setTimeout(r, SETTLE_MS + 100));
    t0 = Date.now();
    await store.refresh();
    expect(Date.now() - t0).toBeLessThan(SETTLE_MS);
    expect(store.problem()?.message).toContain('the file is missing');
    await store.close();
  });
});
