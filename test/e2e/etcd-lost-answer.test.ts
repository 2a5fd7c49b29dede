import { connect, createServer, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { freshPrefix } from '../helpers/etcd-stores.js';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, TEST_TOKEN } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A TCP proxy in front of an etcd member that loses the answer of one transaction: once a request
 * carrying `marker` has gone through to etcd (which applies it), nothing etcd sends reaches the
 * client (on any connection) until `release()`: the commit's answer, and the check that asks
 * whether it landed, time out. Then what was held goes through (the watch brings the change).
 */
async function answerLosingProxy(upstreamPort: number, marker: string) {
  const held: { socket: Socket; data: Buffer }[] = [];
  let holding = false;
  let released = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let tail = '';
    client.on('data', (data) => {
      // The marker may be split between two reads: the end of the last one is kept.
      const seen = tail + data.toString('latin1');
      if (!released && seen.includes(marker)) holding = true;
      tail = seen.slice(-marker.length);
      upstream.write(data);
    });
    upstream.on('data', (data) => {
      if (holding) held.push({ socket: client, data });
      else client.write(data);
    });
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(resolve);
      }),
  );
  return {
    port: (server.address() as { port: number }).port,
    holding: () => holding,
    release() {
      released = true;
      holding = false;
      for (const { socket, data } of held.splice(0)) if (!socket.destroyed) socket.write(data);
    },
  };
}

const UPDATE = 'mutation($s: Int!) { updateConfig(input: { scanIntervalSeconds: $s }) { config { version } } }';

/** The process log's lines (JSON) whose message is an accepted change's line. */
const changeLines = (stderr: string) =>
  stderr
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { msg: string; source?: string }];
      } catch {
        return [];
      }
    })
    .filter((line) => /^config version \d+: updateConfig /.test(line.msg));

describeWithEtcd("a replica's own change whose answer was lost (a hung etcd member), over HTTP", () => {
  it('is logged as its own when the watch brings it, not "through another replica"', async () => {
    const cluster = await startEtcd();
    const member = cluster.members[0];
    if (!member) throw new Error('one member');
    const proxy = await answerLosingProxy(member.clientPort, 'scan_interval_seconds: 42');
    const store = `etcd://127.0.0.1:${proxy.port}/${freshPrefix()}`;
    const api = await spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', store, '--log-format', 'json'], {
      CONTROL_PLANE_TOKEN: TEST_TOKEN,
    });
    const version = async () => (await gql(api.url, '{ status { configVersion } }')).body.data?.status.configVersion as number;
    const before = await version();
    // Answered while etcd runs: its own change.
    expect((await gql(api.url, UPDATE, { s: 41 }, { token: TEST_TOKEN })).status).toBe(200);
    // Applied by etcd, its answer lost (and the check whether it landed too): "outcome unknown".
    const answer = await gql(api.url, UPDATE, { s: 42 }, { token: TEST_TOKEN });
    expect(proxy.holding()).toBe(true);
    proxy.release();
    expect(answer.status).toBe(503);
    expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAVAILABLE', outcome: 'UNKNOWN' });
    await waitUntil(version, (v) => v === before + 2, { what: 'the change seen through the watch' });
    await waitUntil(
      async () => changeLines(api.stderr()),
      (lines) => lines.length === 2,
      { what: 'both changes in the log' },
    );
    expect(changeLines(api.stderr()).map((line) => [line.msg, line.source])).toEqual([
      [`config version ${before + 1}: updateConfig by admin (scanIntervalSeconds: 30 -> 41)`, 'commit'],
      [`config version ${before + 2}: updateConfig by admin (scanIntervalSeconds: 41 -> 42)`, 'commit'],
    ]);
  });
});
