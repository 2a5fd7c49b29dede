import { readdir } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, spawnStratctl } from '../helpers/server.js';
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

describe('headers and request timeouts together (Node refuses headers above request)', () => {
  it('both given and in conflict, from flags or the environment: usage error (exit 2), one line naming both and where each came from, nothing written', async () => {
    for (const [args, env, named] of [
      [
        ['--headers-timeout-ms', '40000', '--request-timeout-ms', '5000'],
        {},
        /headers timeout 40000 ms \(--headers-timeout-ms\) is above request timeout 5000 ms \(--request-timeout-ms\)/,
      ],
      [
        ['--headers-timeout-ms', '10000'],
        { CONTROL_PLANE_REQUEST_TIMEOUT_MS: '9999' },
        /headers timeout 10000 ms \(--headers-timeout-ms\) is above request timeout 9999 ms \(CONTROL_PLANE_REQUEST_TIMEOUT_MS\)/,
      ],
    ] as const) {
      const dir = await tempRuntimeDir();
      const child = spawnStratctl(['serve', '--port', '0', '--runtime-dir', dir, ...args], { ...env, CONTROL_PLANE_LOG_FORMAT: 'json' });
      expect(await child.exited, child.stderr()).toBe(2);
      await child.closed;
      const lines = child.stderr().trim().split('\n');
      expect(lines, child.stderr()).toHaveLength(1);
      const line = JSON.parse(lines[0] as string) as { msg: string; exitCode: number; err?: unknown };
      expect(line.msg).toMatch(named);
      expect(line.exitCode).toBe(2);
      expect(line.err).toBeUndefined();
      expect(child.stderr()).not.toMatch(/RangeError|out of range/);
      expect(await readdir(dir)).toEqual([]);
    }
  });

  it('one given: the other, a default, follows it, and the start says so; the server serves', async () => {
    for (const [args, env, said] of [
      [
        ['--request-timeout-ms', '5000'],
        {},
        {
          msg: /^headers timeout lowered to 5000 ms \(its default: 10000\): the request timeout is 5000 ms \(--request-timeout-ms\)/,
          ms: 5000,
        },
      ],
      [
        [],
        { CONTROL_PLANE_REQUEST_TIMEOUT_MS: '9999' },
        { msg: /^headers timeout lowered to 9999 ms .*\(CONTROL_PLANE_REQUEST_TIMEOUT_MS\)/, ms: 9999 },
      ],
      [
        ['--headers-timeout-ms', '40000'],
        {},
        {
          msg: /^request timeout raised to 40000 ms \(its default: 30000\): the headers timeout is 40000 ms \(--headers-timeout-ms\)/,
          ms: 40000,
        },
      ],
    ] as const) {
      const dir = await tempRuntimeDir();
      const server = await spawnServer(dir, ['--no-runner', ...args], { ...env, CONTROL_PLANE_LOG_FORMAT: 'json' });
      const lines = server
        .stderr()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { msg: string; headersTimeoutMs?: number; requestTimeoutMs?: number });
      const note = lines.find((l) => said.msg.test(l.msg));
      expect(note, server.stderr()).toMatchObject({ headersTimeoutMs: said.ms, requestTimeoutMs: said.ms });
      const answer = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{ status { configVersion } }"}',
      });
      expect(answer.status).toBe(200);
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  });
});
