import { expect, it } from 'vitest';
import { tokenDigest } from '../../src/auth/token-file.js';
import { TokenRefusedError } from '../../src/auth/token-store.js';
import { RunnerFleet } from '../../src/runner/fleet.js';
import { type RunnerState, runnerHealth } from '../../src/runner/state.js';
import { EtcdGateway } from '../../src/store-etcd/gateway.js';
import { DEAD_RUNNER_RETENTION_SECONDS, liveRunnerLeaseSeconds, runnerLeaseSeconds } from '../../src/store-etcd/index.js';
import { etcdKeys } from '../../src/store-etcd/keys.js';
import { EtcdMirror } from '../../src/store-etcd/mirror.js';
import { EtcdRunnerSource, FOUND_STATE_CLOCK_ALLOWANCE_MS, type RunnerIdHolder } from '../../src/store-etcd/runners.js';
import { parseEtcdStoreUrl } from '../../src/store-etcd/url.js';
import { describeWithEtcd, type EtcdCluster, startEtcd, waitHealthy } from '../helpers/etcd.js';
import { eventually, freshPrefix, grantedTtl, openReplica, rawClient } from '../helpers/etcd-stores.js';
import { liveRunnerState } from '../helpers/fake-runners.js';
import { stratctl } from '../helpers/stratctl.js';
import { waitUntil } from '../helpers/wait.js';

let shared: EtcdCluster | null = null;
const cluster = async () => {
  shared ??= await startEtcd({ lifetime: 'file' });
  return shared;
};

