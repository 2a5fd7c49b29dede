/**
 * Peer: plain node:http answering each benchmark request with the exact bytes this server
 * answered it with (looked up by the request body); the mutation from an in-memory swap. The
 * ceiling for any GraphQL server on this machine: read the body, write the answer.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announce, inMemoryControlPlane, loadPeerData } from './common.js';

const data = loadPeerData();
const plane = inMemoryControlPlane(data);
const answers = new Map(data.answers.map((a) => [a.request, Buffer.from(a.response)]));

function send(res: import('node:http').ServerResponse, status: number, body: Buffer | string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    const known = answers.get(text);
    if (known) return send(res, 200, known);
    try {
      const { variables } = JSON.parse(text) as { variables?: { k?: string } };
      send(res, 200, JSON.stringify({ data: { activateStrategy: plane.activate(String(variables?.k)) } }));
    } catch (err) {
      send(res, 400, JSON.stringify({ errors: [{ message: (err as Error).message }] }));
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port));
process.on('SIGTERM', () => server.close(() => process.exit(0)).closeAllConnections());
