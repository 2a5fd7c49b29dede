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
    req.on('error', (err) => reject(failure(err, signal)));
    req.on('response', (res) => resolve(answerOf(res, signal)));
    req.end(init.body);
  });
}
