import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { Readable } from 'node:stream';

/** An address a request connects to whatever its URL's host name resolves to now (http.ts: where the admin token was proved). */
export interface Peer {
  readonly address: string;
  readonly family: 4 | 6;
}

/** What the client reads of an answer: fetch's Response, narrowed to what it uses (a Response is one). */
export interface Answer {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
  readonly body: { cancel(): Promise<void> } | null;
  /** The address and port the answer came from (its socket's peer), when known (plainRequest's). */
  readonly peer?: Peer & { readonly port: number };
}

export interface PlainRequestInit {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Ends the exchange (the connection is destroyed); the request then fails with the signal's reason. */
  signal: AbortSignal;
  /**
   * Connect to this address (the URL's port), not to what its host name resolves to now; the Host
   * header and, for https:, the name the certificate is checked against stay the URL's. On a
   * connection of its own: a kept-alive one may be connected elsewhere.
   */
  to?: Peer;
}

/** A lookup that answers `peer` for any name (net.connect asks for all addresses when it may try several). */
export const lookupOnly =
  (peer: Peer): LookupFunction =>
  (_hostname, options, callback) => {
    if (options.all) (callback as unknown as (err: null, all: { address: string; family: number }[]) => void)(null, [peer]);
    else callback(null, peer.address, peer.family);
  };

/**
 * A failure as fetch reports it, so one handler reads both (http.ts, lostRequest): the signal's
 * reason when it ended the exchange (a TimeoutError), else a TypeError whose `cause` is the
 * socket's error (`code`: ECONNREFUSED, ENOTFOUND, a TLS code, ECONNRESET).
 */
const failure = (err: unknown, signal: AbortSignal): unknown =>
  signal.aborted ? signal.reason : new TypeError('fetch failed', { cause: err });

/**
 * A failure before the connection was up (TCP connected; for https:, the TLS handshake done): the
 * request never went out, whatever the code (a refused certificate, EPROTO from an https: URL to a
 * plain-HTTP port, a timeout while connecting to a host that drops the packets). Marked `neverSent`
 * (http.ts, lostRequest): such a change was not applied, where one that timed out after it went
 * out may have been. A timeout while connecting reads as undici's own (UND_ERR_CONNECT_TIMEOUT).
 */
function failureBeforeConnect(err: unknown, signal: AbortSignal): unknown {
  const timedOut = signal.aborted && (signal.reason as Error | undefined)?.name === 'TimeoutError';
  if (signal.aborted && !timedOut) return signal.reason;
  const cause = timedOut ? Object.assign(new Error('no connection in time'), { code: CONNECT_TIMEOUT }) : err;
  return Object.assign(new TypeError('fetch failed', { cause }), { neverSent: true });
}

/** The code of a timeout while connecting (undici's, which fetch gives). */
export const CONNECT_TIMEOUT = 'UND_ERR_CONNECT_TIMEOUT';

/** Whether a request failed before its connection was up (plainRequest): nothing was sent. */
export const failedBeforeSending = (err: unknown): boolean => (err as { neverSent?: unknown } | null)?.neverSent === true;

function peerOf(res: IncomingMessage): Answer['peer'] {
  const { remoteAddress, remotePort, remoteFamily } = res.socket ?? {};
  if (remoteAddress === undefined || remotePort === undefined) return undefined;
  return { address: remoteAddress, port: remotePort, family: remoteFamily === 'IPv6' ? 6 : 4 };
}

