// `npm run build` (and `prepare`, so `npm ci` builds): bundles the server and stratctl (src/cli.ts)
// into dist/cli.js with esbuild, with source maps. One file loads in a fraction of the time of the
// ~300 modules tsc emitted plus the node_modules they import (cold start: module loading was most of
// it). What is imported lazily stays lazy (chunks loaded on first use: each stratctl command, the
// etcd store, GraphiQL). Type checking is `npm run typecheck` (tsc --noEmit).
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));
const outdir = path.join(root, 'dist');

/** Builds dist/ (the page, dist/page, is build-page.ts's and left alone). Returns the files written. */
export async function buildDist(): Promise<string[]> {
  for (const stale of ['chunks', 'cli.js', 'cli.js.map', 'file-io-worker.js', 'file-io-worker.js.map']) {
    await rm(path.join(outdir, stale), { recursive: true, force: true });
  }
  const result = await build({
    absWorkingDir: root,
    entryPoints: {
      cli: 'src/cli.ts',
      // The file store's I/O thread: file-io.ts starts it from beside its own (bundled) code.
      'file-io-worker': 'src/config/file-io-worker.ts',
    },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Beside the entries (not in a subfolder): file-io.ts finds the worker next to its own code.
    chunkNames: 'chunk-[hash]',
    sourcemap: true,
    // Class and function names stay (error names in logs, Pothos and yoga use them).
    keepNames: true,
    // graphql ships CJS and ESM side by side; every importer must get the same one (one realm).
    mainFields: ['main', 'module'],
    // Loaded only when asked for, with files of their own read at run time: etcd's gRPC client
    // (its .proto files) and GraphiQL's bundle. Both stay in node_modules.
    external: ['etcd3', '@graphql-yoga/render-graphiql'],
    // CommonJS packages bundled into ESM still call require() for node's own modules.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  });
  const files = Object.keys(result.metafile.outputs);
  // The mark test/global-setup.ts compares source times against.
  await writeFile(path.join(outdir, '.build-stamp'), `${new Date().toISOString()}\n`);
  return files;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const files = await buildDist();
  process.stdout.write(`dist: ${files.filter((f) => f.endsWith('.js')).length} JavaScript files (${files.join(', ')})\n`);
}
