import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODE_CACHE_RUN, writeServeCodeCache } from '../../scripts/build-dist.js';
import { bundleBuildId, type CodeCacheMeta, cacheMismatch, codeCacheDigest, SERVE_BUNDLE, SERVE_NODE_FLAGS } from '../../src/code-cache.js';
import { codeCacheLogFields } from '../../src/code-cache-state.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { LISTENING, ROOT, spawnProcess } from '../helpers/server.js';
import { cliEnv } from '../helpers/stratctl.js';

/**
 * `serve` from V8's code cache (src/code-cache.ts): dist/serve.cjs and the cache the build's run
 * made, used only when they fit; otherwise the ES modules, as before. What a start did is read by a
 * preload (NODE_OPTIONS, which V8's flags and process.execArgv do not include) at the exit.
 */
const REPORT = `process.on('exit', () => process.stderr.write('code cache: ' + String(globalThis[Symbol.for('strategy-control-plane.code-cache')]?.state ?? 'never looked at') + '\\n'));\n`;
const QUERY = '{ strategies { key name instruments riskLevel } status { activeStrategyKey configVersion } }';

let work: string;
let report: string;
beforeAll(async () => {
  // Inside the package (the bundle finds package.json and node_modules above itself), apart from dist/.
  work = await mkdtemp(path.join(ROOT, '.code-cache-test-'));
  report = path.join(work, 'report.cjs');
  await writeFile(report, REPORT);
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** A copy of dist/ to spoil, inside the package. */
async function distCopy(name: string): Promise<string> {
  const dir = path.join(work, name, 'dist');
  await cp(path.join(ROOT, 'dist'), dir, { recursive: true });
  return dir;
}

/** Starts `node <flags> <dist>/cli.js serve`, asks /health and a GraphQL read, stops it; what it answered and how it started. */
async function startOnce(dist: string, flags: readonly string[], nodeOptions = '') {
  const server = spawnProcess(
    process.execPath,
    [...flags, path.join(dist, 'cli.js'), 'serve', '--port', '0', '--runtime-dir', await tempRuntimeDir(), '--log-format', 'json'],
    { env: cliEnv({ NODE_OPTIONS: `--require ${report} ${nodeOptions}`.trim() }) },
  );
  const [, url] = await server.waitFor(LISTENING);
  const health = (await fetch(new URL('/health', url))).status;
  const read = await (
    await fetch(url as string, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: QUERY }) })
  ).json();
  expect(await server.stop('SIGTERM')).toBe(0);
  await server.closed;
  const stderr = server.stderr();
  // What the start told its operator: the summary line after "listening", with the cache's fields.
  const summary = stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg: string; codeCache?: string; codeCacheReason?: string })
    .find((entry) => entry.msg.startsWith('active strategy '));
  return {
    health,
    read,
    codeCache: /^code cache: (.+)$/m.exec(stderr)?.[1] ?? `no report in: ${stderr.slice(-400)}`,
    logged: summary
      ? { codeCache: summary.codeCache, reason: summary.codeCacheReason, msg: summary.msg }
      : `no summary in: ${stderr.slice(-400)}`,
  };
}

