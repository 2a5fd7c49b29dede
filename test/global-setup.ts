import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Written by scripts/build-dist.ts at the end of every build. */
const BUILD_STAMP = path.join(ROOT, 'dist/.build-stamp');

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
 * rebuild it (the esbuild bundle, a few seconds) when a source is newer than the last build, so a
 * test never runs stale code. Type errors are `npm run typecheck`'s to report.
 */
export default function buildDist(): void {
  let built = 0;
  try {
    built = statSync(BUILD_STAMP).mtimeMs;
  } catch {}
  const sources = Math.max(newestMtime(path.join(ROOT, 'src')), statSync(path.join(ROOT, 'scripts/build-dist.ts')).mtimeMs);
  if (sources <= built) return;
  execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/build-dist.ts')], { cwd: ROOT, stdio: 'inherit' });
}
