import { connect, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { DRAIN_MS } from '../../src/http/listen.js';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { freshPrefix } from '../helpers/etcd-stores.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, TEST_TOKEN } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

/** A JSON log line of a serve process (stderr). */
interface LogLine {
  level: number;
  msg: string;
  exitCode?: number;
  stopSeconds?: number;
  connected?: boolean;
  reason?: string;
}
const lines = (stderr: string): LogLine[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

/**
 * What a stop's end line may take beyond the drain and STORE_STOP_S: the process's own closing (the
 * HTTP server, the locks, the log) on a loaded machine. A stop that still made its etcd calls one after
 * another, 2 s each, took 6.4 s with nothing in flight, 16.2 s after a drain that ran out.
 */
const CLOSING_SLACK_S = 1;
/** What README gives a stop's leave-taking from etcd, after the drain (STORE_STOP_MS in src/store-etcd/gateway.ts). */
const STORE_STOP_S = 2;
/** The grace README, the Dockerfile and compose give a stop (`--stop-timeout 15`, `stop_grace_period: 15s`). */
const DOCUMENTED_GRACE_S = 15;

/**
 * A request whose body never comes (headers say 100 bytes, 9 are sent): the drain waits for it until
 * it runs out. Resolves once the server took it (its 100 Continue: the request is being served).
 */
async function stalledRequest(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {});
  const taken = new Promise<void>((resolve) => {
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.startsWith('HTTP/1.1 100 Continue\r\n')) resolve();
    });
  });
  socket.write(
    `POST /graphql HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n`,
  );
  await taken;
  socket.write('{"query"');
  return socket;
}

describeWithEtcd('a stop while etcd is frozen (SIGSTOP: takes connections, answers nothing)', () => {
  it(`takes the drain plus at most ${STORE_STOP_S} s for etcd, within the documented ${DOCUMENTED_GRACE_S} s grace, with or without a stalled client`, async () => {
    const cluster = await startEtcd();
    const env = { CONTROL_PLANE_TOKEN: TEST_TOKEN, CONTROL_PLANE_LOG_FORMAT: 'json' };
    // Each an API with its runner (so a replica key, a runner key and their leases to let go of).
    const [idle, stalled] = await Promise.all(
      [0, 1].map(async () => spawnServer(await tempRuntimeDir(), ['--store', cluster.url(freshPrefix())], env)),
    );
    if (!idle || !stalled) throw new Error('two servers');
    await Promise.all([idle, stalled].map((s) => s.waitFor(/runner \S+ is RUNNING/)));
    const client = await stalledRequest(stalled.url);
    try {
      // Frozen just before the stop: neither process has noticed yet, so each makes its calls.
      cluster.members[0]?.freeze();
      await Promise.all([idle.stop('SIGTERM'), stalled.stop('SIGTERM')]);
      await Promise.all([idle.closed, stalled.closed]);
    } finally {
      client.destroy();
    }
    for (const [server, drained] of [
      [idle, 0],
      [stalled, DRAIN_MS / 1000],
    ] as const) {
      const log = lines(server.stderr());
      const end = log.at(-1);
      expect(end?.msg).toMatch(/^stopped after \d+\.\d\d s \(exit 0\)$/);
      expect(end?.exitCode).toBe(0);
      expect(await server.exited).toBe(0);
      // The bound README names: the drain (when a request is in flight), then STORE_STOP_S for etcd.
      expect(end?.stopSeconds).toBeLessThanOrEqual(drained + STORE_STOP_S + CLOSING_SLACK_S);
      expect(end?.stopSeconds).toBeLessThan(DOCUMENTED_GRACE_S);
      // The runner's last state could not be published, and the log says so in a stop's words.
      expect(log.map((l) => l.msg)).toContainEqual(
        expect.stringMatching(
          /^etcd store: runner \S+ could not publish its STOPPED state: .*; its last state stays, and the API shows it STALE/,
        ),
      );
    }
    // The stalled one ran its drain out (10 s) and knew etcd was away by then: nothing more was sent.
    const stalledLog = lines(stalled.stderr());
    expect(stalledLog.map((l) => l.msg)).toContain(
      'the drain ran out after 10 s: 1 in-flight request still unfinished (a slow or stalled client); their connections are closed',
    );
    expect(stalledLog.map((l) => l.msg)).toContainEqual(
      expect.stringMatching(/could not publish its STOPPED state: .*not sent: etcd is unreachable and this process is stopping/),
    );
  }, 60_000);
});

describeWithEtcd('etcd back from a freeze', () => {
  it('/ready and the log say "reachable again" once: a call sent into the freeze that fails afterwards does not say "unreachable" again', async () => {
    const cluster = await startEtcd();
    const env = { CONTROL_PLANE_TOKEN: TEST_TOKEN, CONTROL_PLANE_LOG_FORMAT: 'json' };
    const server = await spawnServer(await tempRuntimeDir(), ['--store', cluster.url(freshPrefix()), '--heartbeat-ms', '1000'], env);
    await server.waitFor(/runner \S+ is RUNNING/);
    const ready = async () => (await fetch(new URL('/ready', server.url), { signal: AbortSignal.timeout(3000) })).status;
    expect(await ready()).toBe(200);
    cluster.members[0]?.freeze();
    // Frozen until the process has said so, and its runner has gone STALE (three heartbeats missed:
    // 3 s): calls from the freeze are still out when it ends (a freeze of 2.5 s showed no blip, 3 s did).
    await server.waitFor(/"connected":false/, 10_000);
    await server.waitFor(/runner \S+ is STALE/, 10_000);
    cluster.members[0]?.thaw();
    await waitUntil(ready, (s) => s === 200, { what: '/ready 200 after the thaw', timeoutMs: 10_000 });
    const backAt = server.stderr().length;
    // Calls sent during the freeze end within their 2 s deadline: watched for longer than that.
    const seen = new Set<number>();
    const watchUntil = performance.now() + 3000;
    while (performance.now() < watchUntil) seen.add(await ready());
    expect([...seen]).toEqual([200]);
    const after = lines(server.stderr().slice(backAt));
    expect(after.filter((l) => l.connected !== undefined)).toEqual([]);
    const all = lines(server.stderr()).filter((l) => l.connected !== undefined);
    // The outage's one start (its cause in `reason`) and one end.
    expect(all.map((l) => l.connected)).toEqual([false, true]);
    expect(all[0]?.reason).toMatch(/ on etcd:\/\/127\.0\.0\.1:\d+\/scp-test-\S+ failed \(/);
    await server.stop('SIGTERM');
  }, 60_000);
});
