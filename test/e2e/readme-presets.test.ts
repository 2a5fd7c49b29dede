import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { ROOT, spawnServer } from '../helpers/server.js';

const run = promisify(execFile);

function shellBlocks(section: string): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`## ${section}\n`);
  expect(start).toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  return [...readme.slice(start, end === -1 ? undefined : end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n');
}

describe('README: Presets', () => {
  it('its shell examples run as written against a server with the runner', async () => {
    const dir = await tempRuntimeDir();
    const server = await spawnServer(dir);
    // Only the address, the runtime dir and how stratctl is started differ from what a reader types.
    const script = shellBlocks('Presets')
      .replaceAll('http://127.0.0.1:8787', new URL(server.url).origin)
      .replaceAll('runtime/', `${dir}/`)
      .replaceAll('npx stratctl', `${process.execPath} bin/stratctl.js`);
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: ROOT,
      timeout: 60_000,
      env: { ...process.env, CONTROL_PLANE_URL: server.url, CONTROL_PLANE_RUNTIME_DIR: dir, CONTROL_PLANE_TOKEN: '' },
    });
    expect(stdout).toContain(
      '"upsertPreset":{"changed":true,"presetsVersion":1,"strategy":{"key":"gold_fast","source":"PRESET","base":"gold"',
    );
    expect(stdout).toContain(
      '{"data":{"strategies":[{"key":"gold","source":"STATIC","base":null},{"key":"momentum_v2","source":"STATIC","base":null},{"key":"gold_fast","source":"PRESET","base":"gold"}],"status":{"presetsVersion":1}}}',
    );
    expect(stdout).toContain('{"activeStrategyKey":"gold_fast","runnerWait":{"applied":true}}');
    expect(stdout).toMatch(/Invalid preset: tunables\.fast_ma_period: must be an integer in \[2, 200\], got 1000.*\nHTTP 400/);
    expect(stdout).toContain('added preset range_wide (range_wide.base, range_wide.name, range_wide.tunables); presets version 2');
    expect(stdout).toContain('changed preset range_wide (range_wide.risk_level, range_wide.tunables); presets version 3');
    expect(stdout).toMatch(/^\*\s+gold_fast\s+gold\s+Gold Trend \(fast\)\s+XAU_USD\s+fast_ma_period=8,slow_ma_period=21$/m);
    expect(stdout).toContain('{"data":{"reloadStrategies":{"presetsVersion":4,"strategiesError":null}}}');
    expect(stdout).toContain('deleted preset range_wide (Range (wide)); presets version 5');
    expect(stdout).toMatch(/Refused: the config in force uses .*gold_fast.*\nHTTP 400/);
  }, 90_000);
});
