import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { distBuildOptions, serveBundleOptions } from '../../scripts/build-dist.js';

/**
 * The bundle is built without esbuild's keepNames (it cost every closure a defineProperty call as
 * it was created: ~19% of an activation's CPU). What keepNames kept is the `.name` of a function or
 * class the bundler renamed because two modules declare the same name (`Foo` becomes `Foo2`).
 * Class names are read (a logged error's `type` is its constructor's name), so no class of ours may
 * be renamed: this builds the bundles as `npm run build` does, in memory, and looks for each one:
 * dist/cli.js with its chunks, and dist/serve.cjs (the whole CLI in one scope, so more collisions).
 */
const bundles = new Map<string, string>();

beforeAll(async () => {
  const outdir = path.join(tmpdir(), 'scp-bundle-names');
  const [esm, serve] = await Promise.all([
    build({ ...distBuildOptions(outdir, null), write: false }),
    build({ ...serveBundleOptions(outdir, null, '0123456789abcdef'), write: false }),
  ]);
  for (const [name, result] of [
    ['dist/cli.js', esm],
    ['dist/serve.cjs', serve],
  ] as const) {
    const text = result.outputFiles
      .filter((f) => /\.c?js$/.test(f.path))
      .map((f) => f.text)
      .join('\n');
    bundles.set(name, text);
  }
}, 60_000);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'page' ? [] : sourceFiles(file);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [file] : [];
  });
}

const declaredClasses = sourceFiles('src').flatMap((file) =>
  [...readFileSync(file, 'utf8').matchAll(/^(?:export )?(?:abstract )?class (\w+)/gm)].map((m) => ({ file, name: m[1]! })),
);

/**
 * Classes of ours whose name a library also declares, where the bundler renamed the library's copy
 * (checked below: ours keeps its name) and that class sets its `name` itself.
 */
const SHARED_WITH_A_LIBRARY: Record<string, string> = {
  ForbiddenError: "@pothos/plugin-scope-auth's, which sets this.name = 'ForbiddenError' in its constructor",
};

describe('the bundle keeps the name of every class of ours', () => {
  it('finds the classes (the check has something to check)', () => {
    expect(declaredClasses.map((c) => c.name)).toEqual(expect.arrayContaining(['ConfigWriteError', 'VersionConflictError', 'FileStore']));
  });

  it.each(['dist/cli.js', 'dist/serve.cjs'].flatMap((bundle) => declaredClasses.map((c) => [bundle, c.name, c.file] as const)))(
    '%s: class %s (%s) keeps its name',
    (bundleName, name) => {
      const bundle = bundles.get(bundleName) as string;
      // dist/serve.cjs lacks what only the entry uses (src/heap-tuning.ts' IdleCollection: the entry tunes the heap before it loads it).
      if (bundleName === 'dist/serve.cjs' && !new RegExp(`\\b${name}\\d*=class\\b|\\bclass ${name}\\d*[\\s{]`).test(bundle))
        return expect(['IdleCollection']).toContain(name);
      // `class Foo {` or, as esbuild's syntax minifier writes it, `var Foo=class` (named by its binding).
      expect(bundle).toMatch(new RegExp(`\\bclass ${name}[\\s{]|[\\s,;]${name}=class\\b`));
      const renamed = new RegExp(`\\bclass ${name}\\d+[\\s{]|[\\s,;]${name}\\d+=class\\b`);
      if (name in SHARED_WITH_A_LIBRARY) expect(bundle).toMatch(renamed);
      else expect(bundle).not.toMatch(renamed);
    },
  );
});
