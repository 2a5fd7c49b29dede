import { describe, expect, it } from 'vitest';
import { adminAuthenticator } from '../../src/auth/tokens.js';
import { STREAM_RESERVATION_MS } from '../../src/graphql/sse-reservations.js';
import { type HttpServer, listenHttp } from '../../src/http/listen.js';
import type { HttpPlane } from '../../src/http/plane.js';
import { createLogger } from '../../src/log.js';
import { manualClock } from '../helpers/manual-clock.js';
import { startTestServer, TEST_TOKEN } from '../helpers/server.js';

const reserve = (origin: string, token?: string) =>
  fetch(`${origin}/graphql/stream`, { method: 'PUT', headers: token ? { authorization: `Bearer ${token}` } : {} });

const subscribe = (origin: string, streamToken: string) =>
  fetch(`${origin}/graphql/stream`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-graphql-event-stream-token': streamToken },
    body: JSON.stringify({ query: 'subscription { statusChanged { configVersion } }', extensions: { operationId: crypto.randomUUID() } }),
  });

describe('graphql-sse stream reservations (PUT /graphql/stream) are bounded per client', () => {
  it('a client holds at most its subscription budget of unopened reservations: one more is 429; opening one gives its slot back', async () => {
    const server = await startTestServer({ runner: false, security: { maxSubscriptionsPerClient: 3 } });
    const made: Response[] = [];
    for (let i = 0; i < 3; i++) made.push(await reserve(server.origin));
    expect(made.map((r) => r.status)).toEqual([201, 201, 201]);
    const tokens = await Promise.all(made.map((r) => r.text()));

    // graphql-sse kept every one for ever: without a token, PUTs filled the server's memory.
    const refused = await reserve(server.origin);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toEqual({
      errors: [{ message: 'Too many open subscriptions: at most 3 per client', extensions: { code: 'RATE_LIMITED' } }],
    });
    // A token does not buy more: the budget is the client's.
    expect((await reserve(server.origin, server.token)).status).toBe(429);
    expect(server.refusals()['subscriptions-per-client']).toBe(2);

    // Opened by its GET (as the page does right after its PUT), a reservation is a stream: its slot goes back.
    const stream = await fetch(`${server.origin}/graphql/stream?token=${tokens[0]}`, { headers: { accept: 'text/event-stream' } });
    expect(stream.status).toBe(200);
    expect((await reserve(server.origin)).status).toBe(201);
    expect((await reserve(server.origin)).status).toBe(429);
    await stream.body?.cancel();
  });

  it(`a reservation nobody opens is dropped after ${STREAM_RESERVATION_MS / 1000} s: its slot goes back and the stream is gone, with what was subscribed on it`, async () => {
    const base = await startTestServer({ runner: false });
    const plane: HttpPlane = {
      services: { ...base.services, authenticator: adminAuthenticator(TEST_TOKEN) },
      settings: base.settings,
      logger: createLogger({ level: 'silent' }),
      startedAt: Date.now(),
      readiness: async () => ({ ready: true, configVersion: 1, reasons: [] }),
      versionInfo: () => ({ version: 'test', node: process.version, store: 'file', commit: null }),
      adminTokenProof: () => null,
    };
    const clock = manualClock();
    const http: HttpServer = await listenHttp(plane, {
      host: '127.0.0.1',
      port: 0,
      later: clock.later,
      security: { maxSubscriptionsPerClient: 2 },
    });
    try {
      const first = await (await reserve(http.origin)).text();
      // A subscription on the unopened stream takes the second slot (its events wait for a GET that never comes).
      expect((await subscribe(http.origin, first)).status).toBe(202);
      expect((await reserve(http.origin)).status).toBe(429);

      clock.advance(STREAM_RESERVATION_MS - 1);
      expect((await reserve(http.origin)).status).toBe(429);
      clock.advance(1);
      // Dropped: the stream is gone (a late GET for it is not one), and its subscription ended with it.
      await expect.poll(async () => (await subscribe(http.origin, first)).status).toBe(404);
      const again = [await reserve(http.origin), await reserve(http.origin)];
      expect(again.map((r) => r.status)).toEqual([201, 201]);
      expect((await reserve(http.origin)).status).toBe(429);
      expect(clock.pending()).toBe(2);
    } finally {
      await http.close();
    }
    expect(clock.pending()).toBe(0);
  });
});
