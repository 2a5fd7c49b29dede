import { expect, it } from 'vitest';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { freshPrefix } from '../helpers/etcd-stores.js';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, spawnStratctl, TEST_TOKEN } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

// Figures for issue 15 (`npm run soak -- test/soak/etcd-bench.soak.test.ts`): activation -> all 3
// runners applied, and durable activations/s through etcd, over HTTP with 2 API replicas.
describeWithEtcd('etcd fleet figures', () => {
  it('activation -> all 3 runners applied (p50/p99) and durable activations/s', async () => {
    const cluster = await startEtcd();
    const store = cluster.url(freshPrefix());
    const env = { CONTROL_PLANE_TOKEN: TEST_TOKEN };
    const replicas = await Promise.all([0, 1].map(async () => spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', store], env)));
    for (const id of ['r1', 'r2', 'r3']) {
      const child = spawnStratctl(
        ['runner', '--store', store, '--runner-id', id, '--heartbeat-ms', '500', '--runtime-dir', await tempRuntimeDir()],
        env,
      );
      await child.waitFor(/strategy runner started/);
    }
    const [a, b] = replicas.map((r) => (q: string, v?: Record<string, unknown>) => gql(r.url, q, v, { token: TEST_TOKEN }));
    if (!a || !b) throw new Error('replicas');
    await waitUntil(
      async () => (await a('{ status { runners { state } } }')).body.data?.status.runners,
      (list) => list?.length === 3 && list.every((r: { state: string }) => r.state === 'RUNNING'),
    );

    const waited: number[] = [];
    const roundTrip: number[] = [];
    const keys = ['gold', 'range', 'momentum', 'eur_usd_5m_safe'];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      const res = await (i % 2 ? b : a)(
        `mutation { activateStrategy(strategyKey: "${keys[i % keys.length]}", waitForRunner: true, timeoutMs: 5000) { runnerWait { applied waitedMs } } }`,
      );
      roundTrip.push(performance.now() - t0);
      const w = res.body.data?.activateStrategy.runnerWait;
      expect(w?.applied).toBe(true);
      waited.push(w.waitedMs);
    }
    waited.sort((x, y) => x - y);
    roundTrip.sort((x, y) => x - y);

    const total = 600;
    const concurrency = 32;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        while (next < total) {
          const i = next++;
          const res = await (w % 2 ? b : a)(
            `mutation { updateConfig(input: { scanIntervalSeconds: ${1000 + i} }) { config { version } } }`,
          );
          expect(res.status).toBe(200);
        }
      }),
    );
    const perSecond = total / ((performance.now() - t0) / 1000);
    process.stdout.write(
      `\netcd fleet figures (2 replicas, 3 runners, 1 etcd member on loopback):\n` +
        `  activation -> all 3 runners applied (server's runnerWait.waitedMs): p50 ${percentile(waited, 50)} ms, p99 ${percentile(waited, 99)} ms\n` +
        `  activation with wait, client round trip: p50 ${percentile(roundTrip, 50).toFixed(1)} ms, p99 ${percentile(roundTrip, 99).toFixed(1)} ms\n` +
        `  durable changes through etcd: ${perSecond.toFixed(0)}/s (${total} updateConfig, ${concurrency} concurrent over both replicas)\n`,
    );
  }, 300_000);
});
