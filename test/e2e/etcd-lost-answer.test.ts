import { connect, createServer, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { freshPrefix } from '../helpers/etcd-stores.js';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, TEST_TOKEN } from '../helpers/server.js';
import { stratctl } from '../helpers/stratctl.js';
import { waitUntil } from '../helpers/wait.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A TCP proxy in front of an etcd member, listening on a free loopback port, that watches for
 * `marker` in what clients send (it may be split between two reads: the end of the last one is
 * kept). `onMarker` hears when a request carrying it passes (on its way to etcd); `fromEtcd` decides
 * what to do with each chunk etcd sends a client (`pass` writes it on).
 */
async function markerProxy(
  upstreamPort: number,
  marker: string,
  onMarker: () => void,
  fromEtcd: (client: Socket, data: Buffer, pass: () => void) => void,
) {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let tail = '';
    client.on('data', (data) => {
      const seen = tail + data.toString('latin1');
      if (seen.includes(marker)) onMarker();
      tail = seen.slice(-marker.length);
      upstream.write(data);
    });
    upstream.on('data', (data) => fromEtcd(client, data, () => client.write(data)));
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const cut = () => {
    for (const s of sockets) s.destroy();
  };
  cleanups.push(
    () =>
      new Promise((resolve) => {
        cut();
        server.close(() => resolve(undefined));
      }),
  );
  return { port, server, cut };
}

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
  const proxy = await markerProxy(
    upstreamPort,
    marker,
    () => {
      if (!released) holding = true;
    },
    (client, data, pass) => {
      if (holding) held.push({ socket: client, data });
      else pass();
    },
  );
  return {
    port: proxy.port,
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
    .filter((line) => /^(config|presets) version \d+: (updateConfig|upsertPreset|deletePreset) /.test(line.msg));

const UPSERT_PRESET = `mutation($name: String!) {
  upsertPreset(input: { key: "gold_lost", base: "gold", name: $name }) { presetsVersion changed }
}`;
const DELETE_PRESET = 'mutation { deletePreset(key: "gold_lost") { presetsVersion changed } }';
const PRESETS_TRAIL = '{ auditLog(last: 20, subject: PRESETS) { version operation actor details } }';

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

describeWithEtcd("a replica's own preset change whose answer was lost (a hung etcd member), over HTTP", () => {
  it('answers UNKNOWN (503), then takes it as its own when the watch brings it: one version, one audit entry, its own log line', async () => {
    const cluster = await startEtcd();
    const member = cluster.members[0];
    if (!member) throw new Error('one member');
    // The preset's name travels only in the commit's transaction (the reads before it send keys).
    const proxy = await answerLosingProxy(member.clientPort, 'Gold (answer lost)');
    const store = `etcd://127.0.0.1:${proxy.port}/${freshPrefix()}`;
    const api = await spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', store, '--log-format', 'json'], {
      CONTROL_PLANE_TOKEN: TEST_TOKEN,
    });
    const presets = async () => (await gql(api.url, '{ status { presetsVersion } }')).body.data?.status.presetsVersion as number;
    const names = async () =>
      (((await gql(api.url, '{ strategies { key name } }')).body.data?.strategies ?? []) as { key: string; name: string }[]).filter(
        (s) => s.key === 'gold_lost',
      );
    const before = await presets();
    // Answered while etcd runs: its own change.
    const first = await gql(api.url, UPSERT_PRESET, { name: 'Gold (answered)' }, { token: TEST_TOKEN });
    expect([first.status, first.body.data?.upsertPreset]).toEqual([200, { presetsVersion: before + 1, changed: true }]);
    // Applied by etcd, its answer lost (and the check whether it landed too): "outcome unknown".
    const answer = await gql(api.url, UPSERT_PRESET, { name: 'Gold (answer lost)' }, { token: TEST_TOKEN });
    expect(proxy.holding()).toBe(true);
    proxy.release();
    expect(answer.status).toBe(503);
    expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAVAILABLE', outcome: 'UNKNOWN' });
    await waitUntil(presets, (v) => v === before + 2, { what: 'the preset change seen through the watch' });
    expect(await names()).toEqual([{ key: 'gold_lost', name: 'Gold (answer lost)' }]);
    // The set it landed as is the one in force: the next change is judged against it, not refused or doubled.
    const removed = await gql(api.url, DELETE_PRESET, {}, { token: TEST_TOKEN });
    expect([removed.status, removed.body.data?.deletePreset]).toEqual([200, { presetsVersion: before + 3, changed: true }]);
    await waitUntil(
      async () => changeLines(api.stderr()),
      (lines) => lines.length === 3,
      { what: 'the three preset changes in the log' },
    );
    expect(changeLines(api.stderr()).map((line) => [line.msg, line.source])).toEqual([
      [
        `presets version ${before + 1}: upsertPreset by admin (gold_lost.base: null -> "gold"; gold_lost.name: null -> "Gold (answered)")`,
        'commit',
      ],
      [`presets version ${before + 2}: upsertPreset by admin (gold_lost.name: "Gold (answered)" -> "Gold (answer lost)")`, 'commit'],
      [
        `presets version ${before + 3}: deletePreset by admin (gold_lost.base: "gold" -> null; gold_lost.name: "Gold (answer lost)" -> null)`,
        'commit',
      ],
    ]);
    // One audit entry per version, each the API's (a change taken for a hand edit would add a "handEdit" by "etcd").
    const trail = (await gql(api.url, PRESETS_TRAIL, {}, { token: TEST_TOKEN })).body.data?.auditLog as {
      version: number;
      operation: string;
      actor: string;
    }[];
    expect(trail.filter((e) => e.version > before).map((e) => [e.version, e.operation, e.actor])).toEqual([
      [before + 3, 'deletePreset', 'admin'],
      [before + 2, 'upsertPreset', 'admin'],
      [before + 1, 'upsertPreset', 'admin'],
    ]);
  });
});

