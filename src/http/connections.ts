import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { CONNECTION_LIMITS } from '../limit-defaults.js';
import { clientOfAddress } from './client-key.js';

/** How often the timeouts are checked. */
export const CHECK_INTERVAL_MS = 1_000;

export type ConnectionLimits = { -readonly [K in keyof typeof CONNECTION_LIMITS]: number };

/** Why the guard closed a connection (the metrics label). */
export type ConnectionClosure = 'connection-limit' | 'client-connection-limit' | 'idle-without-request';

interface Tracked {
  readonly socket: Socket;
  readonly client: string;
  /** Requests on it whose answer is not finished. */
  active: number;
  readonly connectedAt: number;
  /** Its neighbours in the idle order (IdleOrder); both null once it is out of it. */
  older: Tracked | null;
  newer: Tracked | null;
}

/**
 * Open connections, least recently active first: a connection joins at the end when it connects
 * and moves there when its last answer finishes, so the first without a request in progress is the
 * one idle longest. A list threaded through the records: a move is a few field writes. Moving the
 * connection to the end of a Map instead (delete and set again) was the largest self time of our
 * code under a cached-read load (--cpu-prof: 0.68 of 7.9 us a request, with the Map's rehashes).
 */
class IdleOrder {
  private oldest: Tracked | null = null;
  private newest: Tracked | null = null;

  /** Puts `t` at the end (taking it out of its place first, if it has one). */
  toEnd(t: Tracked): void {
    if (this.newest === t) return;
    this.remove(t);
    t.older = this.newest;
    if (this.newest) this.newest.newer = t;
    else this.oldest = t;
    this.newest = t;
  }

  remove(t: Tracked): void {
    if (t.older) t.older.newer = t.newer;
    else if (this.oldest === t) this.oldest = t.newer;
    if (t.newer) t.newer.older = t.older;
    else if (this.newest === t) this.newest = t.older;
    t.older = null;
    t.newer = null;
  }

  /** The first, oldest first, for which `take` is true. */
  find(take: (t: Tracked) => boolean): Tracked | undefined {
    for (let t = this.oldest; t !== null; t = t.newer) if (take(t)) return t;
    return undefined;
  }
}

/** A request the guard counts on its connection until `requestEnded` is called with this. */
export interface TrackedRequest {
  /** The connection's client (`clientOfAddress` of its address), worked out once when it connected. */
  readonly client: string;
}

export interface ConnectionGuard {
  /** Open connections now. */
  readonly size: number;
  /**
   * The adapter tells the guard of each request as it starts, and of its answer finishing (its
   * response's `close`, which the adapter listens to anyway): one listener per request, not two.
   */
  requestStarted(req: IncomingMessage): TrackedRequest | undefined;
  requestEnded(tracked: TrackedRequest): void;
  close(): void;
}

/**
 * Caps the server's connections. At `maxConnections` a new connection makes room by closing the
 * one idle longest with no request in progress (a keep-alive between requests, or one that never
 * sent a request);
 * when every connection is busy the newcomer is closed instead. The same per client address at
 * `maxConnectionsPerClient`. Every second, a connection that has not sent a byte within
 * `headersTimeoutMs` of connecting is closed: Node's own headers timeout starts only with the
 * first byte. Node checks partial headers and the request time on the same second.
 */
export function guardConnections(
  server: Server,
  options: {
    limits: ConnectionLimits;
    perClient: boolean;
    now?: () => number;
    onClose?: (reason: ConnectionClosure, client: string) => void;
  },
): ConnectionGuard {
  const { limits } = options;
  const now = options.now ?? Date.now;
  const sockets = new Map<Socket, Tracked>();
  const byClient = new Map<string, Set<Socket>>();
  // The one closed to make room is the one idle longest (one just used is the likeliest to be reused now).
  const order = new IdleOrder();

  const drop = (socket: Socket, reason: ConnectionClosure) => {
    const tracked = sockets.get(socket);
    options.onClose?.(reason, tracked?.client ?? clientOfAddress(socket.remoteAddress));
    socket.destroy();
  };
  const oldestIdle = (client?: string): Socket | undefined =>
    order.find((t) => t.active === 0 && (client === undefined || t.client === client))?.socket;

  const onConnection = (socket: Socket) => {
    // An IPv6 client is its /64 (clientOfAddress): one host cannot spread its connections over its addresses.
    const client = clientOfAddress(socket.remoteAddress);
    if (sockets.size >= limits.maxConnections) {
      const victim = oldestIdle();
      if (!victim) return drop(socket, 'connection-limit');
      drop(victim, 'connection-limit');
    }
    if (options.perClient) {
      const mine = byClient.get(client);
      if (mine && mine.size >= limits.maxConnectionsPerClient) {
        const victim = oldestIdle(client);
        if (!victim) return drop(socket, 'client-connection-limit');
        drop(victim, 'client-connection-limit');
      }
    }
    const tracked: Tracked = { socket, client, active: 0, connectedAt: now(), older: null, newer: null };
    sockets.set(socket, tracked);
    order.toEnd(tracked);
    let mine = byClient.get(client);
    if (!mine) {
      mine = new Set();
      byClient.set(client, mine);
    }
    mine.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      order.remove(tracked);
      const set = byClient.get(client);
      set?.delete(socket);
      if (set?.size === 0) byClient.delete(client);
    });
  };

  const requestStarted = (req: IncomingMessage): Tracked | undefined => {
    const tracked = sockets.get(req.socket);
    if (tracked) tracked.active += 1;
    return tracked;
  };
  const requestEnded = (tracked: TrackedRequest) => {
    const t = tracked as Tracked;
    t.active -= 1;
    // A connection already closed stays out of the order.
    if (t.active === 0 && sockets.get(t.socket) === t) order.toEnd(t);
  };

  server.on('connection', onConnection);
  const timer = setInterval(() => {
    const cutoff = now() - limits.headersTimeoutMs;
    for (const [socket, tracked] of sockets) {
      // Not a byte since it connected. (Partial headers are Node's headersTimeout; an idle keep-alive its keepAliveTimeout.)
      if (tracked.active === 0 && socket.bytesRead === 0 && tracked.connectedAt <= cutoff) {
        drop(socket, 'idle-without-request');
      }
    }
  }, CHECK_INTERVAL_MS);
  timer.unref();

  return {
    get size() {
      return sockets.size;
    },
    requestStarted,
    requestEnded,
    close() {
      clearInterval(timer);
      server.off('connection', onConnection);
    },
  };
}
