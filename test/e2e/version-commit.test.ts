import { execFileSync, spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCommit, distBuildOptions, gitCommit } from '../../scripts/build-dist.js';
import { PACKAGE_VERSION } from '../../src/version.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { ROOT, spawnProcess } from '../helpers/server.js';

/** HEAD of this checkout, or null when the tests run outside one (a tarball). */
function head(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

// Inside the package (the bundle finds package.json above itself), apart from dist/.
const outdir = path.join(ROOT, `.dist-version-test-${process.pid}`);
afterAll(() => rm(outdir, { recursive: true, force: true }));

describe('the commit a build was made from', () => {
  it('is decided at build time from this checkout; null outside one, or inside a repository that is not the package', async (ctx) => {
    const commit = head();
    if (commit === null) ctx.skip();
    expect(gitCommit(ROOT)).toBe(commit);
    const plain = await mkdtemp(path.join(tmpdir(), 'scp-no-git-'));
    try {
      expect(gitCommit(plain)).toBeNull();
    } finally {
      await rm(plain, { recursive: true, force: true });
    }
    // A folder of a checkout is not a checkout of its own (an npm install inside another project's repository).
    expect(gitCommit(path.join(ROOT, 'src'))).toBeNull();
  });

  it('GET /version of a built server says it beside the three fields, without running git', async () => {
    const commit = 'c0ffee0000000000000000000000000000000001';
    await build(distBuildOptions(outdir, commit));
    const runtimeDir = await tempRuntimeDir();
    // No git on the PATH: the answer comes from the bundle, never from running git per request.
    const server = spawnProcess(
      process.execPath,
      [path.join(outdir, 'cli.js'), 'serve', '--port', '0', '--runtime-dir', runtimeDir, '--log-format', 'json'],
      {
        env: { ...process.env, PATH: path.dirname(process.execPath) === '/usr/bin' ? '/nonexistent' : path.dirname(process.execPath) },
      },
    );
    const [, url] = await server.waitFor(/"url":"([^"]+)"/, 20_000);
    const version = await (await fetch(new URL('/version', url))).json();
    expect(version).toEqual({ version: PACKAGE_VERSION, node: process.version, store: 'file', commit });
  }, 60_000);

  it('outside a checkout (the image build: no .git), BUILD_COMMIT names it; the build step (scripts/build-dist.ts) in such a copy serves it at /version', async () => {
    const given = 'ABCDEF0123456789abcdef0123456789abcdef01';
    // What the image's build stage has: the package files, scripts/ and src/, no .git.
    const copy = await mkdtemp(path.join(tmpdir(), 'scp-image-build-'));
    try {
      for (const name of ['package.json', 'tsconfig.json', 'scripts', 'src'])
        await cp(path.join(ROOT, name), path.join(copy, name), { recursive: true });
      await symlink(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
      expect(gitCommit(copy)).toBeNull();
      const buildStep = (env: NodeJS.ProcessEnv) =>
        spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build-dist.ts'], {
          cwd: copy,
          env: { ...process.env, ...env },
          encoding: 'utf8',
        });

      // A value that is not a commit fails the build in one line, and leaves no dist/ behind.
      const refused = buildStep({ BUILD_COMMIT: 'main' });
      expect(refused.status).toBe(1);
      expect(refused.stderr.trim()).toBe(
        'build failed: BUILD_COMMIT must be a full commit, 40 hex digits (git rev-parse HEAD), not "main"',
      );
      expect(await readdir(copy)).not.toContain('dist');

      const built = buildStep({ BUILD_COMMIT: given });
      expect(built.stderr).toBe('');
      expect(built.status).toBe(0);
      const runtimeDir = await tempRuntimeDir();
      const server = spawnProcess(
        process.execPath,
        [path.join(copy, 'dist/cli.js'), 'serve', '--port', '0', '--runtime-dir', runtimeDir, '--log-format', 'json'],
        {
          env: { ...process.env, BUILD_COMMIT: 'f'.repeat(40) },
        },
      );
      const [, url] = await server.waitFor(/"url":"([^"]+)"/, 20_000);
      // The build's value, lower-cased; the server's own environment plays no part (not a run-time setting).
      expect(await (await fetch(new URL('/version', url))).json()).toMatchObject({ commit: given.toLowerCase() });
      await server.stop('SIGTERM');
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  }, 90_000);

  it('in a checkout git wins over BUILD_COMMIT; an empty BUILD_COMMIT (a build argument left unset) is none', async (ctx) => {
    const commit = head();
    if (commit === null) ctx.skip();
    const plain = await mkdtemp(path.join(tmpdir(), 'scp-no-git-'));
    try {
      expect(buildCommit(ROOT, { BUILD_COMMIT: 'f'.repeat(40) })).toBe(commit);
      expect(buildCommit(plain, { BUILD_COMMIT: '' })).toBeNull();
      expect(buildCommit(plain, {})).toBeNull();
      expect(() => buildCommit(plain, { BUILD_COMMIT: 'abc123' })).toThrow('BUILD_COMMIT must be a full commit');
    } finally {
      await rm(plain, { recursive: true, force: true });
    }
  });
});
