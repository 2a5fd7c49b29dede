import { connect, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { turns } from '../../src/events/turns.js';

describe('turns', () => {
  it('resumes waiters one per loop turn, first come first served, with I/O answered in between', async () => {
    const nextTurn = turns();
    // Bytes in the kernel when the waiters start: the loop's next poll delivers them, between two turns.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const client = connect((server.address() as { port: number }).port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const peer = await accepted;
    const log: string[] = [];
    const io = new Promise<void>((resolve) =>
      client.once('data', () => {
        log.push('io');
        resolve();
      }),
    );
    peer.write('x'); // on loopback, in the client's receive queue when this returns
    await Promise.all([...Array.from({ length: 30 }, (_, i) => nextTurn().then(() => log.push(`w${i}`))), io]);
    client.destroy();
    peer.destroy();
    server.close();
    expect(log.filter((e) => e !== 'io')).toEqual(Array.from({ length: 30 }, (_, i) => `w${i}`));
    // Resumed all in one turn, the data would come after the thirty.
    expect(log.indexOf('io')).toBeLessThan(29);
  });
});
