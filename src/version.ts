import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's own package.json: the first one above this module (src/, or the bundle in dist/). */
function packageJson(): { version: string } {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the version module');
    dir = parent;
  }
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string };
}

/** This package's version. */
export const PACKAGE_VERSION: string = packageJson().version;

/** Set by scripts/build-dist.ts (esbuild's define) in the bundle; absent when run from source (tsx). */
declare const __BUILD_COMMIT__: string | null | undefined;

/** The git commit dist/ was built from (decided at build time), or null: not built from a git checkout, or run from source. */
export const BUILD_COMMIT: string | null = typeof __BUILD_COMMIT__ === 'string' ? __BUILD_COMMIT__ : null;
