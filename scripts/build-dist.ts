// `npm run build` (and `prepare`, so `npm ci` builds): bundles the server and stratctl (src/cli.ts)
// into dist/cli.js with esbuild, with source maps. One file loads in a fraction of the time of the
// ~300 modules tsc emitted plus the node_modules they import (cold start: module loading was most of
// it). What is imported lazily stays lazy (chunks loaded on first use: each stratctl command, the
// etcd store, GraphiQL). Type checking is `npm run typecheck` (tsc --noEmit).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Plugin } from 'esbuild';
import { CODE_CACHE_WRITE_ENV, SERVE_BUNDLE, SERVE_NODE_FLAGS } from '../src/code-cache.js';
import { JIT_AFTER_EXECUTIONS } from '../src/graphql/jit.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const outdir = path.join(root, 'dist');

/**
 * The git commit `dir` is checked out at (40 hex digits), or null when it is not the top of a git
 * checkout (a tarball, an npm install inside another project's repository) or git is missing.
 * Decided once, at build time: `/version` never runs git. A dist built from uncommitted changes
 * still says the commit they were made on.
 */
export function gitCommit(dir: string = root): string | null {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim();
  try {
    // Only this package's own checkout: not a repository it happens to sit inside.
    if (realpathSync(git('rev-parse', '--show-toplevel')) !== realpathSync(dir)) return null;
    const commit = git('rev-parse', 'HEAD');
    return /^[0-9a-f]{40}$/.test(commit) ? commit : null;
  } catch {
    return null;
  }
}

/**
 * The commit the build names (`/version`'s `commit`): this checkout's, else `BUILD_COMMIT` from the
 * environment, which the image build passes on (`docker build --build-arg BUILD_COMMIT=$(git rev-parse
 * HEAD) .`: the build context has no .git). Read here only, at build time: never a setting of the
 * server. Empty or unset: null. Anything but a full commit (40 hex digits) fails the build, so an
 * image never says a commit that is not one; in a checkout, git wins (a stale variable cannot lie).
 */
export function buildCommit(dir: string = root, env: NodeJS.ProcessEnv = process.env): string | null {
  const given = env.BUILD_COMMIT?.trim() ?? '';
  if (given !== '' && !/^[0-9a-fA-F]{40}$/.test(given)) {
    throw new Error(`BUILD_COMMIT must be a full commit, 40 hex digits (git rev-parse HEAD), not ${JSON.stringify(given.slice(0, 60))}`);
  }
  const checkout = gitCommit(dir);
  if (checkout !== null && given !== '' && given.toLowerCase() !== checkout) {
    process.stderr.write(`BUILD_COMMIT ${given} ignored: this is a git checkout at ${checkout}, which the build names\n`);
  }
  return checkout ?? (given === '' ? null : given.toLowerCase());
}

// Where this project's graphql is installed (one copy: npm ls graphql).
const graphqlDir = path.dirname(createRequire(import.meta.url).resolve('graphql/package.json'));

/**
 * graphql as its ES modules (`*.mjs`, shipped beside the CommonJS ones) for every importer: the
 * package (`graphql`) and its deep paths (`graphql/execution/values`, `graphql/language/printer.js`)
 * alike, from ES modules and from CommonJS packages' require() (graphql-jit's). One copy of each
 * module, so one realm (graphql checks its classes by instanceof). By its CommonJS build, every
 * module of graphql's ~400 exports was bundled and run at start (its index requires them all), and
 * each of the ~50 ES modules importing it made its own namespace copy of them (esbuild's __toESM: a
 * getter per export, ~20,000 at each start); as ES modules, each is bound directly. (All of the
 * index is still kept: graphql-jit's require('graphql') takes it whole.)
 */
