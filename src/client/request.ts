import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** What the client reads of an answer: fetch's Response, narrowed to what it uses (a Response is one). */
export interface Answer {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
  readonly body: { cancel(): Promise<void> } | null;
}

export interface PlainRequestInit {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Ends the exchange (the connection is destroyed); the request then fails with the signal's reason. */
  signal: AbortSignal;
}

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

function answerOf(res: IncomingMessage, signal: AbortSignal): Answer {
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
    const req = send(target, { method: init.method ?? 'GET', headers, signal });
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
