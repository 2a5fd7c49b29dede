import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BUILD_INFO = path.join(ROOT, 'dist/.tsbuildinfo');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * Tests that spawn the CLI run the built JavaScript (dist/), as `npm start` and `npx stratctl` do:
 * rebuild it (incrementally) when a source is newer than the last build, so a test never runs stale code.
 */
export default function buildDist(): void {
  let built = 0;
  try {
    built = statSync(BUILD_INFO).mtimeMs;
  } catch {}
  const sources = Math.max(newestMtime(path.join(ROOT, 'src')), statSync(path.join(ROOT, 'tsconfig.build.json')).mtimeMs);
  if (sources <= built) return;
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  } catch {
    // tsc still emits on type errors, which `npm run typecheck` reports; the tests run on what was emitted.
    console.warn('global-setup: tsc reported type errors (above); dist/ was emitted anyway');
  }
  const now = new Date();
  utimesSync(BUILD_INFO, now, now); // tsc leaves it alone when nothing changed
}