const graphqlAsEsm: Plugin = {
  name: 'graphql-as-esm',
  setup(plugin) {
    plugin.onResolve({ filter: /^graphql(\/.*)?$/ }, (args) => {
      const sub = args.path
        .slice('graphql'.length)
        .replace(/^\//, '')
        .replace(/\.(m?js)$/, '');
      const file = path.join(graphqlDir, `${sub || 'index'}.mjs`);
      if (existsSync(file)) return { path: file };
      const index = path.join(graphqlDir, sub, 'index.mjs');
      if (existsSync(index)) return { path: index };
      return { errors: [{ text: `graphql has no ES module for "${args.path}" (looked for ${file} and ${index})` }] };
    });
  },
};

/** The bundle's options (a test builds it in memory with them, to see what each command loads). */
export function distBuildOptions(outdir: string, commit: string | null = buildCommit()) {
  return {
    absWorkingDir: root,
    // The commit `/version` reports (src/version.ts BUILD_COMMIT): fixed in the bundle; null outside a checkout without BUILD_COMMIT.
    define: { __BUILD_COMMIT__: JSON.stringify(commit) },
    entryPoints: {
      cli: 'src/cli.ts',
      // The file store's I/O thread: file-io.ts starts it from beside its own (bundled) code.
      'file-io-worker': 'src/config/file-io-worker.ts',
      // The YAML parse thread (src/yaml/off-thread.ts starts it the same way).
      'yaml-worker': 'src/yaml/worker.ts',
    },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Beside the entries (not in a subfolder): file-io.ts and off-thread.ts find their workers next to their own code.
    chunkNames: 'chunk-[hash]',
    sourcemap: true,
    // Whitespace and syntax only: V8 keeps every module's source in memory (for lazy compilation),
    // so a smaller bundle is a smaller heap; identifiers stay as written (logs, stacks, Pothos and
    // yoga read them). No keepNames: it wraps every named function, closures included, in a
    // defineProperty call made each time one is created (yoga's and envelop's per-request closures,
    // graphql-js's per-field ones). Without it an activation costs ~19% less CPU (A/B, this stop).
    // What it kept, `.name` of a function the bundler renamed on a collision (`digestOf2`), nothing
    // reads: no class of this project's or a library's whose name is read is renamed (build-dist test).
    minifyWhitespace: true,
    minifySyntax: true,
    // A package that ships CJS and ESM side by side is bundled as one of them, its CJS, whether it
    // is imported or required: one copy (one realm). graphql is the exception, its ESM for all
    // (graphqlAsEsm).
    mainFields: ['main', 'module'],
    // Loaded only when asked for, with files of their own read at run time: etcd's gRPC client
    // (its .proto files) and GraphiQL's bundle. Both stay in node_modules.
    external: ['etcd3', '@graphql-yoga/render-graphiql'],
    // CommonJS packages bundled into ESM still call require() for node's own modules.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    plugins: [graphqlAsEsm],
  } satisfies BuildOptions;
}

/**
 * dist/serve.cjs: the whole CLI (src/serve-bundle.ts) as one CommonJS file, with the same options
 * otherwise, for `serve` to start from V8's code cache (src/code-cache.ts: Node 20 caches no ES
 * module's compilation). Its first line names the build (`// build <id>`), which the cache is tied to.
 */
export function serveBundleOptions(outdir: string, commit: string | null, buildId: string) {
  const dist = distBuildOptions(outdir, commit);
  return {
    ...dist,
    entryPoints: { serve: 'src/serve-bundle.ts' },
    splitting: false,
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    // import.meta.url (the workers' and package.json's places) as this file's URL.
    define: { ...dist.define, 'import.meta.url': '__import_meta_url' },
    banner: { js: `// build ${buildId}\n'use strict';\nconst __import_meta_url = require('node:url').pathToFileURL(__filename).href;` },
  } satisfies BuildOptions;
}

/** One HTTP request to the local server, as the admin: its status (0: no answer) and body. */
function ask(
  port: number,
  token: string,
  method: 'GET' | 'POST',
  pathname: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = { authorization: `Bearer ${token}`, ...(text !== undefined && { 'content-type': 'application/json' }) };
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method, path: pathname, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.setTimeout(5_000, () => req.destroy());
    req.end(text);
  });
}

/**
 * What the build's run asks of the server before it stops, so V8 has compiled the code that answers
 * them when the cache is written: the reads (each document as often as graphql-jit waits for before
 * it compiles one), and activations by GraphQL (waiting for the embedded runner) and by REST, as an
 * operator's first `stratctl activate` would (without them, the first activation of a server's life
 * compiled the write path: 29-45 ms against 16-24 ms with it cached, README). The keys alternate:
 * each one is a change.
 */
export const CODE_CACHE_RUN: readonly { method: 'GET' | 'POST'; path: string; body?: unknown }[] = [
  { method: 'GET', path: '/health' },
  ...Array.from({ length: JIT_AFTER_EXECUTIONS }, () => [
    { method: 'POST' as const, path: '/graphql', body: { query: '{ strategies { key name instruments riskLevel } }' } },
    { method: 'POST' as const, path: '/graphql', body: { query: '{ status { activeStrategyKey configVersion runner { state } } }' } },
  ]).flat(),
  ...['range', 'gold', 'range'].map((k) => ({
    method: 'POST' as const,
    path: '/graphql',
    body: {
      query:
        'mutation ($k: String!) { activateStrategy(strategyKey: $k, waitForRunner: true, timeoutMs: 5000) { configVersion runnerWait { applied } } }',
      variables: { k },
    },
  })),
  { method: 'GET', path: '/api/status' },
  { method: 'POST', path: '/api/strategy/activate', body: { strategy_key: 'gold' } },
];

/** Asks CODE_CACHE_RUN in order; the first request not answered 200 without errors, said in a line, or null. */
async function exerciseServer(port: number, token: string): Promise<string | null> {
  for (const step of CODE_CACHE_RUN) {
    const answer = await ask(port, token, step.method, step.path, step.body);
    let errors = false;
    try {
      errors = (JSON.parse(answer.body) as { errors?: unknown }).errors !== undefined;
    } catch {}
    if (answer.status !== 200 || errors) return `${step.method} ${step.path} answered ${answer.status}: ${answer.body.slice(0, 200)}`;
  }
  return null;
}

