import { expect, it } from 'vitest';
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
