import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

describe('limit flags reach the server', () => {
  it('stratctl serve --max-response-bytes 2048 --max-connections-per-client 3 (CONTROL_PLANE_MAX_COST=10 from the environment)', async () => {
    const dir = await tempRuntimeDir();
    const server = await spawnServer(dir, ['--no-runner', '--max-response-bytes', '2048', '--max-connections-per-client', '3'], {
      CONTROL_PLANE_MAX_COST: '10',
    });
    const ask = (query: string) =>
      fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) }).then(
        async (r) => ({ status: r.status, body: (await r.json()) as { errors?: { message: string }[] } }),
      );
    const large = await ask('{ strategies { key name description tunables } }');
    expect(large.body.errors?.[0]?.message).toBe('Response too large');
    const costly = await ask(
      '{ a: status { activeStrategy { key name description } } b: status { activeStrategy { key name description } } }',
    );
    expect(costly.body.errors?.[0]?.message).toMatch(/^Query cost \d+ is over the limit of 10 without a token/);

    const { hostname, port } = new URL(server.url);
    const sockets: Socket[] = [];
    for (let i = 0; i < 6; i++) {
      const socket = connect({ port: Number(port), host: hostname, localAddress: '127.0.0.7' });
      socket.on('error', () => {});
      await new Promise((r) => socket.once('connect', r));
      sockets.push(socket);
    }
    await waitUntil(
      async () => sockets.filter((s) => !s.destroyed && s.readyState !== 'closed').length,
      (n) => n <= 3,
      {
        what: 'three connections from 127.0.0.7',
      },
    );
    for (const s of sockets) s.destroy();
  });
});
