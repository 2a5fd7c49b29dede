import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema/index.js';
import { createYogaServer } from '../../src/graphql/yoga.js';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, TEST_TOKEN } from '../helpers/server.js';

/**
 * Node loads fetch's implementation (undici, node:http2) the first time anything reads
 * `globalThis.Request` or `fetch`: ~30-40 ms. The server's start and its GraphQL POSTs (the fast
 * lane) do not need it; yoga's server adapter looked it up at start (src/graphql/yoga.ts,
 * createYogaServer). A preload reports at exit whether it was loaded.
 */
const HOOK =
  "process.on('exit', () => process.stderr.write('undici loaded: ' + process.moduleLoadList.some((m) => m.endsWith('/undici/undici')) + '\\n'));\n";

async function serveAndStop(ask: (url: string) => Promise<void>): Promise<string> {
  const dir = await tempRuntimeDir();
  const hook = path.join(dir, 'report-undici.cjs');
  await writeFile(hook, HOOK);
  const server = await spawnServer(dir, [], { CONTROL_PLANE_TOKEN: TEST_TOKEN, NODE_OPTIONS: `--require ${hook}` });
  await ask(server.url);
  await server.stop('SIGTERM');
  await server.closed;
  return server.stderr().match(/^undici loaded: (true|false)$/m)?.[1] ?? `no report in: ${server.stderr().slice(-500)}`;
}

describe('fetch (undici) is not loaded for the start and GraphQL POSTs', () => {
  it("yoga's fetch API is the ponyfill, not Node's own: the adapter's AbortController choice createYogaServer gives is the one it would make", () => {
    const yoga = createYogaServer({ schema });
    expect(yoga.fetchAPI.Request).not.toBe(globalThis.Request);
  });

  it('a start, /health and a GraphQL POST: not loaded; a GET through yoga loads it (the check can fail)', async () => {
    const posted = await serveAndStop(async (url) => {
      expect((await fetch(new URL('/health', url))).status).toBe(200);
      const answer = await gql(url, '{ status { configVersion } }', undefined, { token: TEST_TOKEN });
      expect(answer.body.data?.status.configVersion).toBe(1);
    });
    expect(posted).toBe('false');
    const got = await serveAndStop(async (url) => {
      const answer = await fetch(`${url}?query=${encodeURIComponent('{ __typename }')}`, { headers: { accept: 'application/json' } });
      expect(answer.status).toBe(200);
    });
    expect(got).toBe('true');
  });
});
