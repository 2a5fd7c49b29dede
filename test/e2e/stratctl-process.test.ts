import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, spawnStratctl, startTestServer, TEST_TOKEN } from '../helpers/server.js';

/** Runs the built `stratctl` (bin/stratctl.js -> dist/) as a script would, to completion. */
async function run(args: string[], env: Record<string, string | undefined> = {}) {
  const child = spawnStratctl(args, env);
  const code = await child.exited;
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

// Most CLI tests run in-process (test/e2e/stratctl.test.ts); these run the built CLI as a process.
describe('the built stratctl, as a process', () => {
  it('--version: the package version, exit 0', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(await run(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('status, activate (token from <runtime-dir>/admin.token), and exit 5 when nothing listens', async () => {
    const server = await startTestServer();
    await writeFile(path.join(server.runtimeDir, 'admin.token'), `${TEST_TOKEN}\n`, { mode: 0o600 });
    const env = { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_RUNTIME_DIR: server.runtimeDir };
    const status = await run(['status'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^active strategy:\s+momentum$/m);
    const activated = await run(['activate', 'gold'], env);
    expect(activated).toMatchObject({ code: 0, stdout: 'activated gold (was momentum); config version 2\n' });
    await server.close();
    const unreachable = await run(['status'], env);
    expect(unreachable.code).toBe(5);
    expect(unreachable.stderr).toContain(`cannot reach ${server.url}`);
  });

  it('status --watch: SIGINT to the process ends it with exit 0', async () => {
    const server = await startTestServer();
    const watch = spawnStratctl(['status', '--watch', '--json'], { CONTROL_PLANE_URL: server.url });
    await watch.waitFor(/"activeStrategyKey":"momentum"/);
    expect(await watch.stop('SIGINT')).toBe(0);
  });
});
