import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface Answer {
  status: number;
  body: string;
  /** No answer: the connection failed or was closed first (`error` says how). */
  error?: string;
}

/** Attackers come from 127.0.<group>.<n>: other clients than the health prober (127.0.0.1), for every per-client limit. */
export const attackerAddress = (group: number, n: number) => `127.0.${group}.${2 + (n % 250)}`;

/** One HTTP request on a fresh connection from `localAddress`, answered or not within `timeoutMs`. */
export function send(
  origin: string,
  options: {
    localAddress: string;
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
    timeoutMs?: number;
  },
): Promise<Answer> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (answer: Answer) => {
      if (settled) return;
      settled = true;
      resolve(answer);
    };
    const req = request(
      {
        host: hostname,
        port: Number(port),
        localAddress: options.localAddress,
        method: options.method ?? 'GET',
        path: options.path ?? '/graphql',
        headers: options.headers,
        agent: false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => settle({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => settle({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), error: err.message }));
      },
    );
    req.on('timeout', () => {
      req.destroy();
      settle({ status: 0, body: '', error: 'timeout' });
    });
    req.on('error', (err: NodeJS.ErrnoException) => settle({ status: 0, body: '', error: err.code ?? err.message }));
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Raw bytes over a fresh connection; resolves with what came back when the server closes (or after `timeoutMs`). */
export function sendRaw(origin: string, localAddress: string, bytes: Buffer | string, timeoutMs = 10_000): Promise<Answer> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve) => {
    const socket = connect({ port: Number(port), host: hostname, localAddress });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const timer = setTimeout(() => {
      error = 'timeout';
      socket.destroy();
    }, timeoutMs);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4), ...(status === 0 && { error: error ?? 'closed' }) });
    });
    socket.write(bytes);
  });
}

/** A connection that sends `bytes` (maybe nothing) and then waits; resolves once connected. */
export function openSocket(origin: string, localAddress: string, bytes = ''): Promise<Socket> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve) => {
    const socket = connect({ port: Number(port), host: hostname, localAddress });
    socket.on('error', () => {});
    socket.once('connect', () => {
      if (bytes) socket.write(bytes);
      resolve(socket);
    });
    socket.once('close', () => resolve(socket));
  });
}

/** Runs `loops` copies of `attack` back to back until `durationMs` has passed. */
export async function forDuration(durationMs: number, loops: number, attack: (loop: number, i: number) => Promise<void>): Promise<void> {
  const end = Date.now() + durationMs;
  await Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      for (let i = 0; Date.now() < end; i++) await attack(loop, i);
    }),
  );
}
