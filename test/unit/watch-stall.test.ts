import { createServer, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../../src/client/http.js';
import { type WatchEvent, watchSubscription } from '../../src/client/subscribe.js';
import { StatusChangedDocument } from '../../src/generated/graphql.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function listening<T extends Server | NetServer>(server: T, sockets: Set<Socket>): Promise<string> {
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

/** Collects a watch's events until it ends; what it threw, if anything. */
async function run(url: string, options: { stallMs: number; reconnectTimeoutMs: number }) {
  const events: WatchEvent<unknown>[] = [];
  const controller = new AbortController();
  const started = performance.now();
  let thrown: unknown = null;
  try {
    for await (const event of watchSubscription({ url, ...options }, StatusChangedDocument, {}, controller.signal)) events.push(event);
  } catch (err) {
    thrown = err;
  }
  return { events, thrown, ms: performance.now() - started };
}

describe('a watched subscription on a server that goes quiet (stratctl status --watch)', () => {
  it('a stream that stops sending (a frozen server) is lost after stallMs, then bounded by the reconnect timeout: exit 5, not a hang', async () => {
    const sockets = new Set<Socket>();
    const silent: ServerResponse[] = [];
    let requests = 0;
    const server = createServer((req, res) => {
      requests += 1;
      req.resume();
      // The first request gets its stream and one event, then silence; later ones no answer at all (still frozen).
      if (requests > 1) return void silent.push(res);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: next\ndata: ${JSON.stringify({ data: { statusChanged: { configVersion: 1 } } })}\n\n`);
      silent.push(res);
    });
    const url = await listening(server, sockets);
    // stallMs bounds the first answer too: 1 s, not 0.3, for a loaded host (the first fetch of a
    // process loads undici; at 0.3 s this failed in 3 of 4 parallel runs, before any event came).
    const { events, thrown, ms } = await run(url, { stallMs: 1_000, reconnectTimeoutMs: 2_000 });
    expect(events.map((e) => e.type)).toEqual(['connected', 'data', 'lost']);
    expect(events[2]).toEqual({
      type: 'lost',
      reason: `lost the event stream from ${url} (nothing for 1 s (a frozen server, or a network path that drops packets))`,
    });
    expect(thrown).toBeInstanceOf(ControlPlaneError);
    expect((thrown as ControlPlaneError).kind).toBe('unreachable');
    expect((thrown as Error).message).toMatch(
      new RegExp(`^lost the event stream from ${url} \\(.+\\), and it did not come back within 2000 ms$`),
    );
    expect(requests).toBeGreaterThan(1);
    expect(ms).toBeGreaterThanOrEqual(2_000);
    expect(ms).toBeLessThan(10_000);
  });

  it('a stream that breaks (a dropped connection, then nothing listening) is not blamed on "a frozen server" by the broken attempt\'s silence timer (the CLI helper session F2)', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: next\ndata: ${JSON.stringify({ data: { statusChanged: { configVersion: 1 } } })}\n\n`);
      // The connection drops mid-stream, and the server is gone from then on.
      setTimeout(() => {
        req.socket.destroy();
        server.close();
      }, 20);
    });
    const url = await listening(server, sockets);
    const { events, thrown } = await run(url, { stallMs: 1_000, reconnectTimeoutMs: 4_000 });
    expect(events.map((e) => e.type)).toEqual(['connected', 'data', 'lost']);
    expect(thrown).toBeInstanceOf(ControlPlaneError);
    // Past stallMs several times over: the broken attempt's timer had fired and named a stall.
    expect((thrown as Error).message).toBe(`lost the event stream from ${url} (ECONNREFUSED), and it did not come back within 4000 ms`);
  });

  it('a server that takes the connection and never answers (a black hole) is "cannot reach" after stallMs, as for a one-shot read', async () => {
    const sockets = new Set<Socket>();
    const hole = createNetServer(() => {});
    const url = await listening(hole, sockets);
    const { events, thrown, ms } = await run(url, { stallMs: 300, reconnectTimeoutMs: 60_000 });
    expect(events).toEqual([]);
    expect(thrown).toBeInstanceOf(ControlPlaneError);
    expect((thrown as Error).message).toBe(`cannot reach ${url} (no answer within 0.3 s)`);
    expect(ms).toBeGreaterThanOrEqual(300);
    expect(ms).toBeLessThan(10_000);
  });
});
