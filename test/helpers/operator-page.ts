import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { type BuiltPage, buildPage } from '../../scripts/build-page.js';

let built: Promise<BuiltPage> | null = null;

/**
 * The operator page, built once per test file by the same script `npm ci` runs (into a temp dir,
 * so a test never depends on, or disturbs, dist/). Removed after the file's tests.
 */
export function builtPage(): Promise<BuiltPage> {
  built ??= mkdtemp(path.join(tmpdir(), 'scp-page-')).then((dir) => buildPage(dir));
  return built;
}

afterAll(async () => {
  if (built) await rm((await built).outDir, { recursive: true, force: true });
  built = null;
});