describeWithEtcd('etcd tokens and runners (real etcd)', () => {
  it('a token created on A is found on B at once; revoked on B, it is refused on A at once', async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    const a = await openReplica(c, prefix);
    const b = await openReplica(c, prefix);
    const token = await a.tokens.create('ci-bot', 'operate');
    // No wait: B's watch may not have brought it yet, and find must still see it.
    expect(await b.tokens.find(tokenDigest(token))).toMatchObject({ name: 'ci-bot', scope: 'operate' });
    expect(await b.tokens.revoke('ci-bot')).toBe(true);
    expect(await a.tokens.find(tokenDigest(token))).toBeUndefined();
    expect(await a.tokens.revoke('ci-bot')).toBe(false);
    // Only the digest is stored.
    const stored = await rawClient(c).getAll().prefix(`/${prefix}/tokens/`).strings();
    expect(JSON.stringify(stored)).not.toContain(token);
  });

  it('lists tokens, refuses a duplicate name and reserved names', async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    const a = await openReplica(c, prefix);
    await a.tokens.create('reader', 'read');
    await a.tokens.create('ops', 'admin');
    expect((await a.tokens.list()).map((t) => [t.name, t.scope])).toEqual([
      ['reader', 'read'],
      ['ops', 'admin'],
    ]);
    await expect(a.tokens.create('reader', 'admin')).rejects.toThrow(/a token named "reader" exists/);
    for (const name of ['admin', 'file', 'etcd', 'Bad Name', 'admin.'])
      await expect(a.tokens.create(name, 'read')).rejects.toBeInstanceOf(TokenRefusedError);
    const concurrent = await Promise.allSettled([a.tokens.create('race', 'read'), a.tokens.create('race', 'read')]);
    expect(concurrent.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  it('a token record put by hand under the wrong name is refused, not trusted', async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    const a = await openReplica(c, prefix);
    const sha256 = tokenDigest('x'.repeat(40));
    await rawClient(c)
      .put(`/${prefix}/tokens/innocent`)
      .value(JSON.stringify({ name: 'other', scope: 'admin', sha256, created_at: new Date().toISOString() }));
    expect(await a.tokens.find(sha256)).toBeUndefined();
  });

  it('a token record put by hand under a reserved name (system) is refused, never an audit actor', async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    const warnings: string[] = [];
    const a = await openReplica(c, prefix, { warn: (message: string) => warnings.push(message) });
    const sha256 = tokenDigest('s'.repeat(40));
    const record = { scope: 'admin', sha256, created_at: new Date().toISOString() };
    await rawClient(c)
      .put(`/${prefix}/tokens/system`)
      .value(JSON.stringify({ name: 'system', ...record }));
    expect(await a.tokens.find(sha256)).toBeUndefined();
    expect(await a.tokens.list()).toEqual([]);
    expect(warnings).toContain(`etcd store: /${prefix}/tokens/system is not a token record; that token is refused`);
    // The same record under an allowed name is a token: only the name refused it.
    await rawClient(c)
      .put(`/${prefix}/tokens/desk`)
      .value(JSON.stringify({ name: 'desk', ...record }));
    expect((await a.tokens.find(sha256))?.name).toBe('desk');
  });

  it('rotate never puts a record find cannot read: a kept lifetime past 3650 days (a hand-written "never") and an expiry past year 9999 are refused, the record unchanged', async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    const raw = rawClient(c);
    const key = `/${prefix}/tokens/forever`;
    const forever = 'forever-token-0123456789abcdefghijkl';
    const record = JSON.stringify({
      name: 'forever',
      scope: 'read',
      sha256: tokenDigest(forever),
      created_at: '2026-01-01T00:00:00Z',
      expires_at: '9999-12-31T00:00:00Z',
    });
    await raw.put(key).value(record);
    const refused = await stratctl(['token', 'rotate', 'forever', '--store', c.url(prefix)]);
    expect([refused.code, refused.stdout]).toEqual([2, '']);
    expect(refused.stderr).toMatch(
      /^stratctl token rotate: token "forever" was given a lifetime of \d+ days .*: give --expires-in, --expires-at or --no-expiry; nothing changed$/m,
    );
    expect(await raw.get(key).string()).toBe(record);

    // Asked of the store itself (not through the CLI's flags): an expiry that renders past year 9999 is not put either.
    const a = await openReplica(c, prefix);
    await expect(a.tokens.rotate('forever', { expiresAt: new Date(8.64e15) })).rejects.toThrow(
      /the new record for token "forever" would not be a sound token record: nothing written/,
    );
    await expect(a.tokens.create('later', 'read', { expiresAt: new Date(8.64e15) })).rejects.toBeInstanceOf(TokenRefusedError);
    expect(await raw.get(key).string()).toBe(record);
    expect(await raw.get(`/${prefix}/tokens/later`).string()).toBeNull();
    expect((await a.tokens.find(tokenDigest(forever)))?.name).toBe('forever');
  });

  it('runners publish under leases: every replica lists them; a dead one stays listed STALE for the retention, then drops out', async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    const api = await openReplica(c, prefix);
    // A 4 s retention instead of 10 min: twice the 2 s a stopped runner's lease has at 200 ms heartbeats.
    const runnerProcess = await openReplica(c, prefix, { deadRunnerRetentionSeconds: 4 });
    const seen: number[] = [];
    api.runners.subscribe(() => seen.push(api.runners.list().length));
    const r1 = runnerProcess.runnerPublisher('host-a:1');
    const r2 = runnerProcess.runnerPublisher('host-b:2');
    await r2.publish(liveRunnerState('host-b:2', { instruments: ['XAU_USD'] }));
    await r1.publish(liveRunnerState('host-a:1'));
    await eventually('both listed', () => api.runners.list().length === 2);
    expect(api.runners.list().map((r) => [r.id, r.instruments])).toEqual([
      ['host-a:1', null],
      ['host-b:2', ['XAU_USD']],
    ]);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(await grantedTtl(c, `/${prefix}/runners/host-a:1`)).toBe(4);
    expect(runnerLeaseSeconds(200)).toBe(2);

    // The runner process dies: no clean stop, its connection (and so its keepalives) just end.
    const diedAt = Date.now();
    await runnerProcess.close();
    let staleAt = 0;
    await eventually(
      'the dead runners drop out',
      () => {
        const listed = api.runners.list();
        if (!staleAt && listed.length === 2 && listed.every((r) => runnerHealth(r, Date.now()) === 'STALE')) staleAt = Date.now();
        return listed.length === 0;
      },
      15_000,
    );
    expect(staleAt).toBeGreaterThan(0);
    // Listed, STALE, until the retention ran out (etcd may round a TTL up, never down): not at a
    // stopped runner's 2 s.
    expect(Date.now() - diedAt).toBeGreaterThanOrEqual(3500);
  });

  it('a runner that cannot publish through an etcd outage says so once, and once when it publishes again (not once per heartbeat)', async () => {
    const own = await startEtcd();
    const warnings: string[] = [];
    // A short deadline (1 s, not 2) so the outage's heartbeats fail quickly; long enough that a loaded machine does not fail one while etcd is up.
    // The end of the spell is said at INFO (a log alert on WARN would fire on the recovery itself).
    const infos: string[] = [];
    const runnerProcess = await openReplica(own, freshPrefix(), {
      callTimeoutMs: 1_000,
      warn: (m) => warnings.push(m),
      info: (m) => infos.push(m),
    });
    const publisher = runnerProcess.runnerPublisher('r-outage');
    const heartbeat = () => publisher.publish(liveRunnerState('r-outage'));
    await heartbeat();
    await own.members[0]?.stop();
    // Each heartbeat waits for its attempt (failed at the deadline): four of them in the outage.
    for (let i = 0; i < 4; i++) await heartbeat();
    const failed = warnings.filter((w) => w.includes('could not publish its state'));
    expect(failed).toEqual([
      expect.stringMatching(
        /^etcd store: runner r-outage could not publish its state: .*; the API shows it STALE until it can \(said again once it does\); the runner scans on$/,
      ),
    ]);
    await own.members[0]?.start();
    await waitHealthy(own);
    await waitUntil(
      async () => {
        await heartbeat();
        return infos.filter((w) => w.includes('publishes its state again'));
      },
      (again) => again.length > 0,
      { what: 'a heartbeat published again' },
    );
    expect(warnings.filter((w) => w.includes('publishes its state again'))).toEqual([]);
    expect(infos.filter((w) => w.includes('publishes its state again'))).toEqual(['etcd store: runner r-outage publishes its state again']);
    for (let i = 0; i < 3; i++) await heartbeat();
    expect(warnings.filter((w) => w.includes('could not publish its state'))).toHaveLength(1);
    expect(infos.filter((w) => w.includes('publishes its state again'))).toHaveLength(1);
  }, 60_000);

  it("a live runner's key lives as long as the retention (10 min by default), a stopped runner's only a few heartbeats", async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    const runnerProcess = await openReplica(c, prefix);
    const key = `/${prefix}/runners/prod:1`;
    const publisher = runnerProcess.runnerPublisher('prod:1');
    await publisher.publish(liveRunnerState('prod:1', { heartbeatIntervalMs: 2000 }));
    expect(DEAD_RUNNER_RETENTION_SECONDS).toBe(600);
    expect(liveRunnerLeaseSeconds(2000)).toBe(600);
    expect(await grantedTtl(c, key)).toBe(600);
    await publisher.publish(liveRunnerState('prod:1', { heartbeatIntervalMs: 2000, stopped: true }));
    expect(await grantedTtl(c, key)).toBe(runnerLeaseSeconds(2000));
    expect(runnerLeaseSeconds(2000)).toBe(10);
    await publisher.close();
    // The live lease was revoked (a stopped runner holds no 10-minute lease), and the key kept.
    const leases = await rawClient(c).leaseClient.leaseLeases({});
    const granted = await Promise.all(leases.leases.map((l) => rawClient(c).leaseClient.leaseTimeToLive({ ID: l.ID })));
    expect(granted.filter((l) => Number(l.grantedTTL) === 600 && Number(l.TTL) > 0)).toEqual([]);
    expect((await rawClient(c).get(key).json()) as RunnerState).toMatchObject({ id: 'prod:1', stopped: true });
  });

  it('a runner whose id another process took over while it was not heard from writes nothing more, and is told by whom', async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    const key = `/${prefix}/runners/acct-fx`;
    const stored = async () => (await rawClient(c).get(key).json()) as RunnerState | null;
    const told: RunnerIdHolder[] = [];
    const first = (await openReplica(c, prefix)).runnerPublisher('acct-fx', (holder) => told.push(holder));
    const mine = (patch: Partial<RunnerState> = {}) => liveRunnerState('acct-fx', { pid: 1, host: 'host-a', ...patch });
    await first.publish(mine());
    await first.publish(mine({ scanCount: 1 })); // its own heartbeats: each over its own last write
    // The key gone (its lease ran out in a long freeze, or an etcdctl del): written again, not a takeover.
    await rawClient(c).delete().key(key);
    await first.publish(mine({ scanCount: 2 }));
    expect(await stored()).toMatchObject({ pid: 1, scanCount: 2 });
    // Junk put there by hand is no runner: written over.
    await rawClient(c).put(key).value('not a runner state');
    await first.publish(mine({ scanCount: 3 }));
    expect(await stored()).toMatchObject({ pid: 1, scanCount: 3 });
    expect(told).toEqual([]);

    // Another process takes the id over (as claim lets it after 3 silent heartbeats)...
    const second = (await openReplica(c, prefix)).runnerPublisher('acct-fx');
    await second.publish(liveRunnerState('acct-fx', { pid: 2, host: 'host-b' }));
    // ...and the first one, frozen meanwhile, resumes: it must not publish over the new one.
    await first.publish(mine({ scanCount: 4 }));
    expect(told).toEqual([{ pid: 2, host: 'host-b', how: 'taken-over' }]);
    expect(await stored()).toMatchObject({ pid: 2, host: 'host-b', stopped: false });
    // Nor does its final state: the id is the other one's.
    await first.publish(mine({ scanCount: 4, stopped: true }));
    await first.close();
    expect(await stored()).toMatchObject({ pid: 2, host: 'host-b', stopped: false });
    expect(told).toHaveLength(1);
  });

  it.each([
    ['claimed at its start, as a runner is', true],
    ['never claimed (its first write reads the key first)', false],
  ])(
    'a runner whose write landed but whose answer was lost, %s, never writes over the process that took its id over meanwhile',
    async (_, claimed) => {
      const c = await cluster();
      const prefix = freshPrefix();
      const key = `/${prefix}/runners/acct-fx`;
      const stored = async () => (await rawClient(c).get(key).json()) as RunnerState | null;
      const told: RunnerIdHolder[] = [];
      const infos: string[] = [];
      // The first heartbeat runs, and lands; its answer never reaches the runner (frozen just after
      // sending it: a SIGSTOP, a VM pause, a loaded host), which sees a timeout.
      let loseNext = true;
      const replica = await openReplica(c, prefix, {
        info: (message: string) => infos.push(message),
        onGateway: (gateway) => {
          const call = gateway.call.bind(gateway);
          gateway.call = (async (operation: string, fn: never, deadline?: number) => {
            if (operation !== 'runner heartbeat' || !loseNext) return call(operation, fn, deadline);
            loseNext = false;
            await call(operation, fn, deadline);
            throw gateway.unavailable(operation, new Error('no answer within 2000 ms'));
          }) as EtcdGateway['call'];
        },
      });
      const first = replica.runnerPublisher('acct-fx', (holder) => told.push(holder));
      if (claimed) await first.claim?.({ host: 'host-a', pid: 1 });
      const mine = (patch: Partial<RunnerState> = {}) => liveRunnerState('acct-fx', { pid: 1, host: 'host-a', ...patch });
      await first.publish(mine());
      expect(loseNext).toBe(false);
      expect(await stored()).toMatchObject({ pid: 1, host: 'host-a' });
      // Another process takes the id over while the first is not heard from...
      const second = (await openReplica(c, prefix)).runnerPublisher('acct-fx');
      await second.publish(liveRunnerState('acct-fx', { pid: 2, host: 'host-b' }));
      // ...and the first, resuming, is told so and writes nothing: its first write was unconditional,
      // and with its answer lost so was the next, which wrote over the new runner's state (a resumed
      // runner ran beside its successor for the rest of a clean-clone CI run's 45 s wait).
      await first.publish(mine({ scanCount: 1 }));
      // Not the holder its start took the id from (there was none): taken over while not heard from.
      expect(told).toEqual([{ pid: 2, host: 'host-b', how: 'taken-over' }]);
      expect(await stored()).toMatchObject({ pid: 2, host: 'host-b' });
      // Nor does it say it publishes again: it was taken over.
      expect(infos.filter((line) => line.includes('publishes its state again'))).toEqual([]);
      await first.close();
    },
  );

  it("a state published under the id between a runner's start (its claim) and its first write is not written over: that runner is told, and stops", async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    const key = `/${prefix}/runners/acct-fx`;
    const stored = async () => (await rawClient(c).get(key).json()) as RunnerState | null;
    // Another host's runner, silent: watched for 3 of its heartbeats (0.6 s here), then taken over.
    const holder = (heartbeatAt: string) => liveRunnerState('acct-fx', { pid: 2, host: 'host-b', heartbeatAt });
    await rawClient(c)
      .put(key)
      .value(JSON.stringify(holder(new Date().toISOString())));
    const told: RunnerIdHolder[] = [];
    const starting = (await openReplica(c, prefix)).runnerPublisher('acct-fx', (who) => told.push(who));
    await starting.claim?.({ host: 'host-a', pid: 1 });
    // It was only frozen, and publishes again before the new runner's first write...
    const resumed = new Date().toISOString();
    await rawClient(c)
      .put(key)
      .value(JSON.stringify(holder(resumed)));
    // ...which is made over the key as the claim read it: refused, and the new runner told whose it is.
    await starting.publish(liveRunnerState('acct-fx', { pid: 1, host: 'host-a' }));
    // The holder it took the id from, resumed: said so, not "taken over while not heard from".
    expect(told).toEqual([{ pid: 2, host: 'host-b', how: 'resumed' }]);
    expect(await stored()).toMatchObject({ pid: 2, host: 'host-b', heartbeatAt: resumed });
    await starting.close();
  });

  it('two runners started under one id at the same moment: both find it free, and the one whose first write lands second is told another started with it, not that it was taken over', async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    const key = `/${prefix}/runners/dup1`;
    const told: RunnerIdHolder[][] = [[], []];
    const [a, b] = await Promise.all(
      [0, 1].map(async (i) => (await openReplica(c, prefix)).runnerPublisher('dup1', (holder) => told[i]!.push(holder))),
    );
    // Both starts read the key before either wrote: free, for both.
    await Promise.all([a!.claim?.({ host: 'host-a', pid: 1 }), b!.claim?.({ host: 'host-b', pid: 2 })]);
    await a!.publish(liveRunnerState('dup1', { pid: 1, host: 'host-a' }));
    await b!.publish(liveRunnerState('dup1', { pid: 2, host: 'host-b' }));
    // Its first write found the other's: it was never not heard from (it had not been heard from at all).
    expect(told).toEqual([[], [{ pid: 1, host: 'host-a', how: 'together' }]]);
    expect(await rawClient(c).get(key).json()).toMatchObject({ pid: 1, host: 'host-a' });
    // The winner goes on publishing over its own writes, the other writes nothing more.
    await b!.publish(liveRunnerState('dup1', { pid: 2, host: 'host-b', scanCount: 1 }));
    await a!.publish(liveRunnerState('dup1', { pid: 1, host: 'host-a', scanCount: 1 }));
    expect(await rawClient(c).get(key).json()).toMatchObject({ pid: 1, host: 'host-a', scanCount: 1 });
    expect(told).toEqual([[], [{ pid: 1, host: 'host-a', how: 'together' }]]);
    await Promise.all([a!.close(), b!.close()]);
  });

  it("a runner's health is judged by when this replica received its state, not by the runner host's clock", async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    // This replica's clock, moved by the test.
    let clock = Date.now();
    const api = await openReplica(c, prefix, { now: () => new Date(clock) });
    const fleet = new RunnerFleet(api.runners, { tickMs: 60_000, now: () => clock });
    try {
      const runnerProcess = await openReplica(c, prefix);
      // Runners on hosts whose clocks are an hour behind and an hour ahead of this one (STALE after 3 x 200 ms).
      const hour = 3_600_000;
      await runnerProcess
        .runnerPublisher('behind:1')
        .publish(liveRunnerState('behind:1', { heartbeatAt: new Date(Date.now() - hour).toISOString() }));
      await runnerProcess
        .runnerPublisher('ahead:1')
        .publish(liveRunnerState('ahead:1', { heartbeatAt: new Date(Date.now() + hour).toISOString() }));
      await eventually('both listed', () => fleet.views().length === 2);
      const health = () => fleet.views().map((v) => [v.state?.id, v.health]);
      // Judged by heartbeatAt, "behind" would be STALE for an hour already.
      clock += 500;
      expect(health()).toEqual([
        ['ahead:1', 'RUNNING'],
        ['behind:1', 'RUNNING'],
      ]);
      // Nothing heard for longer than 3 heartbeats: judged by heartbeatAt, "ahead" would look alive for an hour.
      clock += 200;
      // Once a fresh read of the runners' keys finds nothing newer (asked for by this first look).
      expect(health()).toEqual([
        ['ahead:1', 'RUNNING'],
        ['behind:1', 'RUNNING'],
      ]);
      await eventually('both STALE', () => health().every(([, h]) => h === 'STALE'));
      expect(health()).toEqual([
        ['ahead:1', 'STALE'],
        ['behind:1', 'STALE'],
      ]);
      const ahead = api.runners.list().find((r) => r.id === 'ahead:1');
      expect(ahead && runnerHealth(ahead, clock)).toBe('RUNNING');
    } finally {
      fleet.close();
    }
  });

  it("a replica that starts after a runner died shows it STALE at once, by its last heartbeat's time, when that is older than 3 heartbeats and the clock allowance; live runners found at start stay RUNNING", async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    const clock = Date.now();
    const runnerProcess = await openReplica(c, prefix);
    // STALE after 3 x 200 ms: one died a minute ago (its key outlives it), one whose host runs 4 s behind, one live.
    const at = (ms: number) => new Date(ms).toISOString();
    const gone = clock - 3 * 200 - FOUND_STATE_CLOCK_ALLOWANCE_MS - 60_000;
    await runnerProcess.runnerPublisher('dead:1').publish(liveRunnerState('dead:1', { heartbeatAt: at(gone) }));
    await runnerProcess.runnerPublisher('behind:1').publish(liveRunnerState('behind:1', { heartbeatAt: at(clock - 4_000) }));
    await runnerProcess.runnerPublisher('live:1').publish(liveRunnerState('live:1', { heartbeatAt: at(clock) }));
    // Then this replica starts, its clock held still by the test: it finds the three states.
    const api = await openReplica(c, prefix, { now: () => new Date(clock) });
    const fleet = new RunnerFleet(api.runners, { tickMs: 60_000, now: () => clock });
    try {
      expect(fleet.views().map((v) => [v.state?.id, v.health, v.heardAtMs])).toEqual([
        ['behind:1', 'RUNNING', clock],
        ['dead:1', 'STALE', gone],
        ['live:1', 'RUNNING', clock],
      ]);
      // A waiting activation waits for the live ones only (it waited for the dead one too, 3 heartbeats).
      const wait = await fleet.waitForApplied({ version: 2, digest: 'sha256:none', storeVersion: () => 2 }, 1);
      expect([wait.waitedFor, wait.notWaitedFor.map((r) => `${r.id} ${r.health}`)]).toEqual([['behind:1', 'live:1'], ['dead:1 STALE']]);
    } finally {
      fleet.close();
    }
  });

  it('a heartbeat etcd commits seconds after it was sent (a quorum back) is judged by when it was sent: the runner stays STALE until a fresh one', async () => {
    const appliedVersion = (configVersion: number) => ({
      configVersion,
      configDigest: `sha256:${String(configVersion).repeat(64).slice(0, 64)}`,
      strategyKey: 'momentum',
      scanIntervalSeconds: 60,
      tradingEnabled: false,
      appliedAt: new Date().toISOString(),
    });
    const c = await cluster();
    const prefix = freshPrefix();
    // This replica's clock, moved by the test; the runner's an hour behind it (its offset, not its time, is what counts).
    let clock = Date.now();
    const api = await openReplica(c, prefix, { now: () => new Date(clock) });
    const fleet = new RunnerFleet(api.runners, { tickMs: 60_000, now: () => clock });
    try {
      const publisher = (await openReplica(c, prefix)).runnerPublisher('r1');
      const hour = 3_600_000;
      const startedAt = new Date(clock - hour - 10_000).toISOString();
      const runnerAt = (ms: number) => liveRunnerState('r1', { startedAt, heartbeatAt: new Date(ms - hour).toISOString() });
      const view = () => fleet.views().map((v) => [v.state?.applied?.configVersion ?? null, v.health, v.heardAtMs]);
      await publisher.publish({ ...runnerAt(clock), applied: null });
      await eventually('listed', () => fleet.views().length === 1);
      expect(view()).toEqual([[null, 'RUNNING', clock]]);
      // A heartbeat sent 200 ms later, with a config applied, reaches this replica only 5 s after that.
      const sentAt = clock + 200;
      clock += 5_200;
      await publisher.publish({ ...runnerAt(sentAt), applied: appliedVersion(2) });
      await eventually('the late state heard', () => fleet.views()[0]?.state?.applied?.configVersion === 2);
      // Heard 5 s old: STALE from its first look (it was RUNNING, heard on arrival, before), its age the 5 s.
      expect(view()).toEqual([[2, 'STALE', sentAt]]);
      // Its next heartbeat, sent now, arrives now: RUNNING, heard now.
      await publisher.publish({ ...runnerAt(clock), applied: appliedVersion(3) });
      await eventually('the fresh state heard', () => fleet.views()[0]?.state?.applied?.configVersion === 3);
      expect(view()).toEqual([[3, 'RUNNING', clock]]);
      // A heartbeat a little late (within one heartbeat interval: a busy etcd, a GC) is heard when it arrives.
      const nextSent = clock + 200;
      clock += 350;
      await publisher.publish({ ...runnerAt(nextSent), applied: appliedVersion(3) });
      await eventually('the next state heard', () => fleet.views()[0]?.heardAtMs === clock);
      expect(view()).toEqual([[3, 'RUNNING', clock]]);
      // Another process under the id (restarted, on a host whose clock is far off): judged by its arrival.
      clock += 5_000;
      await publisher.publish(
        liveRunnerState('r1', { startedAt: new Date(clock).toISOString(), heartbeatAt: new Date(clock - 2 * hour).toISOString() }),
      );
      await eventually('the restarted runner heard', () => fleet.views()[0]?.state?.startedAt !== startedAt);
      expect(view()).toEqual([[null, 'RUNNING', clock]]);
    } finally {
      fleet.close();
    }
  });

  it('a live runner whose heartbeats the watch has not delivered is read afresh, not called STALE; a dead one is STALE after that read', async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    let clock = Date.now();
    // This replica's runners, as openEtcdStores makes them, on a mirror the test can reach. No probe:
    // the stuck watch below stays stuck (the probe would re-read everything).
    const url = parseEtcdStoreUrl(c.url(prefix));
    const gateway = new EtcdGateway({ url });
    const mirror = new EtcdMirror(gateway, etcdKeys(url.prefix), { probeIntervalMs: 3_600_000 });
    await mirror.open();
    const source = new EtcdRunnerSource(mirror, etcdKeys(url.prefix), () => clock);
    const fleet = new RunnerFleet(source, { tickMs: 60_000, now: () => clock });
    const told: string[] = [];
    fleet.subscribe(() => told.push(fleet.summary().health));
    try {
      const publisher = (await openReplica(c, prefix)).runnerPublisher('r1');
      await publisher.publish(liveRunnerState('r1', { heartbeatAt: new Date(clock).toISOString() }));
      await eventually('listed', () => fleet.views().length === 1);
      const heard = () => source.list()[0]?.heartbeatAt;
      const first = heard();
      // The watch's stream stays open, but nothing reaches this replica any more (late or stuck).
      (mirror as unknown as { watcher: NodeJS.EventEmitter }).watcher.removeAllListeners('data');
      const later = new Date(clock + 500).toISOString();
      await publisher.publish(liveRunnerState('r1', { heartbeatAt: later }));
      expect(heard()).toBe(first);
      // Past 3 heartbeats (200 ms each) since this replica last heard it.
      clock += 700;
      expect(fleet.views().map((v) => v.health)).toEqual(['RUNNING']);
      await eventually('the fresh read brings the newer heartbeat', () => heard() === later);
      expect(fleet.views().map((v) => v.health)).toEqual(['RUNNING']);
      expect(told).not.toContain('STALE');
      // Then it dies: nothing newer in etcd either, STALE once the read says so.
      clock += 700;
      expect(fleet.views().map((v) => v.health)).toEqual(['RUNNING']);
      await eventually('STALE after the read', () => fleet.views()[0]?.health === 'STALE');
      expect(told.filter((h) => h === 'STALE')).toHaveLength(1);
    } finally {
      fleet.close();
      source.close();
      await mirror.close();
      gateway.close();
    }
  });

  it('a runner that stops cleanly stays listed as stopped until its lease runs out', async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    const api = await openReplica(c, prefix);
    const runnerProcess = await openReplica(c, prefix);
    const publisher = runnerProcess.runnerPublisher('clean:1');
    await publisher.publish(liveRunnerState('clean:1'));
    await publisher.publish(liveRunnerState('clean:1', { stopped: true }));
    await publisher.close();
    await eventually('stopped state seen', () => api.runners.list()[0]?.stopped === true);
    expect(runnerHealth(api.runners.list()[0] ?? null, Date.now())).toBe('STOPPED');
    await eventually('gone after the lease', () => api.runners.list().length === 0, 10_000);
  });
});
