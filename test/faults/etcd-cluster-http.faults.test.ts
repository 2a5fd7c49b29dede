import { expect, it, onTestFailed } from 'vitest';
import { describeWithEtcd, startEtcd, waitHealthy } from '../helpers/etcd.js';
import { freshPrefix } from '../helpers/etcd-stores.js';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, spawnStratctl, TEST_TOKEN } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

const STATUS = '{ status { activeStrategyKey configVersion store { connected } runners { id state appliedConfigVersion } } }';
const activate = (key: string) =>
  `mutation { activateStrategy(strategyKey: "${key}", waitForRunner: true, timeoutMs: 10000) { configVersion runnerWait { applied } } }`;

/** The member the cluster's members call their leader (etcd's JSON gateway: /v3/maintenance/status). */
async function leaderOf(cluster: Awaited<ReturnType<typeof startEtcd>>) {
  for (const member of cluster.members) {
    const res = await fetch(`http://127.0.0.1:${member.clientPort}/v3/maintenance/status`, { method: 'POST', body: '{}' });
    const status = (await res.json()) as { header: { member_id: string }; leader: string };
    if (status.header.member_id === status.leader) return member;
  }
  throw new Error('no member is the leader');
}

/** 2 API replicas (no embedded runner) and 2 `stratctl runner` processes on one prefix of a 3-member cluster. */
async function startFleet() {
  const cluster = await startEtcd({ size: 3 });
  const store = cluster.url(freshPrefix());
  const env = { CONTROL_PLANE_TOKEN: TEST_TOKEN };
  const replicas = await Promise.all([0, 1].map(async () => spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', store], env)));
  const runners = await Promise.all(
    ['r1', 'r2'].map(async (id) => {
      const args = ['runner', '--store', store, '--runner-id', id, '--heartbeat-ms', '200', '--runtime-dir', await tempRuntimeDir()];
      const runner = spawnStratctl(args, env);
      await runner.waitFor(/strategy runner started/);
      return runner;
    }),
  );
  // A failure in CI shows what each process said (which etcd call failed, and why).
  onTestFailed(() => {
    for (const [name, p] of [
      ...replicas.map((r, i) => [`replica ${'ab'[i]}`, r] as const),
      ['runner r1', runners[0]],
      ['runner r2', runners[1]],
    ] as const)
      console.error(`--- ${name} ---\n${p?.stdout()}${p?.stderr()}`);
  });
  const [a, b] = replicas.map((r) => ({
    url: r.url,
    gql: (query: string) => gql<Record<string, any>>(r.url, query, undefined, { token: TEST_TOKEN }),
    ready: async () => (await fetch(new URL('/ready', r.url))).status,
  }));
  if (!a || !b) throw new Error('two replicas');
  await waitUntil(
    async () => (await a.gql(STATUS)).body.data?.status.runners,
    (runners) => runners?.length === 2,
    { what: 'both runners listed' },
  );
  return { cluster, store, a, b };
}

describeWithEtcd('a 3-member etcd under 2 API replicas and 2 runners, over HTTP', () => {
  it('one member down: writes accepted; two down: writes refused with 503 UNAVAILABLE, reads answer, /ready 503; both back: it reconverges', async () => {
    const { cluster, a, b } = await startFleet();
    // The member killed first is the leader (the harder case: the other two elect one while the
    // writes below are sent; each follower answers "request timed out, possibly due to connection
    // lost" meanwhile, which once ended an activation in a 503 with time left: gateway.ts, TIMED_OUT_THERE).
    const leader = await leaderOf(cluster);
    const [m0, m1] = [leader, ...cluster.members.filter((m) => m !== leader)];
    if (!m0 || !m1) throw new Error('three members');
    const start = (await a.gql(STATUS)).body.data?.status.configVersion as number;

    // One member of three down: a quorum remains; writes through either replica are accepted and applied.
    await m0.kill();
    // Status and body together: a refusal shows its error (which etcd call failed, and why).
    const viaA = await a.gql(activate('gold'));
    expect({ status: viaA.status, body: viaA.body }).toEqual({
      status: 200,
      body: { data: { activateStrategy: { configVersion: start + 1, runnerWait: { applied: true } } } },
    });
    const viaB = await b.gql(activate('range'));
    expect({ status: viaB.status, body: viaB.body }).toEqual({
      status: 200,
      body: { data: { activateStrategy: { configVersion: start + 2, runnerWait: { applied: true } } } },
    });
    expect(await a.ready()).toBe(200);
    // A hears B's write through its own watch, a moment after B answered (B waited for the runners,
    // not for A): only then is it the state A must keep answering with once the quorum is gone.
    await waitUntil(
      async () => (await a.gql(STATUS)).body.data?.status.configVersion,
      (version) => version === start + 2,
      { what: "A heard B's write" },
    );

    // Two down: no quorum. Every write is refused clearly; nothing changes; reads answer from the watched state.
    await m1.kill();
    for (const replica of [a, b]) {
      const refused = await replica.gql('mutation { activateStrategy(strategyKey: "momentum") { configVersion } }');
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('2');
      expect(refused.body.data).toBeNull();
      expect(refused.body.errors?.[0]).toMatchObject({ message: 'Config store unavailable', extensions: { code: 'UNAVAILABLE' } });
      const read = await replica.gql(STATUS);
      expect(read.status).toBe(200);
      expect(read.body.data?.status).toMatchObject({ activeStrategyKey: 'range', configVersion: start + 2, store: { connected: false } });
      await waitUntil(replica.ready, (status) => status === 503, { what: '/ready 503 without a quorum' });
    }
    // stratctl says "try again later" (exit 7), as DESIGN's exit codes have it.
    const cli = spawnStratctl(['activate', 'momentum', '--url', a.url, '--token', TEST_TOKEN]);
    expect(await cli.exited).toBe(7);
    expect(cli.stderr()).toContain('Config store unavailable');

    // Both back: the replicas reconnect and are ready again without a restart; writes and runners converge.
    await Promise.all([m0.start(), m1.start()]);
    await waitHealthy(cluster);
    for (const replica of [a, b])
      await waitUntil(replica.ready, (status) => status === 200, { what: '/ready 200 again', timeoutMs: 20_000 });
    // The runners kept the last good config meanwhile and publish again (their leases may have run out: new ones).
    const runnersBack = await waitUntil(
      async () => (await b.gql(STATUS)).body.data?.status.runners,
      (runners) => runners?.length === 2 && runners.every((r: { state: string }) => r.state === 'RUNNING'),
      { what: 'both runners RUNNING again', timeoutMs: 20_000 },
    );
    expect(runnersBack.map((r: { appliedConfigVersion: number }) => r.appliedConfigVersion)).toEqual([start + 2, start + 2]);
    // waitForRunner waits for every live runner: both, now.
    const after = await b.gql(activate('momentum'));
    expect(after.body.errors).toBeUndefined();
    expect(after.body.data?.activateStrategy).toEqual({ configVersion: start + 3, runnerWait: { applied: true } });
    const seen = await waitUntil(
      async () => (await a.gql(STATUS)).body.data?.status,
      // B answered once both runners had applied it; A hears their keys through its own watch, a moment apart.
      (s) =>
        s?.configVersion === start + 3 &&
        s.store.connected &&
        s.runners.every((r: { appliedConfigVersion: number }) => r.appliedConfigVersion === start + 3),
      { what: 'A reconverged' },
    );
    expect(seen.activeStrategyKey).toBe('momentum');
    expect(seen.runners.map((r: { id: string; appliedConfigVersion: number }) => [r.id, r.appliedConfigVersion])).toEqual([
      ['r1', start + 3],
      ['r2', start + 3],
    ]);
  });
});
