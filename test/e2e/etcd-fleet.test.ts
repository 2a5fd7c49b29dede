import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { createClient } from 'graphql-sse';
import { expect, it } from 'vitest';
import { describeWithEtcd, startEtcd, waitHealthy } from '../helpers/etcd.js';
import { freshPrefix, grantedTtl, rawClient } from '../helpers/etcd-stores.js';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { STRATCTL_BIN, spawnProcess, spawnServer, spawnStratctl, TEST_TOKEN } from '../helpers/server.js';
import { cliEnv, stratctl } from '../helpers/stratctl.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * The runners' heartbeat here: STALE after three missed (3 s). With 200 ms, a runner process starved
 * for 600 ms on a loaded machine read STALE where a check wanted it RUNNING.
 */
const HEARTBEAT_MS = '1000';
/** Waits for a runner to go STALE (three heartbeats, and the fleet's fresh read): bounded well above them. */
const STALE_WAIT = { timeoutMs: 20_000 };

const RUNNERS = `{ status { configVersion runners { id state appliedConfigVersion instruments } store { kind connected } } }`;

/** stratctl (the built CLI) against one replica. */
const stratctlAt = (url: string, args: string[]) => stratctl(args, { CONTROL_PLANE_URL: url, CONTROL_PLANE_TOKEN: TEST_TOKEN });