describe('serve from the code cache', () => {
  it('the build made one for the production flags, tied to its bundle', async () => {
    const dist = path.join(ROOT, 'dist');
    const source = await readFile(path.join(dist, SERVE_BUNDLE), 'utf8');
    const meta = JSON.parse(await readFile(path.join(dist, `${SERVE_BUNDLE}.cache.json`), 'utf8')) as CodeCacheMeta;
    const cache = await readFile(path.join(dist, `${SERVE_BUNDLE}.cache`));
    expect(meta).toEqual({
      build: bundleBuildId(source),
      node: process.version,
      execArgv: [...SERVE_NODE_FLAGS],
      sha256: codeCacheDigest(Buffer.from(source, 'utf8'), cache),
    });
    expect(cache.length).toBeGreaterThan(100_000);
  });

  it("the build's run answers every request it asks (reads, activations) before it writes the cache", async () => {
    // Until its port was read from stderr, where the server announces it, the run waited 30 s for
    // it on stdout, asked nothing, and cached the start alone: the first activation compiled the write path.
    expect(CODE_CACHE_RUN.filter((step) => JSON.stringify(step.body ?? '').includes('activateStrategy')).length).toBeGreaterThan(0);
    const dist = await distCopy('run');
    expect(await writeServeCodeCache(dist)).toEqual({ notCached: null, notExercised: null });
  }, 60_000);

  it('is used by a start with the production flags, and not by one with other flags: both answer alike', async () => {
    const dist = path.join(ROOT, 'dist');
    const cached = await startOnce(dist, SERVE_NODE_FLAGS);
    const plain = await startOnce(dist, []);
    expect(cached.codeCache).toBe('used');
    expect(plain.codeCache).toBe('not used');
    // The operator is told, in the start's summary line.
    expect(cached.logged).toEqual({ codeCache: 'used', reason: undefined, msg: expect.stringMatching(/; started from V8's code cache$/) });
    expect(plain.logged).toEqual({
      codeCache: 'not used',
      reason: 'the code cache was made with npm start\'s node flags, "--single-threaded-gc"; this start has none',
      msg: expect.stringMatching(/; V8's code cache not used: the code cache was made with npm start's node flags/),
    });
    expect(cached.health).toBe(200);
    expect(plain.health).toBe(200);
    expect(cached.read).toEqual(plain.read);
    expect(cached.read).toMatchObject({ data: { status: { activeStrategyKey: expect.any(String) } } });
  }, 60_000);

  it('a cache of another build, a spoiled one, a spoiled bundle or none is not used, nor by a start that asks for source maps; one V8 refuses (other V8 flags) is compiled anew: all answer alike', async () => {
    const other = await distCopy('other-build');
    const metaFile = path.join(other, `${SERVE_BUNDLE}.cache.json`);
    const meta = JSON.parse(await readFile(metaFile, 'utf8')) as CodeCacheMeta;
    await writeFile(metaFile, JSON.stringify({ ...meta, build: 'f'.repeat(16) }));
    const missing = await distCopy('no-cache');
    await rm(path.join(missing, `${SERVE_BUNDLE}.cache`));
    /** A byte of `file` in `dist` changed: V8 crashed in its deserializer on a cache so spoiled (it checks no checksum). */
    const spoil = async (dist: string, file: string, at: number) => {
      const bytes = await readFile(path.join(dist, file));
      bytes[at] = (bytes[at] as number) ^ 0x01;
      await writeFile(path.join(dist, file), bytes);
      return dist;
    };
    const spoiledCache = await spoil(await distCopy('spoiled-cache'), `${SERVE_BUNDLE}.cache`, 4096);
    // Inside a string of the bundle, same length: V8 compares only lengths.
    const bundleText = await readFile(path.join(ROOT, 'dist', SERVE_BUNDLE), 'utf8');
    const spoiledBundle = await spoil(await distCopy('spoiled-bundle'), SERVE_BUNDLE, bundleText.indexOf('listening on'));

    const reference = await startOnce(path.join(ROOT, 'dist'), []);
    const results = {
      other: await startOnce(other, SERVE_NODE_FLAGS),
      missing: await startOnce(missing, SERVE_NODE_FLAGS),
      spoiledCache: await startOnce(spoiledCache, SERVE_NODE_FLAGS),
      spoiledBundle: await startOnce(spoiledBundle, SERVE_NODE_FLAGS),
      // A V8 flag from NODE_OPTIONS: not in process.execArgv, but in the flags V8 checks the cache against.
      otherV8Flags: await startOnce(path.join(ROOT, 'dist'), SERVE_NODE_FLAGS, '--stack-trace-limit=20'),
      // Source maps asked for (README): node maps the ES modules' stacks to src/, not a vm.Script's.
      sourceMaps: await startOnce(path.join(ROOT, 'dist'), SERVE_NODE_FLAGS, '--enable-source-maps'),
    };
    expect(Object.fromEntries(Object.entries(results).map(([k, r]) => [k, [r.codeCache, r.health]]))).toEqual({
      other: ['not used', 200],
      missing: ['not used', 200],
      spoiledCache: ['not used', 200],
      spoiledBundle: ['not used', 200],
      otherV8Flags: ['rejected by V8', 200],
      sourceMaps: ['not used', 200],
    });
    for (const r of Object.values(results)) expect(r.read).toEqual(reference.read);
    // Each told in the start's summary line, with why: what an operator needs to get the faster start back.
    expect(
      Object.fromEntries(Object.entries(results).map(([k, r]) => [k, typeof r.logged === 'string' ? r.logged : r.logged.reason])),
    ).toEqual({
      other: "the code cache is another build's (npm run build makes this build's)",
      missing: `${SERVE_BUNDLE} or its code cache could not be read (ENOENT)`,
      spoiledCache: `${SERVE_BUNDLE} or its code cache is not what the build wrote (SHA-256 differs): npm run build makes them anew`,
      spoiledBundle: `${SERVE_BUNDLE} or its code cache is not what the build wrote (SHA-256 differs): npm run build makes them anew`,
      otherV8Flags: 'V8 checks its own flags against the cache: a V8 flag in NODE_OPTIONS? It compiled the code itself',
      sourceMaps: "source maps asked for (--enable-source-maps): node maps only the ES modules' stacks",
    });
  }, 120_000);
});

describe('whether a cache fits', () => {
  const meta: CodeCacheMeta = { build: '0123456789abcdef', node: 'v20.20.2', execArgv: ['--single-threaded-gc'], sha256: '0'.repeat(64) };
  it('needs the same build, node and flags, in order, and says which differs', () => {
    expect(cacheMismatch(meta, '0123456789abcdef', 'v20.20.2', ['--single-threaded-gc'])).toBeNull();
    expect(cacheMismatch(meta, 'fedcba9876543210', 'v20.20.2', ['--single-threaded-gc'])).toBe(
      "the code cache is another build's (npm run build makes this build's)",
    );
    expect(cacheMismatch(meta, '0123456789abcdef', 'v20.20.3', ['--single-threaded-gc'])).toBe(
      'the code cache was made by node v20.20.2, this is node v20.20.3 (npm run build makes one for it)',
    );
    expect(cacheMismatch(meta, '0123456789abcdef', 'v20.20.2', [])).toMatch(/node flags, "--single-threaded-gc"; this start has none$/);
    expect(cacheMismatch(meta, '0123456789abcdef', 'v20.20.2', ['--single-threaded-gc', '--max-old-space-size=64'])).toMatch(
      /; this start has "--single-threaded-gc --max-old-space-size=64"$/,
    );
    expect(cacheMismatch(meta, '0123456789abcdef', 'v20.20.2', ['--max-old-space-size=64'])).toMatch(
      /; this start has "--max-old-space-size=64"$/,
    );
  });
  it('is told in the start log only when it was looked at', () => {
    expect(codeCacheLogFields(undefined)).toEqual({ fields: {}, text: '' });
    expect(codeCacheLogFields({ state: 'writing' })).toEqual({ fields: {}, text: '' });
    expect(codeCacheLogFields({ state: 'used' })).toEqual({ fields: { codeCache: 'used' }, text: "; started from V8's code cache" });
    expect(codeCacheLogFields({ state: 'not used', reason: 'why' })).toEqual({
      fields: { codeCache: 'not used', codeCacheReason: 'why' },
      text: "; V8's code cache not used: why",
    });
  });
  it('reads the build id from the first line only', () => {
    expect(bundleBuildId('// build 0123456789abcdef\n"use strict";')).toBe('0123456789abcdef');
    expect(bundleBuildId('"use strict";\n// build 0123456789abcdef\n')).toBeNull();
    expect(bundleBuildId('// build xyz\n')).toBeNull();
  });
});
