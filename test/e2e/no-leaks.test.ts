import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const ACTIVATE = 'mutation { activateStrategy(strategyKey: "gold") { configVersion } }';
const STACK = /\n\s+at |\.ts:\d+|node_modules/;

function expectNothingInternal(server: TestServer, text: string) {
  expect(text).not.toContain(server.runtimeDir);
  expect(text).not.toContain(server.token);
  expect(text).not.toMatch(STACK);
}

describe('errors never leak paths, stack traces or tokens', () => {
  it.each([false, true])('an unexpected failure is masked (production: %s): 500, `Unexpected error.`, nothing else', async (production) => {
    let fail = false;
    const fs: FileSystem = {
      ...nodeFileSystem,
      readFile: async (file) => {
        if (fail) throw Object.assign(new Error(`EMFILE: too many open files, open '${file}'`), { code: 'EMFILE' });
        return nodeFileSystem.readFile(file);
      },
    };
    const server = await startTestServer({ fs, production });
    fail = true;
    const res = await server.gql(ACTIVATE);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      data: null,
      errors: [
        {
          message: 'Unexpected error.',
          locations: [{ line: 1, column: 12 }],
          path: ['activateStrategy'],
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        },
      ],
    });
    expectNothingInternal(server, JSON.stringify(res.body));
  });

  it('a broken hand edit is reported by file name only: status, the refused mutation and /ready', async () => {
    const server = await startTestServer();
    const file = path.join(server.runtimeDir, 'config.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('scan_interval_seconds: 30', 'scan_interval_seconds: often'));
    await server.store.refresh();

    const status = await server.gql('{ status { configError { location message problems { line message } } } }');
    const configError = status.body.data?.status.configError;
    expect(configError.location).toBe('config.yaml');
    expect(configError.message).toMatch(/^config\.yaml: invalid config/);
    const refused = await server.gql(ACTIVATE);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('CONFIG_FILE_INVALID');
    expect(refused.body.errors?.[0]?.message).toMatch(/^Config file is invalid: config\.yaml: line \d+/);
    const ready = await fetch(`${server.origin}/ready`);
    expect(ready.status).toBe(503);
    for (const text of [JSON.stringify(status.body), JSON.stringify(refused.body), await ready.text()]) expectNothingInternal(server, text);
  });

  it('a wrong token is not echoed, and no answer sets a cookie', async () => {
    const server = await startTestServer();
    const wrong = 'wrong-token-but-secret-0123456789';
    const res = await server.gql('{ status { configVersion } }', undefined, wrong);
    expect(res.status).toBe(401);
    expect(JSON.stringify(res.body)).not.toContain(wrong);
    expect(res.headers.get('www-authenticate') ?? '').not.toContain(wrong);
    expect(res.headers.get('set-cookie')).toBeNull();
  });
});
