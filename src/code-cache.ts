import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Script } from 'node:vm';
import { type CodeCacheOutcome, setCodeCacheOutcome } from './code-cache-state.js';
import { restoreStartHeapFlags } from './heap-tuning.js';

/**
 * `serve` started from V8's code cache (issue 10: cold start). Compiling the server's code was the
 * largest part of a start (84 ms of V8 compiling in a ~490 ms start, in a CPU profile), and Node 20
 * caches the compilation of no ES module. So `npm run build` also writes the whole CLI as one
 * CommonJS file (dist/serve.cjs, the same sources and options as dist/cli.js), runs it once as
 * `serve` (scripts/build-dist.ts: a start, /health, the reads, three activations, a stop) and keeps
 * what V8 compiled meanwhile (dist/serve.cjs.cache). A start then takes the compiled code instead of
 * compiling it (~90 ms less: 424 -> 327 ms to the first /health, interleaved, on this 2-core host).
 *
 * Used only when it is this build's cache for this node with these node flags (the side file
 * dist/serve.cjs.cache.json says which); anything else (no cache: the build could not run the
 * server; another node; other flags, as many tests start it) starts from dist/cli.js' ES modules as
 * before. V8 checks the cache once more (its version, its flags, the source's length) and compiles
 * the source itself if the cache does not fit: slower, never wrong. But V8 does not check the
 * cache's bytes (a spoiled cache crashed node in the deserializer: "Fatal error ... unreachable
 * code", every start), nor the source's (it compares lengths): so the side file holds the SHA-256 of
 * both, checked before the cache is used (~4 ms for the 5 MB), and the build id in the bundle's first
 * line ties the cache to that bundle.
 *
 * Nothing is loaded from outside the package: the bundle and its cache are written by the build,
 * beside dist/cli.js, and read from there.
 */

/** Set (to 1) by the build's run only: the process writes the cache of what it compiled when it exits. */
export const CODE_CACHE_WRITE_ENV = 'STRATCTL_BUILD_CODE_CACHE';

/**
 * The node flags production starts `serve` with (npm start, the image's CMD, the systemd unit; the
 * bench's SERVER_NODE_FLAGS): the build's run makes the cache with them, so it fits those starts.
 */
export const SERVE_NODE_FLAGS: readonly string[] = ['--single-threaded-gc'];

/** The serve bundle, beside dist/cli.js. */
export const SERVE_BUNDLE = 'serve.cjs';

/** What the cache was made with: all of it must match for the cache to be used. */
export interface CodeCacheMeta {
  /** The build id in the bundle's first line (`// build <id>`). */
  readonly build: string;
  /** process.version of the run that made it. */
  readonly node: string;
  /** process.execArgv of that run (the node flags: V8 checks its own against the cache). */
  readonly execArgv: readonly string[];
  /** SHA-256 (hex) of the bundle's bytes, then the cache's. */
  readonly sha256: string;
}

/** The build id in the bundle's first line, or null. */
export function bundleBuildId(source: string): string | null {
  return /^\/\/ build ([0-9a-f]{16,64})\n/.exec(source)?.[1] ?? null;
}

/** Why a cache made with `meta` is not one for the bundle with `buildId` in this process, or null when it is. */
export function cacheMismatch(meta: CodeCacheMeta, buildId: string, node: string, execArgv: readonly string[]): string | null {
  if (meta.build !== buildId) return `the code cache is another build's (npm run build makes this build's)`;
  if (meta.node !== node) return `the code cache was made by node ${meta.node}, this is node ${node} (npm run build makes one for it)`;
  if (meta.execArgv.length !== execArgv.length || meta.execArgv.some((arg, i) => arg !== execArgv[i])) {
    const flags = (list: readonly string[]) => (list.length === 0 ? 'none' : `"${list.join(' ')}"`);
    return `the code cache was made with npm start's node flags, ${flags(meta.execArgv)}; this start has ${flags(execArgv)}`;
  }
  return null;
}