/** 2 API replicas (no embedded runner) and 3 `stratctl runner` processes on one etcd prefix. */
async function startFleet() {
  const cluster = await startEtcd();
  const prefix = freshPrefix();
  const store = cluster.url(prefix);
  const env = { CONTROL_PLANE_TOKEN: TEST_TOKEN };
  const replicas = await Promise.all([0, 1].map(async () => spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', store], env)));
  const runnerArgs = (id: string, ...more: string[]) => [
    'runner',
    '--store',
    store,
    '--runner-id',
    id,
    '--heartbeat-ms',
    HEARTBEAT_MS,
    '--feed',
    'sim:7',
    ...more,
  ];
  const runners = await Promise.all(
    [runnerArgs('r1'), runnerArgs('r2'), runnerArgs('r3', '--instruments', 'EUR_USD')].map(async (args) => {
      const child = spawnStratctl([...args, '--runtime-dir', await tempRuntimeDir()], env);
      await child.waitFor(/strategy runner started/);
      return child;
    }),
  );
  const [a, b] = replicas.map((r) => ({
    ...r,
    gql: <T = Record<string, any>>(query: string, variables?: Record<string, unknown>) =>
      gql<T>(r.url, query, variables, { token: TEST_TOKEN }),
  }));
  if (!a || !b) throw new Error('two replicas');
  const status = async (replica: typeof a) => (await replica.gql(RUNNERS)).body.data?.status;
  await waitUntil(
    () => status(a),
    (s) => s?.runners.length === 3 && s.runners.every((r: { state: string }) => r.state === 'RUNNING'),
    { what: 'three RUNNING runners' },
  );
  return { cluster, prefix, a, b, runners, status };
}

describeWithEtcd('2 API replicas + 3 runners on etcd, over HTTP', () => {
  it('changes through either replica: no lost update, one winner per expectedVersion, every runner applies, every replica hears', async () => {
    const { a, b, status } = await startFleet();
    const start = (await status(a)).configVersion as number;
    expect((await status(b)).store).toEqual({ kind: 'ETCD', connected: true });
    expect(await (await fetch(new URL('/version', a.url))).json()).toMatchObject({ store: 'etcd' });

    // A subscription on B sees a change made through A.
    const client = createClient({ url: `${b.url}`, retryAttempts: 0, headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    const heard: Record<string, any>[] = [];
    let onConnected!: () => void;
    const connected = new Promise<void>((resolve) => {
      onConnected = resolve;
    });
    const dispose = client.subscribe<Record<string, any>>(
      { query: 'subscription { statusChanged { activeStrategyKey configVersion } }' },
      { next: (r) => heard.push(r), error: () => {}, complete: () => {} },
      { connected: () => onConnected() },
    );
    try {
      await connected;
      const activation = await a.gql(
        'mutation { activateStrategy(strategyKey: "gold", waitForRunner: true, timeoutMs: 5000) { configVersion runnerWait { applied waitedMs } } }',
      );
      expect(activation.status).toBe(200);
      const { configVersion, runnerWait } = activation.body.data?.activateStrategy ?? {};
      expect(configVersion).toBe(start + 1);
      expect(runnerWait.applied).toBe(true);
      expect(runnerWait.waitedMs).toBeLessThan(2000);
      await waitUntil(
        async () => heard,
        (h) => h.some((r) => r.data?.statusChanged.configVersion === start + 1),
        { what: 'B hears the activation made through A' },
      );
      expect(heard.find((r) => r.data?.statusChanged.configVersion === start + 1)?.data.statusChanged.activeStrategyKey).toBe('gold');
    } finally {
      dispose();
      client.dispose();
    }
    const fleet = await status(b);
    expect(fleet.runners.map((r: { id: string; appliedConfigVersion: number }) => [r.id, r.appliedConfigVersion])).toEqual([
      ['r1', start + 1],
      ['r2', start + 1],
      ['r3', start + 1],
    ]);
    expect(fleet.runners.map((r: { instruments: unknown }) => r.instruments)).toEqual([null, null, ['EUR_USD']]);

    // 40 changes (none a no-op) split over both replicas.
    const update = 'mutation($s: Int!) { updateConfig(input: { scanIntervalSeconds: $s }) { config { version } } }';
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? b : a).gql(update, { s: 100 + i })));
    expect(answers.map((r) => r.status)).toEqual(Array(40).fill(200));
    const versions = answers.map((r) => r.body.data?.updateConfig.config.version as number);
    expect(new Set(versions).size).toBe(40);
    expect(Math.max(...versions)).toBe(start + 41);
    const audit = await b.gql('{ auditLog(last: 100) { version operation } }');
    expect(audit.body.data?.auditLog.filter((e: { operation: string }) => e.operation === 'updateConfig')).toHaveLength(40);

    // 10 with the same expectedVersion over both replicas: one accepted, nine 409.
    const expected = start + 41;
    const raced = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? b : a).gql(
          'mutation($s: Int!, $v: Int!) { updateConfig(input: { scanIntervalSeconds: $s }, expectedVersion: $v) { config { version } } }',
          {
            s: 500 + i,
            v: expected,
          },
        ),
      ),
    );
    expect(raced.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(409)]);
    for (const r of raced.filter((x) => x.status === 409)) expect(r.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('a SIGKILLed runner goes STALE and stays listed; etcd stopped: 503 UNAVAILABLE, reads answer, /ready 503; back: everything reconverges', async () => {
    const { cluster, prefix, a, b, runners, status } = await startFleet();
    await runners[1]?.stop('SIGKILL');
    const r2Stale = (s: any) =>
      s?.runners.length === 3 && s.runners.some((r: { id: string; state: string }) => r.id === 'r2' && r.state === 'STALE');
    await waitUntil(() => status(a), r2Stale, { what: 'r2 STALE on A', ...STALE_WAIT });
    await waitUntil(() => status(b), r2Stale, { what: 'r2 STALE on B', ...STALE_WAIT });
    // Its key stays (STALE on every replica) for the 10-minute retention, not the few heartbeats a
    // clean stop keeps: at 200 ms heartbeats a 2 s lease dropped a crashed runner before a scrape saw it.
    expect(await grantedTtl(cluster, `/${prefix}/runners/r2`)).toBe(600);
    // stratctl status names the runner at fault: a line per runner, r2 STALE among them; --json lists them.
    const text = await stratctlAt(b.url, ['status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^runners:\s+3, worst STALE/m);
    expect(text.stdout).toMatch(/^ {2}r1:\s+RUNNING, in sync/m);
    expect(text.stdout).toMatch(/^ {2}r2:\s+STALE, /m);
    expect(text.stdout).toMatch(/^ {2}r3:\s+RUNNING, in sync/m);
    const json = JSON.parse((await stratctlAt(b.url, ['status', '--json'])).stdout);
    expect(json.runners.map((r: { id: string; state: string }) => [r.id, r.state])).toEqual([
      ['r1', 'RUNNING'],
      ['r2', 'STALE'],
      ['r3', 'RUNNING'],
    ]);
    const metrics = await (await fetch(new URL('/metrics', b.url))).text();
    expect(metrics).toContain('control_plane_runner_state{runner="r2",state="STALE"} 1');
    expect(metrics).toContain('control_plane_runners{state="STALE"} 1');
    // --wait waits for the live runners, and says which listed one it did not wait for.
    const waited = await stratctlAt(a.url, ['activate', 'range', '--wait', '--json']);
    expect(waited.code).toBe(0);
    expect(JSON.parse(waited.stdout).runnerWait).toMatchObject({
      applied: true,
      waitedFor: ['r1', 'r3'],
      notWaitedFor: ['r2 STALE'],
      message: expect.stringMatching(/^2 runners \(r1, r3\) applied it in \d+ ms; not waited for, not running: r2 STALE$/),
    });
    const waitedText = await stratctlAt(a.url, ['activate', 'momentum', '--wait']);
    expect(waitedText.stdout).toMatch(
      /\nthe 2 runners applied it \(\d+ ms\): r1, r3\nnot waited for, not running: r2 STALE \(see stratctl status\)\n$/,
    );

    const before = await status(a);
    await cluster.members[0]?.stop();
    const refused = await a.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(refused.body.errors?.[0]).toMatchObject({ message: 'Config store unavailable', extensions: { code: 'UNAVAILABLE' } });
    const read = await a.gql(RUNNERS);
    expect(read.status).toBe(200);
    expect(read.body.data?.status).toMatchObject({ configVersion: before.configVersion, store: { kind: 'ETCD', connected: false } });
    expect((await fetch(new URL('/ready', a.url))).status).toBe(503);

    await cluster.members[0]?.start();
    await waitHealthy(cluster);
    await waitUntil(
      async () => (await fetch(new URL('/ready', b.url))).status,
      (s) => s === 200,
      { what: 'B ready again' },
    );
    const again = await b.gql(
      'mutation { activateStrategy(strategyKey: "range", waitForRunner: true, timeoutMs: 10000) { configVersion runnerWait { applied } } }',
    );
    expect(again.body.data?.activateStrategy).toEqual({ configVersion: before.configVersion + 1, runnerWait: { applied: true } });
    await waitUntil(
      () => status(a),
      (s) => s?.configVersion === before.configVersion + 1 && s.store.connected,
      { what: 'A reconverged' },
    );
  });
});

describeWithEtcd("a runner id is the fleet's: one running runner per id on etcd", () => {
  it("a second runner with a running runner's id is refused (75); after a crash the id is free again; a frozen one taken over stops when it resumes", async () => {
    const cluster = await startEtcd();
    const store = cluster.url(freshPrefix());
    const args = async () => [
      'runner',
      '--store',
      store,
      '--runner-id',
      'acct-fx',
      '--heartbeat-ms',
      HEARTBEAT_MS,
      '--feed',
      'sim:7',
      '--runtime-dir',
      await tempRuntimeDir(),
    ];
    const api = await spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', store], { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    const first = spawnStratctl(await args(), { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    await first.waitFor(/strategy runner started/);
    const second = spawnStratctl(await args(), { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    // Refused within the few heartbeats it watches (a bound, so a runner that starts anyway fails here, not at the test's timeout).
    const code = await Promise.race([second.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 20_000))]);
    expect(code).toBe(75);
    expect(second.stderr()).toContain(`runner id acct-fx is in use by process ${first.proc.pid}`);
    expect(second.stderr()).toContain('give this runner another --runner-id');
    // The first one never stopped scanning, and is the only acct-fx.
    const runners = async () => (await gql(api.url, '{ status { runners { id pid state } } }')).body.data?.status.runners;
    expect(await runners()).toEqual([{ id: 'acct-fx', pid: first.proc.pid, state: 'RUNNING' }]);

    // A crash leaves its key until the lease runs out: the next one (on this host: its pid checked) takes it over.
    await first.stop('SIGKILL');
    const next = spawnStratctl(await args(), { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    await next.waitFor(/strategy runner started/);
    await waitUntil(runners, (list) => list?.length === 1 && list[0].pid === next.proc.pid && list[0].state === 'RUNNING', {
      what: 'the new acct-fx running',
    });

    // Frozen, not dead (SIGSTOP: a paused VM, a debugger): taken over once it has gone STALE...
    next.proc.kill('SIGSTOP');
    await waitUntil(runners, (list) => list?.[0]?.state === 'STALE', { what: 'the frozen acct-fx STALE', ...STALE_WAIT });
    const third = spawnStratctl(await args(), { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    await third.waitFor(/strategy runner started/);
    await waitUntil(runners, (list) => list?.length === 1 && list[0].pid === third.proc.pid && list[0].state === 'RUNNING', {
      what: 'the third acct-fx running',
    });
    // ...and when it resumes it stops (75) instead of publishing, and scanning, beside the new one.
    next.proc.kill('SIGCONT');
    // Told at its first heartbeat that reaches etcd: within a second when quiet; a whole suite's load
    // has held etcd's answers past their 2 s deadline for a while (one full run took over 20 s). One
    // that never stopped was a bug, not load: frozen before its first write's answer came, it wrote
    // over the new one's state (test/etcd/fleet.test.ts, "answer was lost").
    const resumed = await Promise.race([next.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 45_000))]);
    expect(resumed, `the resumed runner's stderr:\n${next.stderr()}`).toBe(75);
    expect(next.stderr()).toContain(`runner id acct-fx was taken over by process ${third.proc.pid}`);
    expect(await runners()).toEqual([{ id: 'acct-fx', pid: third.proc.pid, state: 'RUNNING' }]);
  }, 120_000);
});

/** `stratctl runner` under the id acct-fx on `store`, heartbeating every 10 s, in a runtime dir of its own. */
const slowRunnerArgs = async (store: string) => [
  'runner',
  '--store',
  store,
  '--runner-id',
  'acct-fx',
  '--heartbeat-ms',
  '10000',
  '--feed',
  'sim:7',
  '--runtime-dir',
  await tempRuntimeDir(),
];

describeWithEtcd('a runner killed -9 and started again on the same host under its id (etcd)', () => {
  it('takes the id over at once: the dead process is checked by its pid, not watched for 3 heartbeats', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const store = cluster.url(prefix);
    // Heartbeats every 10 s: waiting 3 of them out would take 30 s.
    const args = () => slowRunnerArgs(store);
    const first = spawnStratctl(await args(), { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    await first.waitFor(/strategy runner started/);
    await waitUntil(
      async () => (await rawClient(cluster).get(`/${prefix}/runners/acct-fx`).json()) as { pid: number } | null,
      (state) => state?.pid === first.proc.pid,
      { what: 'the first runner published' },
    );
    await first.stop('SIGKILL');
    const next = spawnStratctl(await args(), { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    await next.waitFor(/strategy runner started/, 15_000);
    expect(next.stderr()).toContain(
      `runner id acct-fx is published by process ${first.proc.pid} on ${hostname()}, which is not running (its pid is gone or another process's now); taking the id over`,
    );
    expect(next.stderr()).not.toContain('waiting up to 3 heartbeats');
  });

  it('a second one while the first runs is refused at once (75): the running process is checked by its pid too', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const store = cluster.url(prefix);
    // Heartbeats every 10 s: a refusal after watching 3 of them would come 30 s later.
    const args = () => slowRunnerArgs(store);
    const first = spawnStratctl(await args(), { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    await first.waitFor(/strategy runner started/);
    const key = `/${prefix}/runners/acct-fx`;
    await waitUntil(
      async () => (await rawClient(cluster).get(key).json()) as { pid: number } | null,
      (state) => state?.pid === first.proc.pid,
      { what: 'the first runner published' },
    );
    const second = spawnStratctl(await args(), { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    const code = await Promise.race([second.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 20_000))]);
    expect(code).toBe(75);
    // Refused from what its pid says, not after a heartbeat seen while watching (the old way).
    expect(second.stderr()).toMatch(
      new RegExp(
        `runner id acct-fx is in use by process ${first.proc.pid} on ${hostname()}, which is running \\(its pid runs on this host, and it published a heartbeat [\\d.]+ s ago\\)`,
      ),
    );
    expect(second.stderr()).not.toContain('waiting up to 3 heartbeats');
    // The first one's state untouched by the refused one, and the first runs on.
    expect(await rawClient(cluster).get(key).json()).toMatchObject({ pid: first.proc.pid });
    expect(first.proc.exitCode).toBeNull();
  });
});

// A container: `unshare` gives the runner a pid namespace of its own, in which it is pid 1 (as
// `node` is in this project's image); the host name stays, as with host networking.
const inPidNamespace = spawnSync('unshare', ['-rpf', '--mount-proc', process.execPath, '-e', 'process.exit(process.pid === 1 ? 0 : 1)']);

describeWithEtcd('two containers with one host name, each runner pid 1, under one --runner-id (etcd)', () => {
  it.runIf(inPidNamespace.status === 0)(
    "the second is refused (75) once the first beats: the same host and pid in another pid namespace are another process's",
    async () => {
      const cluster = await startEtcd();
      const prefix = freshPrefix();
      const store = cluster.url(prefix);
      const container = async () =>
        // --kill-child: the runner gets SIGKILL when unshare itself is killed (after the test).
        spawnProcess(
          'unshare',
          [
            '-rpf',
            '--mount-proc',
            '--kill-child',
            process.execPath,
            STRATCTL_BIN,
            'runner',
            '--store',
            store,
            '--runner-id',
            'acct-fx',
            '--heartbeat-ms',
            '200',
            '--feed',
            'sim:7',
            '--runtime-dir',
            await tempRuntimeDir(),
          ],
          { env: cliEnv({ CONTROL_PLANE_LOG_FORMAT: 'text' }) },
        );
      const published = async () =>
        (await rawClient(cluster).get(`/${prefix}/runners/acct-fx`).json()) as {
          pid: number;
          pidns?: string;
          heartbeatAt: string;
          stopped: boolean;
        } | null;
      const first = await container();
      await first.waitFor(/strategy runner started \(pid 1\)/);
      const firstState = await waitUntil(published, (state) => state?.pid === 1, { what: 'the first runner published' });
      const second = await container();
      // Without the pidns check the second took the first's state for its own: it started
      // ("strategy runner started (pid 1)") and both published, and scanned, as acct-fx.
      const code = await Promise.race([second.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 20_000))]);
      expect([code, second.stdout()]).toEqual([75, '']);
      expect(second.stderr()).toContain(`runner id acct-fx is published by process 1 on ${hostname()}; waiting up to 3 heartbeats`);
      expect(second.stderr()).toContain(`runner id acct-fx is in use by process 1 on ${hostname()}`);
      // The first one runs on, the only acct-fx: its heartbeats go on, from its own namespace.
      const before = await published();
      await waitUntil(published, (state) => state?.heartbeatAt !== before?.heartbeatAt, { what: 'the first runner beating on' });
      expect(await published()).toMatchObject({ pid: 1, pidns: firstState?.pidns, stopped: false });
      expect(first.stderr()).not.toContain('taken over');
      await first.stop('SIGKILL');
    },
    60_000,
  );
});

describeWithEtcd('a runner stopped while it waits for a valid config (etcd)', () => {
  it('SIGTERM while the stored config is invalid (never a good one): its last state says STOPPED, as the API then shows it', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const store = cluster.url(prefix);
    const raw = rawClient(cluster);
    const config =
      'active_strategy_key: nosuch\ntrading_enabled: true\nscan_interval_seconds: 30\ntunable_overrides: {}\nversion: 1\nupdated_at: 2026-12-01T00:00:00Z\n';
    await raw.put(`/${prefix}/config`).value(config);
    const runner = spawnStratctl(
      [
        'runner',
        '--store',
        store,
        '--runner-id',
        'acct-fx',
        '--heartbeat-ms',
        HEARTBEAT_MS,
        '--feed',
        'sim:7',
        '--runtime-dir',
        await tempRuntimeDir(),
      ],
      { CONTROL_PLANE_TOKEN: TEST_TOKEN },
    );
    await runner.waitFor(/strategy runner started/);
    expect(await runner.stop('SIGTERM')).toBe(0);
    // An API refuses to start on that config: fixed (by hand, as an operator would), one starts and reads what the runner left.
    await raw.put(`/${prefix}/config`).value(config.replace('nosuch', 'gold'));
    const api = await spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', store], { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    const status = (await gql(api.url, '{ status { runners { id state error appliedConfigVersion } } }')).body.data?.status;
    expect(status?.runners).toEqual([
      {
        id: 'acct-fx',
        state: 'STOPPED',
        error: expect.stringMatching(/^config file invalid: .*waiting for a valid one before the first scan$/s),
        appliedConfigVersion: null,
      },
    ]);
  }, 60_000);
});