describeWithEtcd('stratctl --json after a change whose answer was lost (a hung etcd member)', () => {
  /** `--json`'s failure object on stdout. */
  const jsonError = (stdout: string) => (JSON.parse(stdout) as { error: Record<string, unknown> }).error;

  it('token create: exit 7, and the error carries outcome "UNKNOWN"; the token did land, its secret shown to nobody', async () => {
    const cluster = await startEtcd();
    const member = cluster.members[0];
    if (!member) throw new Error('one member');
    const prefix = freshPrefix();
    // The token's key travels only in the create's transaction (opening the store reads the prefix).
    const proxy = await answerLosingProxy(member.clientPort, 'tokens/lost-create');
    const create = await stratctl([
      'token',
      'create',
      '--name',
      'lost-create',
      '--scope',
      'read',
      '--json',
      '--store',
      `etcd://127.0.0.1:${proxy.port}/${prefix}`,
    ]);
    expect(proxy.holding()).toBe(true);
    proxy.release();
    expect(create.code, create.stderr).toBe(7);
    expect(jsonError(create.stdout)).toMatchObject({ code: 'UNAVAILABLE', outcome: 'UNKNOWN' });
    expect(create.stderr).toContain('its secret was never shown: revoke it and create it again');
    // It landed: the token is there, and its secret was shown to nobody (what the hint says to act on).
    const list = await stratctl(['token', 'list', '--json', '--store', cluster.url(prefix)]);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((t) => t.name)).toEqual(['lost-create']);
  });
});

/**
 * A TCP proxy in front of an etcd member that goes away right after one transaction: once a request
 * carrying `marker` has gone through and etcd has begun to answer it (it applied it), every
 * connection is cut and the proxy stops listening (connections refused, as from a member that died
 * or a host that went away) until `restore()`.
 */
async function droppingProxy(upstreamPort: number, marker: string) {
  let dropped = false;
  let armed = false;
  const proxy = await markerProxy(
    upstreamPort,
    marker,
    () => {
      if (!dropped) armed = true;
    },
    (_client, _data, pass) => {
      if (!armed) return pass();
      // etcd has answered the transaction: it is applied. Its answer never arrives.
      armed = false;
      dropped = true;
      proxy.server.close();
      proxy.cut();
    },
  );
  return {
    port: proxy.port,
    dropped: () => dropped,
    restore: () => new Promise<void>((resolve) => proxy.server.listen(proxy.port, '127.0.0.1', resolve)),
  };
}

describeWithEtcd('a change etcd applied whose connection then dropped, etcd unreachable after it, over HTTP', () => {
  it('answers UNKNOWN (503, outcome UNKNOWN), never "nothing was sent"; the change is there once etcd is back', async () => {
    const cluster = await startEtcd();
    const member = cluster.members[0];
    if (!member) throw new Error('one member');
    const proxy = await droppingProxy(member.clientPort, 'scan_interval_seconds: 43');
    const store = `etcd://127.0.0.1:${proxy.port}/${freshPrefix()}`;
    const api = await spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', store, '--log-format', 'json'], {
      CONTROL_PLANE_TOKEN: TEST_TOKEN,
    });
    const version = async () => (await gql(api.url, '{ status { configVersion } }')).body.data?.status.configVersion as number;
    const before = await version();
    const answer = await gql(api.url, UPDATE, { s: 43 }, { token: TEST_TOKEN });
    expect(proxy.dropped()).toBe(true);
    expect(answer.status).toBe(503);
    // The transaction went out and was applied: the client library's own retry then found no
    // connection, which must not make it "never sent" (a plain refusal: nothing was changed).
    expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAVAILABLE', outcome: 'UNKNOWN' });
    await proxy.restore();
    await waitUntil(version, (v) => v === before + 1, { what: 'the change, seen once etcd answers again' });
  });
});
