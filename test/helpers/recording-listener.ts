import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { ADMIN_PROOF_CHALLENGE_HEADER, ADMIN_PROOF_HEADER } from '../../src/auth/admin-proof.js';
import { afterEachTest } from './cleanup.js';

export interface SeenRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

export interface RecordingListener {
  /** `http://<host>:<port>` as a client would name it. */
  origin: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

const open: RecordingListener[] = [];
afterEachTest(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

const readBody = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

/**
 * A plain node:http server that records what each request carried, then answers: by forwarding it
 * to `forwardTo` (a real server, the admin-token proof's challenge and answer included), with
 * `answer`, or with a GraphQL 401 like the control plane's.
 */
export async function recordingListener(
  bind: string,
  options: {
    forwardTo?: string;
    nameAs?: string;
    /** The port to listen on (default: a free one): another program's, on another address, or one a stopped server left. */
    port?: number;
    answer?: { status: number; headers?: Record<string, string>; body: unknown };
  } = {},
): Promise<RecordingListener> {
  const seen: SeenRequest[] = [];
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
    if (options.forwardTo) {
      const headers: Record<string, string> = {};
      for (const name of ['content-type', 'accept', 'authorization', ADMIN_PROOF_CHALLENGE_HEADER]) {
        const value = req.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      const answer = await fetch(`${options.forwardTo}${req.url}`, { method: req.method, headers, ...(body && { body }) });
      // A faithful relay: the server's proof that it holds the admin token goes back too.
      const proof = answer.headers.get(ADMIN_PROOF_HEADER);
      res.writeHead(answer.status, {
        'content-type': answer.headers.get('content-type') ?? 'application/json',
        ...(proof !== null && { [ADMIN_PROOF_HEADER]: proof }),
      });
      res.end(Buffer.from(await answer.arrayBuffer()));
      return;
    }
    const answer = options.answer ?? {
      status: 401,
      headers: { 'www-authenticate': 'Bearer' },
      body: { data: null, errors: [{ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } }] },
    };
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, bind, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.nameAs ?? bind;
  const listener: RecordingListener = {
    origin: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  open.push(listener);
  return listener;
}

/** Whether this machine can listen on `address` (`::1` needs IPv6 on its loopback interface). */
export async function canListenOn(address: string): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, address, () => server.close(() => resolve(true)));
  });
}

/** This machine's own non-loopback IPv4 address (traffic to it stays on the machine), if it has one. */
export function ownNonLoopbackAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.')) return a.address;
  }
  return undefined;
}
