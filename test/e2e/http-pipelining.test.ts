import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { adminAuthenticator } from '../../src/auth/tokens.js';
import { type HttpServer, listenHttp, MAX_PIPELINED_PER_CONNECTION } from '../../src/http/listen.js';
import type { HttpPlane } from '../../src/http/plane.js';
import { createLogger } from '../../src/log.js';
import { pipelinedRequests } from '../helpers/raw-http.js';
import { startTestServer, TEST_TOKEN } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

const METRICS = 'GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n';

/** The adapter alone, over the services of a running control plane. */
async function adapter(drainMs = 20_000): Promise<{ http: HttpServer; seen: () => number }> {
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
  const http = await listenHttp(plane, { host: '127.0.0.1', port: 0, drainMs });
  // Every request the server read (a second listener: the adapter's answers them).
  let seen = 0;
  http.server.on('request', () => {
    seen += 1;
  });
  return { http, seen: () => seen };
}

/** A client that pipelines `n` requests on one connection and never reads an answer. */
function nonReader(http: HttpServer, n: number): Socket {
  const socket = connect(Number(new URL(http.origin).port), '127.0.0.1');
  socket.pause();
  socket.on('error', () => {});
  socket.write(METRICS.repeat(n));
  return socket;
}

describe('HTTP/1.1 pipelining', () => {
  it('a client that pipelines, does not read, and goes away: every request of its connection ends (none left in flight, close() does not wait)', async () => {
    const drainMs = 3_000;
    const { http, seen } = await adapter(drainMs);
    const socket = nonReader(http, 3000);
    // Past the first answers: the rest wait behind an answer the client does not read (Node then
    // emits no `close` on their responses when the connection closes).
    await waitUntil(
      async () => seen(),
      (n) => n > 200,
      { what: 'requests read' },
    );
    socket.destroy();
    await waitUntil(
      async () => http.connections(),
      (n) => n === 0,
      { what: 'the connection closed' },
    );
    // Nothing left for the drain to wait for: close() is done at once, not after drainMs.
    const started = performance.now();
    await http.close();
    expect(performance.now() - started).toBeLessThan(drainMs / 2);
    expect(http.requests()).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('a client that pipelines and does not read has at most MAX_PIPELINED_PER_CONNECTION answers made for it; the rest wait unrun and its connection is not read', async () => {
    const { http, seen } = await adapter();
    const socket = nonReader(http, 3000);
    await waitUntil(
      async () => http.requests(),
      (r) => r.waiting > 0,
      { what: 'requests waiting' },
    );
    const { inFlight, waiting } = http.requests();
    expect(inFlight - waiting).toBeLessThanOrEqual(MAX_PIPELINED_PER_CONNECTION);
    // Not read past the read in progress when it paused (64 KB: ~1,560 of these requests).
    expect(seen()).toBeLessThan(3000);
    socket.destroy();
    await waitUntil(
      async () => http.requests(),
      (r) => r.inFlight === 0,
      { what: 'no request in flight' },
    );
    await http.close();
  });

  it('a client that pipelines many requests and reads its answers gets every one, in order', async () => {
    const { http } = await adapter();
    const n = 400;
    const requests = Array.from(
      { length: n },
      (_, i) => `GET /health?i=${i} HTTP/1.1\r\nHost: localhost\r\n${i === n - 1 ? 'Connection: close\r\n' : ''}\r\n`,
    );
    const answers = await pipelinedRequests(http.origin, requests);
    expect(answers.map((a) => a.status)).toEqual(Array(n).fill(200));
    expect(http.requests()).toEqual({ inFlight: 0, waiting: 0 });
    await http.close();
  });
});
