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
      readiness: async () => ({ ready: true, configVersion: 1, reasons: [] }),
      versionInfo: () => ({ version: 'test', node: process.version, store: 'file', commit: null }),
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
    // The first request finishes its work while the server drains: it is answered. Let go at once,
    // before the refused fetch is awaited: after it, a host stalled for the drain time cut it.
    held[0]!();
    await expect(fetch(`${http.origin}/health`)).rejects.toThrow(); // no new connections
    expect((await finishing).body).toEqual({ data: { status: { configVersion: 1 } } });
    await closed;
    expect(performance.now() - started).toBeGreaterThanOrEqual(drainMs - 5);
    expect(await stuck).toBe('connection closed');
    held[1]!();
  });
});

describe('listenHttp close() says what a slow drain waits for', () => {
  it('logs the in-flight count, the limit and what a second signal does, then that the drain ran out and cut the rest', async () => {
    const base = await startTestServer();
    const lines: { level: number; msg: string; inFlight?: number }[] = [];
    const plane: HttpPlane = {
      services: { ...base.services, authenticator: adminAuthenticator(TEST_TOKEN) },
      settings: base.settings,
      logger: createLogger({ destination: { write: (line: string) => lines.push(JSON.parse(line)) } as never }),
      startedAt: Date.now(),
      readiness: async () => ({ ready: true, configVersion: 1, reasons: [] }),
      versionInfo: () => ({ version: 'test', node: process.version, store: 'file', commit: null }),
      adminTokenProof: () => null,
    };
    const { plugin, held, executing } = gate();
    const http: HttpServer = await listenHttp(plane, { host: '127.0.0.1', port: 0, yogaPlugins: [plugin], drainMs: 300 });
    const stuck = [gql(http.url, '{ strategies { key } }'), gql(http.url, '{ status { configVersion } }')].map((p) =>
      p.then(
        () => 'answered',
        () => 'connection closed',
      ),
    );
    await executing(2);
    await http.close();
    expect(await Promise.all(stuck)).toEqual(['connection closed', 'connection closed']);
    const said = lines.filter((l) => /drain|in-flight/.test(l.msg)).map(({ level, msg, inFlight }) => ({ level, msg, inFlight }));
    expect(said).toEqual([
      {
        level: 30,
        inFlight: 2,
        msg: 'waiting for 2 in-flight requests to finish (at most 0.3 s); a second stop signal a second or more after the first exits at once',
      },
      {
        level: 40,
        inFlight: 2,
        msg: 'the drain ran out after 0.3 s: 2 in-flight requests still unfinished (a slow or stalled client); their connections are closed',
      },
    ]);
    for (const release of held) release();
  });
});
