import type { IncomingMessage } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../helpers/heap.js';
import { startTestServer } from '../helpers/server.js';

/**
 * After a quiet spell every connection has closed; a full collection then found the maps V8's
 * optimized code was specialized on dead and threw that code away (listen.ts, `kept`). The HTTP
 * adapter keeps the last request's objects reachable, so they stay: this checks the mechanism
 * (the deopts and the slow first second after it are bench figures, not timed tests).
 */
describe('the last request stays reachable through a quiet spell', () => {
  it('after requests on connections that all closed, a full collection leaves the last request reachable, and only about it', async () => {
    const server = await startTestServer();
    const seen: WeakRef<IncomingMessage>[] = [];
    server.server.on('request', (req: IncomingMessage) => seen.push(new WeakRef(req)));
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`${server.origin}/health`, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    await expect.poll(() => server.connections(), { timeout: 5_000 }).toBe(0);
    expect(seen).toHaveLength(12);
    // WeakRefs made in a turn hold their targets until it ends.
    await nextTurn();
    collectGarbage();
    const alive = seen.map((ref) => ref.deref() !== undefined);
    // The last one is kept; the ones before it are not (at most one more, a request still being let go).
    expect(alive.at(-1)).toBe(true);
    expect(alive.filter(Boolean).length).toBeLessThanOrEqual(2);
  });
});
