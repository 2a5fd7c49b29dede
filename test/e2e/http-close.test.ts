import type { Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { adminAuthenticator } from '../../src/auth/tokens.js';
import { type HttpServer, listenHttp } from '../../src/http/listen.js';
import type { HttpPlane } from '../../src/http/plane.js';
import { createLogger } from '../../src/log.js';
import { gql } from '../helpers/http.js';
import { startTestServer, TEST_TOKEN } from '../helpers/server.js';

/** Holds every GraphQL execution until the test lets it go. */
function gate() {
  const held: (() => void)[] = [];
  let arrived: () => void = () => {};
  const plugin: Plugin = {
    onExecute: () =>
      new Promise<void>((release) => {
        held.push(release);
        arrived();
      }),
  };
  const executing = (n: number) =>
    new Promise<void>((resolve) => {
      arrived = () => held.length >= n && resolve();
      arrived();
    });
  return { plugin, held, executing };
}

describe('listenHttp close()', () => {
  it('stops accepting, lets in-flight requests finish, and after the drain time closes the connections still open', async () => {
    // The adapter alone, over the services of a running control plane.
    const base = await startTestServer();
    const plane: HttpPlane = {
      services: { ...base.services, authenticator: adminAuthenticator(TEST_TOKEN) },
      settings: base.settings,
      logger: createLogger({ level: 'silent' }),
      startedAt: Date.now(),
      readiness: () => ({ ready: true, configVersion: 1, reasons: [] }),
      versionInfo: () => ({ version: 'test', node: process.version, store: 'file' }),
      adminTokenProof: () => null,
    };
    const { plugin, held, executing } = gate();
    const drainMs = 300;
    const http: HttpServer = await listenHttp(plane, { host: '127.0.0.1', port: 0, yogaPlugins: [plugin], drainMs });
    expect((await fetch(`${http.origin}/health`)).status).toBe(200);

    const finishing = gql(http.url, '{ status { configVersion } }');
    await executing(1);
    const stuck = gql(http.url, '{ strategies { key } }').then(
      () => 'answered',
      () => 'connection closed',
    );
    await executing(2);

    const started = performance.now();
    const closed = http.close();
    await expect(fetch(`${http.origin}/health`)).rejects.toThrow(); // no new connections
    held[0]!(); // the first request finishes its work while the server drains: it is answered
    expect((await finishing).body).toEqual({ data: { status: { configVersion: 1 } } });
    await closed;
    expect(performance.now() - started).toBeGreaterThanOrEqual(drainMs - 5);
    expect(await stuck).toBe('connection closed');
    held[1]!();
  });
});