function readMeta(file: string): CodeCacheMeta | null {
  try {
    const meta = JSON.parse(readFileSync(file, 'utf8')) as Partial<CodeCacheMeta>;
    return typeof meta.build === 'string' &&
      typeof meta.node === 'string' &&
      Array.isArray(meta.execArgv) &&
      typeof meta.sha256 === 'string'
      ? { build: meta.build, node: meta.node, execArgv: meta.execArgv.map(String), sha256: meta.sha256 }
      : null;
  } catch {
    return null;
  }
}

/** SHA-256 (hex) of the bundle's bytes, then the cache's. */
export function codeCacheDigest(source: Buffer, cache: Buffer): string {
  return createHash('sha256').update(source).update(cache).digest('hex');
}

/** Written to a temp file, then renamed into place: a reader never sees half of one. */
function writeWhole(file: string, data: string | Buffer): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, data);
  renameSync(temp, file);
}

/**
 * Runs `serve` from the serve bundle in `dir` with its code cache, and returns true; false (nothing
 * done) when this is not `serve`, or there is no bundle, or no cache that fits: the caller then
 * starts from the ES modules.
 */
export function runServeFromCodeCache(dir: string, argv: readonly string[] = process.argv): boolean {
  if (argv[2] !== 'serve') return false;
  const notUsed = (reason: string) => {
    setCodeCacheOutcome({ state: 'not used', reason });
    return false;
  };
  // Source maps asked for (NODE_OPTIONS=--enable-source-maps: stacks naming src/): node maps the ES
  // modules' stacks, not a vm.Script's, so such a start takes the ES modules.
  if (process.sourceMapsEnabled) return notUsed("source maps asked for (--enable-source-maps): node maps only the ES modules' stacks");
  const file = path.join(dir, SERVE_BUNDLE);
  const writing = process.env[CODE_CACHE_WRITE_ENV] === '1';
  let bytes: Buffer;
  let source: string;
  let buildId: string | null;
  let cachedData: Buffer | undefined;
  try {
    bytes = readFileSync(file);
    source = bytes.toString('utf8');
    buildId = bundleBuildId(source);
    if (buildId === null) return notUsed(`${SERVE_BUNDLE} has no build id in its first line`);
    if (!writing) {
      const meta = readMeta(`${file}.cache.json`);
      if (meta === null) return notUsed(`no code cache beside ${SERVE_BUNDLE} (the build could not make one: see its output)`);
      const mismatch = cacheMismatch(meta, buildId, process.version, process.execArgv);
      if (mismatch !== null) return notUsed(mismatch);
      cachedData = readFileSync(`${file}.cache`);
      // Spoiled or not this build's (V8 would crash on the first, and run the wrong code for the second).
      if (codeCacheDigest(bytes, cachedData) !== meta.sha256) {
        return notUsed(`${SERVE_BUNDLE} or its code cache is not what the build wrote (SHA-256 differs): npm run build makes them anew`);
      }
    }
  } catch (err) {
    return notUsed(`${SERVE_BUNDLE} or its code cache could not be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  // As node wraps a CommonJS module (the line break keeps a last-line comment from eating the brace).
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
  const outcome: CodeCacheOutcome = writing
    ? { state: 'writing' }
    : script.cachedDataRejected
      ? {
          state: 'rejected by V8',
          reason: 'V8 checks its own flags against the cache: a V8 flag in NODE_OPTIONS? It compiled the code itself',
        }
      : { state: 'used' };
  setCodeCacheOutcome(outcome);
  if (writing) {
    const build = buildId;
    process.once('exit', () => {
      restoreStartHeapFlags();
      const cache = script.createCachedData();
      writeWhole(`${file}.cache`, cache);
      const meta: CodeCacheMeta = {
        build,
        node: process.version,
        execArgv: process.execArgv,
        sha256: codeCacheDigest(bytes, cache),
      };
      writeWhole(`${file}.cache.json`, `${JSON.stringify(meta)}\n`);
    });
  }
  const run = script.runInThisContext() as (
    exports: object,
    require: NodeJS.Require,
    module: { exports: object },
    filename: string,
    dirname: string,
  ) => void;
  const module = { exports: {} };
  run.call(module.exports, module.exports, createRequire(file), module, file, dir);
  return true;
}
