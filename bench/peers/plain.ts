/**
 * Peer: plain node:http answering each benchmark request with the exact bytes this server
 * answered it with (looked up by the request body); the mutation from an in-memory swap. The
 * ceiling for any GraphQL server on this machine: read the body, write the answer.
 * Given a directory (a second argument), `POST /durable` answers the mutation only after one group
 * commit's disk work there on a worker thread, asked and answered by message as the server's file
 * store does it (bench/lib/group-write.ts): the floor for a durable activation over HTTP.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { groupWriteWorkerSource } from '../lib/group-write.js';
import { announce, inMemoryControlPlane, loadPeerData } from './common.js';

const data = loadPeerData();
const plane = inMemoryControlPlane(data);
const answers = new Map(data.answers.map((a) => [a.request, Buffer.from(a.response)]));
const durableDir = process.argv[3];
const diskWorker = durableDir ? new Worker(groupWriteWorkerSource(durableDir), { eval: true }) : null;
/** Writes waiting for the worker's answer, by number (the worker answers with the number it was sent). */
const durableWaiting = new Map<number, () => void>();
let durableCount = 0;
diskWorker?.on('message', (i: number) => {
  const done = durableWaiting.get(i);
  durableWaiting.delete(i);
  done?.();
});
diskWorker?.on('error', (err) => {
  process.stderr.write(`plain peer: the disk worker failed: ${err.stack ?? err}\n`);
  process.exit(1);
});

function activation(text: string): string {
  const { variables } = JSON.parse(text) as { variables?: { k?: string } };
  return JSON.stringify({ data: { activateStrategy: plane.activate(String(variables?.k)) } });
}

function send(res: import('node:http').ServerResponse, status: number, body: Buffer | string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    if (req.url === '/durable' && diskWorker) {
      durableCount += 1;
      durableWaiting.set(durableCount, () => {
        try {
          send(res, 200, activation(text));
        } catch (err) {
          send(res, 400, JSON.stringify({ errors: [{ message: (err as Error).message }] }));
        }
      });
      diskWorker.postMessage(durableCount);
      return;
    }
    const known = answers.get(text);
    if (known) return send(res, 200, known);
    try {
      send(res, 200, activation(text));
    } catch (err) {
      send(res, 400, JSON.stringify({ errors: [{ message: (err as Error).message }] }));
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port));
diskWorker?.unref();
process.on('SIGTERM', () => server.close(() => process.exit(0)).closeAllConnections());
