import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEachTest } from './cleanup.js';

const dirs: string[] = [];

/** A fresh runtime directory, removed after the test. */
export async function tempRuntimeDir(prefix = 'scp-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

afterEachTest(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/**
 * Writes a runtime file whole, as README tells operators to (a temp file, then a rename): written in
 * place, a watcher can read it between the truncate and the write, and an empty strategies.yaml is a
 * valid set of its own (a version more than the test expected; seen in a clean-clone CI run).
 */
export async function writeWhole(file: string, text: string): Promise<void> {
  await writeFile(`${file}.edit`, text);
  await rename(`${file}.edit`, file);
}