/** What the build's run made: whether a cache was written, and what kept its run from the requests that fill it. */
export interface CodeCacheRun {
  /** Why no cache was written, or null. */
  readonly notCached: string | null;
  /** Why the cache holds less than CODE_CACHE_RUN's code (only what the start compiled), or null. */
  readonly notExercised: string | null;
}

/**
 * Runs `serve` from dist/ once, as production starts it (SERVE_NODE_FLAGS), in a fresh runtime dir
 * with none of the environment's settings: its start, CODE_CACHE_RUN's requests, then a stop. At
 * its exit it writes what V8 compiled to dist/serve.cjs.cache (src/code-cache.ts). When it could
 * not, the build goes on: `serve` then starts from the ES modules, only slower.
 */
export async function writeServeCodeCache(dir: string = outdir): Promise<CodeCacheRun> {
  const runtimeDir = await mkdtemp(path.join(tmpdir(), 'scp-code-cache-'));
  try {
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('CONTROL_PLANE_')) env[name] = value;
    env[CODE_CACHE_WRITE_ENV] = '1';
    const token = randomBytes(24).toString('hex');
    env.CONTROL_PLANE_TOKEN = token;
    const args = [...SERVE_NODE_FLAGS, path.join(dir, 'cli.js'), 'serve', '--production', '--port', '0', '--runtime-dir', runtimeDir];
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    // The port it bound (--port 0), from the line it announces it with: a log line (text or JSON),
    // on stderr with the others. Read on both streams: it used to be looked for on stdout only,
    // where it never comes, and every build waited out the 30 s below and cached the start alone.
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2_000)));
    child.stdout.setEncoding('utf8');
    const port = new Promise<number | null>((resolve) => {
      // Each stream's own tail: a line split across chunks is matched whole, never spliced with the other stream's.
      for (const stream of [child.stdout, child.stderr]) {
        let tail = '';
        stream.on('data', (chunk: string) => {
          tail = (tail + chunk).slice(-4_000);
          const url = /listening on (http:\/\/[^\s"]+)/.exec(tail)?.[1];
          if (url) resolve(Number(new URL(url).port));
        });
      }
      child.on('close', () => resolve(null));
      setTimeout(() => resolve(null), 30_000).unref();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const bound = await port;
    const notExercised = bound === null ? 'it announced no port within 30 s' : await exerciseServer(bound, token);
    child.kill('SIGTERM');
    // A stop takes well under a second; one that hangs is killed (no cache: the build goes on).
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(kill);
    if (code !== 0) return { notCached: `its run exited ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`, notExercised };
    if (!existsSync(path.join(dir, `${SERVE_BUNDLE}.cache.json`))) return { notCached: 'its run wrote no cache', notExercised };
    return { notCached: null, notExercised };
  } finally {
    await rm(runtimeDir, { recursive: true, force: true });
  }
}

/** Builds dist/ (the page, dist/page, is build-page.ts's and left alone). Returns the files written. */
export async function buildDist(): Promise<string[]> {
  // First, so a refused BUILD_COMMIT leaves the previous dist/ as it was.
  const commit = buildCommit();
  const options = distBuildOptions(outdir, commit);
  // What an earlier build wrote (chunk names carry content hashes, so old ones would pile up).
  const previous = await readdir(outdir).catch(() => [] as string[]);
  for (const name of previous) {
    if (name === 'page' || name.startsWith('.')) continue;
    await rm(path.join(outdir, name), { recursive: true, force: true });
  }
  const result = await build(options);
  const serve = await build(serveBundleOptions(outdir, commit, randomBytes(8).toString('hex')));
  const files = [...Object.keys(result.metafile.outputs), ...Object.keys(serve.metafile.outputs)];
  const run = await writeServeCodeCache(outdir);
  if (run.notCached !== null) process.stderr.write(`build: serve will start without V8's code cache (slower): ${run.notCached}\n`);
  else files.push(`dist/${SERVE_BUNDLE}.cache`);
  if (run.notExercised !== null && run.notCached === null) {
    process.stderr.write(`build: V8's code cache holds the start only (first requests compile the rest): ${run.notExercised}\n`);
  }
  // The mark test/global-setup.ts compares source times against.
  await writeFile(path.join(outdir, '.build-stamp'), `${new Date().toISOString()}\n`);
  return files;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  let files: string[];
  try {
    files = await buildDist();
  } catch (err) {
    // A bad BUILD_COMMIT: one line, no stack (esbuild's own errors are already said above).
    process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  process.stdout.write(`dist: ${files.filter((f) => /\.c?js$/.test(f)).length} JavaScript files (${files.join(', ')})\n`);
}
