import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { distBuildOptions, gitCommit } from '../../scripts/build-dist.js';
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
});
