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

describe('graphql-sse stream reservations: events subscribed on one before its GET are capped in bytes', () => {
  it('a reservation whose waiting events pass the stream buffer cap is dropped at once, with what was subscribed on it; an opened stream reading the same events is not', async () => {
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
    // The reservations' 10 s drop runs by hand (never here): only the bytes can drop one.
    const clock = manualClock();
    const cap = 8 * 1024;
    const http: HttpServer = await listenHttp(plane, {
      host: '127.0.0.1',
      port: 0,
      later: clock.later,
      security: { maxSubscriptionsPerClient: 4, maxStreamBufferBytes: cap },
    });
    const fat =
      'subscription { statusChanged { configVersion activeStrategy { key description tunableDefinitions { name description } } } }';
    const subscribeFat = (streamToken: string) =>
      fetch(`${http.origin}/graphql/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-graphql-event-stream-token': streamToken },
        body: JSON.stringify({ query: fat, extensions: { operationId: crypto.randomUUID() } }),
      });
    const openSubscriptions = async () =>
      Number(/^control_plane_subscriptions (\d+)$/m.exec(await (await fetch(`${http.origin}/metrics`)).text())?.[1]);
    const activate = async (i: number) => {
      const key = i % 2 === 0 ? 'gold' : 'range';
      const res = await fetch(http.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` },
        body: JSON.stringify({ query: `mutation { activateStrategy(strategyKey: "${key}") { configVersion } }` }),
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { data: { activateStrategy: { configVersion: number } } }).data.activateStrategy.configVersion;
    };
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      // A stream opened as graphql-sse's client (and the page) opens one: PUT, GET, then its operations.
      const opened = await (await reserve(http.origin)).text();
      const stream = await fetch(`${http.origin}/graphql/stream`, {
        headers: { accept: 'text/event-stream', 'x-graphql-event-stream-token': opened },
      });
      expect(stream.status).toBe(200);
      expect((await subscribeFat(opened)).status).toBe(202);
      reader = stream.body!.getReader();
      let read = '';
      const reading = (async () => {
        const decoder = new TextDecoder();
        for (;;) {
          const next = await reader!.read();
          if (next.done) return;
          read += decoder.decode(next.value, { stream: true });
        }
      })();

      // A reservation subscribed on and never opened: graphql-sse queues its events for a GET that never comes.
      const unopened = await (await reserve(http.origin)).text();
      expect((await subscribeFat(unopened)).status).toBe(202);
      expect(await openSubscriptions()).toBe(2);
      expect(clock.pending()).toBe(1);

      let activations = 0;
      let sentBytes = 0;
      let version = 0;
      // Each event reads differently (the active strategy alternates): every one is sent.
      while (clock.pending() === 1 && activations < 100) {
        version = await activate(activations);
        activations += 1;
        await expect.poll(() => read.includes(`"configVersion":${version},`)).toBe(true);
        sentBytes = Buffer.byteLength(read);
      }
      // Dropped by the bytes (its 10 s timer cancelled), once more than the cap waited for it, not before.
      expect(clock.pending()).toBe(0);
      expect(sentBytes).toBeGreaterThan(cap);
      expect(activations).toBeGreaterThan(1);
      expect(http.refusals()['slow-reader']).toBe(1);
      // The stream is gone with its subscription: its slots are free again, a late GET does not open it.
      await expect.poll(async () => (await subscribeFat(unopened)).status).toBe(404);
      await expect.poll(openSubscriptions).toBe(1);
      const lateGet = await fetch(`${http.origin}/graphql/stream`, {
        headers: { accept: 'text/event-stream', 'x-graphql-event-stream-token': unopened },
      });
      expect(lateGet.status).toBe(400);
      await lateGet.body?.cancel();
      const again = [await reserve(http.origin), await reserve(http.origin), await reserve(http.origin)];
      expect(again.map((r) => r.status)).toEqual([201, 201, 201]);
      expect((await reserve(http.origin)).status).toBe(429);

      // The opened stream, which read every event (more than the cap in all), goes on.
      const after = await activate(activations);
      await expect.poll(() => read.includes(`"configVersion":${after},`)).toBe(true);
      expect(http.refusals()['slow-reader']).toBe(1);
      await reader.cancel();
      await reading;
    } finally {
      await reader?.cancel().catch(() => {});
      await http.close();
    }
  });

  it('results of queries posted to a reservation before its GET count too: they hold no slot, and waited there for 10 s each', async () => {
    const server = await startTestServer({ runner: false, security: { maxStreamBufferBytes: 8 * 1024 } });
    const unopened = await (await reserve(server.origin)).text();
    const query = (i: number) =>
      fetch(`${server.origin}/graphql/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-graphql-event-stream-token': unopened },
        body: JSON.stringify({
          query: '{ strategies { key description tunableDefinitions { name description } } }',
          extensions: { operationId: `q${i}` },
        }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 100 && statuses.at(-1) !== 404; i++) statuses.push((await query(i)).status);
    // Accepted (their results queued for the GET) until they passed the cap; then the stream is gone.
    expect(statuses.at(-1)).toBe(404);
    expect(statuses.slice(0, -1).every((s) => s === 202)).toBe(true);
    expect(statuses.length).toBeGreaterThan(2);
    expect(server.refusals()['slow-reader']).toBe(1);
  });
});
