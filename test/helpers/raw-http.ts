import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The connection was reset (or closed before any answer) instead of answering. */
  reset: boolean;
}

function parse(data: Buffer): { response: Omit<RawResponse, 'reset'>; complete: boolean; end: number } | null {
  const split = data.indexOf('\r\n\r\n');
  if (split < 0) return null;
  const [statusLine = '', ...lines] = data.subarray(0, split).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? Number.NaN);
  const rest = data.subarray(split + 4);
  const complete = !Number.isNaN(length) && rest.length >= length;
  return {
    response: { status: Number(statusLine.split(' ')[1]), headers, body: complete ? rest.subarray(0, length) : rest },
    complete,
    end: split + 4 + (complete ? length : rest.length),
  };
}

/**
 * Sends bytes as they are over a fresh connection and reads one HTTP/1.1 answer: for what fetch
 * will not send (a bad request target, a bad Host, a chunked body of our making).
 */
export function rawRequest(origin: string, head: string, body: Buffer | string = ''): Promise<RawResponse> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let reset = false;
    let settled = false;
    const settle = (response: Omit<RawResponse, 'reset'>) => {
      settled = true;
      socket.destroy();
      resolve({ ...response, reset });
    };
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const parsed = parse(Buffer.concat(chunks));
      if (parsed?.complete) settle(parsed.response);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') reset = true;
      else if (!settled) reject(err);
    });
    socket.on('close', () => {
      if (settled) return;
      const parsed = parse(Buffer.concat(chunks));
      if (!parsed) reset = true;
      settle(parsed?.response ?? { status: 0, headers: {}, body: Buffer.concat(chunks) });
    });
    socket.write(head);
    if (body.length > 0) socket.write(body);
  });
}

/** `body` as HTTP/1.1 chunks of `size` bytes (no Content-Length: the server learns the size only by reading). */
export function chunked(body: Buffer, size = 8192): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) {
    const piece = body.subarray(i, i + size);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

export const json = (response: RawResponse) => JSON.parse(response.body.toString('utf8'));

/**
 * Sends `requests` pipelined, in one write over one fresh connection (the last should ask for
 * `Connection: close`), and reads every answer until the server closes it, in the order they came.
 */
export function pipelinedRequests(origin: string, requests: string[]): Promise<Omit<RawResponse, 'reset'>[]> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      let data = Buffer.concat(chunks);
      const answers: Omit<RawResponse, 'reset'>[] = [];
      for (let parsed = parse(data); parsed?.complete; parsed = parse(data)) {
        answers.push(parsed.response);
        data = data.subarray(parsed.end);
      }
      resolve(answers);
    });
    socket.write(requests.join(''));
  });
}