function answerOf(res: IncomingMessage, signal: AbortSignal): Answer {
  const peer = peerOf(res);
  // Read from the start (not only when text() is called): a body left unread would hold the connection.
  const chunks: Buffer[] = [];
  const whole = new Promise<string>((resolve, reject) => {
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', (err) => reject(failure(err, signal)));
    // Cut off before its end (the server went away mid-answer): 'close' without 'end'.
    res.on('close', () => {
      if (!res.complete) reject(failure(Object.assign(new Error('the answer was cut off'), { code: 'ECONNRESET' }), signal));
    });
  });
  // A rejection nobody asked for (the caller cancelled the body instead of reading it) is not unhandled.
  whole.catch(() => {});
  return {
    status: res.statusCode ?? 0,
    headers: {
      get(name) {
        const value = res.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    text: () => whole,
    body: {
      async cancel() {
        res.destroy();
      },
    },
    ...(peer && { peer }),
  };
}

/**
 * One HTTP exchange over node:http (node:https for an https: URL), for stratctl's one-shot
 * requests. fetch is undici, which Node loads on first use: in a bare process on these machines
 * a `fetch` of `/health` took 160-220 ms wall against 60-90 ms with node:http, about a third of a
 * whole `stratctl status` (issue 10: <= 300 ms). Streams (`status --watch`) still use fetch.
 * Like the client's fetch calls: redirects are not followed, the body is sent with its length, the
 * answer is read whole; it differs in asking for no compression (answers are small).
 */
export function plainRequest(url: string | URL, init: PlainRequestInit): Promise<Answer> {
  const { signal } = init;
  let target: URL;
  try {
    target = new URL(url);
  } catch (err) {
    return Promise.reject(new TypeError('fetch failed', { cause: err }));
  }
  const send = target.protocol === 'https:' ? httpsRequest : target.protocol === 'http:' ? httpRequest : null;
  if (send === null) {
    return Promise.reject(new TypeError('fetch failed', { cause: new Error(`${target.protocol} is not http: or https:`) }));
  }
  if (signal.aborted) return Promise.reject(signal.reason);
  const headers: Record<string, string> = { ...init.headers };
  if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
  return new Promise<Answer>((resolve, reject) => {
    const req = send(target, {
      method: init.method ?? 'GET',
      headers,
      signal,
      ...(init.to && { agent: false, lookup: lookupOnly(init.to) }),
    });
    // Up once connected (https: once the handshake is done), or at once on a kept-alive socket.
    let connected = false;
    req.on('socket', (socket) => {
      // A kept-alive socket carried an exchange before: connected, its handshake done.
      if (!socket.connecting) connected = true;
      else socket.once(send === httpsRequest ? 'secureConnect' : 'connect', () => (connected = true));
    });
    req.on('error', (err) => reject(connected ? failure(err, signal) : failureBeforeConnect(err, signal)));
    req.on('response', (res) => resolve(answerOf(res, signal)));
    req.end(init.body);
  });
}

/**
 * fetch, for a request that must reach `to` (`status --watch`'s stream when it carries the runtime
 * dir's admin token: where that token was proved, http.ts). fetch (undici) takes no lookup and
 * keeps its own pool of connections, so this one goes over node:http on a connection of its own,
 * answered as a fetch Response whose body streams. Redirects are not followed (nor by the watch's
 * fetch); no compression is asked for.
 */
export function fetchAt(input: RequestInfo | URL, init: RequestInit, to: Peer): Promise<Response> {
  const signal = init.signal ?? undefined;
  if (signal?.aborted) return Promise.reject(signal.reason);
  let target: URL;
  try {
    target = new URL(input instanceof Request ? input.url : String(input));
  } catch (err) {
    return Promise.reject(new TypeError('fetch failed', { cause: err }));
  }
  const send = target.protocol === 'https:' ? httpsRequest : target.protocol === 'http:' ? httpRequest : null;
  if (send === null) {
    return Promise.reject(new TypeError('fetch failed', { cause: new Error(`${target.protocol} is not http: or https:`) }));
  }
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, name) => {
    headers[name] = value;
  });
  const body = typeof init.body === 'string' ? init.body : undefined;
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const method = init.method ?? 'GET';
  return new Promise<Response>((resolve, reject) => {
    const req = send(target, { method, headers, signal, agent: false, lookup: lookupOnly(to) });
    req.on('error', (err) => reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err })));
    req.on('response', (res) => {
      const answer = new Headers();
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) answer.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
      const status = res.statusCode ?? 0;
      const noBody = method === 'HEAD' || status === 204 || status === 205 || status === 304;
      if (noBody) res.resume();
      const stream = noBody ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
      resolve(new Response(stream, { status, statusText: res.statusMessage ?? '', headers: answer }));
    });
    req.end(body);
  });
}
