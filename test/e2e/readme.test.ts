import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { ROOT, spawnServer } from '../helpers/server.js';

const run = promisify(execFile);

/** The shell blocks of a README section, as written. */
function shellBlocks(section: string): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`## ${section}\n`);
  const end = readme.indexOf('\n## ', start + 1);
  const text = readme.slice(start, end === -1 ? undefined : end);
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

/**
 * Runs a README section's shell blocks as written against a fresh server: only the address and
 * the runtime dir differ from what a reader types. Resolves to their stdout.
 */
async function runSection(section: string, serverArgs: string[]): Promise<string> {
  const blocks = shellBlocks(section);
  expect(blocks.length, `shell blocks in "## ${section}"`).toBeGreaterThan(0);
  const dir = await tempRuntimeDir();
  const server = await spawnServer(dir, serverArgs);
  const script = blocks
    .join('\n')
    .replaceAll('http://127.0.0.1:8787', new URL(server.url).origin)
    .replaceAll('runtime/admin.token', path.join(dir, 'admin.token'));
  const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { cwd: ROOT, timeout: 20_000 });
  return stdout;
}

describe('README', () => {
  it('its curl examples run as written against a running server', async () => {
    const stdout = await runSection('Examples', ['--no-runner']);
    expect(stdout).toContain('"activeStrategyKey":"gold"');
    expect(stdout).toContain('Invalid strategy key: invalid_strategy');
    expect(stdout).toContain('HTTP 400');
    expect(stdout).toContain('"fast_ma_period":10');
    expect(stdout).toContain('"status":"ok"');
  });

  it('its REST compatibility examples run as written against a running server', async () => {
    const stdout = await runSection("REST compatibility (the predecessor's endpoints)", ['--no-runner']);
    expect(stdout).toContain('"risk_level":"high"');
    expect(stdout).toContain('"previous_strategy_key":"momentum"');
    expect(stdout).toContain('"scan_interval_seconds":20');
    expect(stdout).toContain('{"detail":"Invalid strategy key: invalid_strategy"}\nHTTP 400');
  });

  it('its probe and HTTP examples run as written against a running server', async () => {
    const stdout = await runSection('Probes and HTTP behaviour', ['--no-runner']);
    expect(stdout).toContain('"status":"ok"');
    expect(stdout).toContain('{"ready":true,"configVersion":1,"reasons":[]}\nHTTP 200');
    expect(stdout).toMatch(/\{"version":"[^"]+","node":"v\d+\.\d+\.\d+","store":"file","commit":(null|"[0-9a-f]{40}")\}/);
    expect(stdout).toMatch(/x-request-id: deploy-42\r?$/im);
    expect(stdout).toContain('"extensions":{"code":"MISDIRECTED_REQUEST"}}]}\nHTTP 421');
    expect(stdout).toContain('{"data":{"status":{"configVersion":1}}}');
  });

  it('its stratctl examples run as written against a running server', async () => {
    const dir = await tempRuntimeDir();
    const server = await spawnServer(dir); // with the runner, as `npm start`: the --wait example needs it
    // `npx stratctl` is this package's bin, bin/stratctl.js; calling it directly skips npm's start-up.
    const script = shellBlocks('stratctl').join('\n').replaceAll('npx stratctl', 'node bin/stratctl.js');
    // A reader's defaults (127.0.0.1:8787, ./runtime) point at the test server through the environment.
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: ROOT,
      timeout: 170_000,
      env: { ...process.env, CONTROL_PLANE_URL: server.url, CONTROL_PLANE_RUNTIME_DIR: dir, CONTROL_PLANE_TOKEN: '' },
    });
    expect(stdout).toContain('activated gold (was momentum)');
    expect(stdout).toMatch(/^lookback_bars\s+20\s+20$/m);
    expect(stdout).toContain('changed scan_interval_seconds, tunable_overrides');
    expect(stdout).toContain('activated range (was gold)');
    expect(stdout).toMatch(/the runner applied it \(\d+ ms\)/);
    expect(stdout).toContain('"activeStrategyKey": "range"');
    expect(stdout).toMatch(/^VERSION\s+TIME\s+ACTOR\s+OPERATION\s+STRATEGY\s+CHANGES\n5\s/m);
    expect(stdout).toMatch(/^TIME\s+SUBJECT\s+VERSION\s+ACTOR\s+OPERATION\s+CHANGES$/m);
    expect(stdout).toContain("rolled back to version 2's settings: config version 6");
    expect(stdout).toContain('{"error":{"code":"BAD_USER_INPUT","message":"Invalid strategy key: nope"}}\nexit 2');
  }, 180_000);

  it('its Errors examples run as written: the status a typo gets depends on Accept', async () => {
    const stdout = await runSection('Errors', ['--no-runner']);
    expect(stdout).toBe('HTTP 200\nHTTP 400\n');
  });

  it('its metrics examples run as written against a running server', async () => {
    const stdout = await runSection('Metrics', []);
    expect(stdout).toMatch(/^control_plane_config_version 1$/m);
    expect(stdout).toMatch(/^graphql_envelop_phase_execute_count\{operationType="query"\} 1$/m);
  });

  it('its Runner examples run as written against a server with the embedded runner', async () => {
    const stdout = await runSection('Runner', []);
    expect(stdout).toContain('"runner":{"state":"RUNNING","inSync":true,"appliedConfigVersion":1,"appliedStrategyKey":"momentum"');
    expect(stdout).toContain('"runnerWait":{"applied":true,"timedOut":false');
  });
});
