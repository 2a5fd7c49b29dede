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
  const start = readme.indexOf(`## ${section}`);
  expect(start).toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  return [...readme.slice(start, end === -1 ? undefined : end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n');
}

describe('README: tokens, audit, history, expectedVersion', () => {
  it('the shell examples of those sections run as written', async () => {
    const dir = await tempRuntimeDir();
    const server = await spawnServer(dir, ['--no-runner']);
    const origin = new URL(server.url).origin;
    const script = [
      `TOKEN=$(cat ${path.join(dir, 'admin.token')})`,
      shellBlocks('Tokens and scopes'),
      shellBlocks('Audit trail'),
      shellBlocks('History and rollback'),
      shellBlocks('Conflict-safe writes'),
    ]
      .join('\n')
      .replaceAll('http://127.0.0.1:8787', origin)
      .replaceAll('npx stratctl', `${process.execPath} bin/stratctl.js`);
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: ROOT,
      timeout: 30_000,
      env: { ...process.env, CONTROL_PLANE_RUNTIME_DIR: dir },
    });
    expect(stdout).toMatch(/^[A-Za-z0-9_-]{40,}$/m); // the token, printed once
    expect(stdout).toMatch(/^NAME +SCOPE +CREATED +EXPIRES\nci-deploy +operate +\d{4}-\S+ +never$/m);
    expect(stdout).toContain('"operation":"baseline"');
    expect(stdout).toContain('"rolledBackTo":1');
    expect(stdout).toContain('"changed":true');
    expect(stdout).toContain('Config version conflict: expected 1, current 3');
    expect(stdout).toContain('HTTP 409');
  });
});
