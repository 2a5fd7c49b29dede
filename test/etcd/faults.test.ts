import type { IPolicy } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import { expect, it, onTestFinished } from 'vitest';
import { tokenDigest } from '../../src/auth/token-file.js';
import { StoreUnavailableError } from '../../src/config/errors.js';
import type { StoreEvent } from '../../src/config/store.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { type EtcdGateway, STORE_CALL_TIMEOUT_MS } from '../../src/store-etcd/gateway.js';
import { openEtcdStores } from '../../src/store-etcd/index.js';
import { describeWithEtcd, freePort, startEtcd, waitHealthy } from '../helpers/etcd.js';
import { eventually, freshPrefix, openReplica, recordEvents, setScanInterval } from '../helpers/etcd-stores.js';

const connectionEvents = (events: StoreEvent[]) => events.flatMap((e) => (e.type === 'connection' ? [e.connected] : []));

async function timed<T>(work: Promise<T>): Promise<{ ms: number; outcome: PromiseSettledResult<T> }> {
  const started = Date.now();
  const [outcome] = await Promise.allSettled([work]);
  return { ms: Date.now() - started, outcome: outcome as PromiseSettledResult<T> };
}

/** A member's own view of the cluster (its id, the leader's id), asked of it directly. */
async function statusOf(port: number) {
  const client = new Etcd3({ hosts: `http://127.0.0.1:${port}` });
  try {
    return await client.maintenance.status();
  } finally {
    client.close();
  }
}

/** When (Date.now()) one of `members` first says it is the leader, looked at every 25 ms. */
async function electedAfter(members: readonly { clientPort: number }[]): Promise<number> {
  for (;;) {
    const statuses = await Promise.all(members.map((m) => statusOf(m.clientPort).catch(() => null)));
    if (statuses.some((s) => s && s.leader !== '0' && s.header.member_id === s.leader)) return Date.now();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describeWithEtcd('etcd store faults (real etcd members stopped and started)', () => {
  it('opening a store nobody answers for fails within 2 s, naming it', async () => {
    const port = await freePort();
    const { ms, outcome } = await timed(openEtcdStores(`etcd://127.0.0.1:${port}/scp`, { registry: defaultRegistry }));
    expect(outcome.status === 'rejected' && outcome.reason).toBeInstanceOf(StoreUnavailableError);
    expect(outcome.status === 'rejected' && (outcome.reason as StoreUnavailableError).detail).toContain(`etcd://127.0.0.1:${port}/scp/`);
    expect(ms).toBeLessThan(3000);
  });

  it('etcd stopped: commits refuse within 2 s, reads answer from the watched state, connected is false; back: reconverges without a restart', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const a = await openReplica(cluster, prefix);
    const b = await openReplica(cluster, prefix);
    await a.config.start();
    const token = await a.tokens.create('reader', 'read');
    const before = (await a.config.commit(setScanInterval(41))).current;
    await eventually('B current', () => b.config.state().config.config.version === before.config.version);
    const events = recordEvents(a.config);

    await cluster.members[0]?.stop();
    const refused = await timed(a.config.commit(setScanInterval(42)));
    expect(refused.outcome.status).toBe('rejected');
    expect(refused.outcome.status === 'rejected' && refused.outcome.reason).toBeInstanceOf(StoreUnavailableError);
    expect(refused.ms).toBeLessThan(3000);
    expect(a.config.state().config).toEqual(before);
    expect(a.config.info()).toMatchObject({ kind: 'ETCD', connected: false });
    expect(a.config.info().lastContactAt).not.toBeNull();
    expect(connectionEvents(events)).toEqual([false]);
    await eventually('B notices too (its probe)', () => !b.config.info().connected);
    expect((await timed(a.config.audit({ last: 5 }))).outcome.status).toBe('rejected');
    // Named tokens still authenticate from the watched set.
    expect(await a.tokens.find(tokenDigest(token))).toMatchObject({ name: 'reader' });

    await cluster.members[0]?.start();
    await waitHealthy(cluster);
    await eventually('both reconnect', () => a.config.info().connected && b.config.info().connected);
    expect(connectionEvents(events)).toEqual([false, true]);
    const after = await b.config.commit(setScanInterval(43));
    expect(after.current.config.version).toBe(before.config.version + 1);
    await eventually('A hears B again (watch re-established)', () => a.config.state().config.config.scanIntervalSeconds === 43);
    expect(events.filter((e) => e.type === 'changed')).toMatchObject([{ source: 'replica' }]);
  });

  it('a 3-member cluster keeps committing with one member down, refuses clearly with two down, and recovers', async () => {
    const cluster = await startEtcd({ size: 3 });
    const prefix = freshPrefix();
    const a = await openReplica(cluster, prefix);
    const b = await openReplica(cluster, prefix);
    await a.config.start();
    // The member killed first is the leader (the harder case: the other two elect one while the
    // commits below are sent). A CI run once had a commit's read refused with "etcdserver: leader
    // changed" here; that answer is now sent again (test/unit/etcd-gateway-retry.test.ts), but the
    // moment it takes is rare: this kill alone did not bring it in 4 runs without the retry.
    const statuses = await Promise.all(cluster.members.map((m) => statusOf(m.clientPort)));
    const leader = cluster.members.find((_, i) => statuses[i]!.header.member_id === statuses[i]!.leader)!;
    const [m0, m1] = [leader, ...cluster.members.filter((m) => m !== leader)];

    await m0?.kill();
    const sentAt = Date.now();
    const elected = electedAfter(cluster.members.filter((m) => m !== m0));
    const sent = await Promise.allSettled([a.config.commit(setScanInterval(51)), b.config.commit(setScanInterval(52))]);
    // A commit is sent again within its 2 s while the two elect a leader. Refused only when no leader
    // was there in time (a CI host under load once took longer: the read's own deadline passed on the
    // member, "context deadline exceeded"): then it is a clear 503, and the same commit goes through
    // once there is one. Refused while a leader had been there for a while is a failure.
    const electedAt = await elected;
    const withOneDown = await Promise.all(
      sent.map(async (outcome, i) => {
        if (outcome.status === 'fulfilled') return outcome.value;
        expect(outcome.reason).toBeInstanceOf(StoreUnavailableError);
        const electedAfterMs = electedAt - sentAt;
        expect(
          electedAfterMs,
          `refused (${(outcome.reason as Error).message}) with a leader there ${electedAfterMs} ms after the kill`,
        ).toBeGreaterThan(STORE_CALL_TIMEOUT_MS - 500);
        return [a, b][i]!.config.commit(setScanInterval(51 + i));
      }),
    );
    expect(withOneDown.map((r) => r.changed)).toEqual([true, true]);
    const version = Math.max(...withOneDown.map((r) => r.current.config.version));
    await eventually('both replicas agree', () => [a, b].every((r) => r.config.state().config.config.version === version));

    await m1?.kill();
    const refused = await timed(a.config.commit(setScanInterval(53)));
    expect(refused.outcome.status === 'rejected' && refused.outcome.reason).toBeInstanceOf(StoreUnavailableError);
    expect(refused.ms).toBeLessThan(3000);
    expect(a.config.state().config.config.version).toBe(version);
    await eventually('quorum loss shows as not connected', () => !a.config.info().connected);

    await m1?.start();
    await waitHealthy(cluster);
    await eventually('connected again', () => a.config.info().connected);
    const recovered = await a.config.commit(setScanInterval(54));
    expect(recovered.current.config.version).toBe(version + 1);
    await eventually('B sees it', () => b.config.state().config.config.version === version + 1);
  });
});

/** The parts of etcd3's connection pool this file looks at (not its public API). */
interface EtcdPool {
  constructor: { deterministicOrder: boolean };
  hosts: { host: string; faultHandling: IPolicy }[];
}

describeWithEtcd('a member that hangs (SIGSTOP: takes connections, answers nothing)', () => {
  // The leader too (a stalled disk on the leader): the other two elect one meanwhile, and calls
  // answered "leader changed" or "no leader" are sent again (no failure in 5 runs under CPU and fsync
  // load). Until they have, a healthy member may hold a call past its time: a real timeout.
  it.each([
    ['a follower', false],
    ['the leader', true],
  ])(
    '%s: is skipped from its first timeout on: no read or commit fails (about 1 in 3 did while it hung, before stop 33)',
    async (_, leader) => {
      // etcd3 tries members in a random order; fixed here (the last listed first), so the hung one is
      // always tried first and the check does not depend on chance. Before, with its whole 2 s per
      // call, every call then failed; at random, about one in three did (stop 33's helper session).
      // The class of the store's own client's pool (a test's import of etcd3 may be another copy).
      let pool: { deterministicOrder: boolean } | undefined;
      onTestFinished(() => {
        if (pool) pool.deterministicOrder = false;
      });
      // Which members' circuits counted a failure: only the hung one's may. Before stop 57, a call that
      // waited behind its trial, or etcd3's resend of one whose deadline had passed, timed out on a
      // healthy member and counted there; a few in a row opened the healthy members' circuits too, and
      // a commit failed with "no member answered" (a CI run of 17d2a7f).
      const failedOn: { host: string; startedAt: number }[] = [];
      const fixOrder = (gateway: EtcdGateway) => {
        const clientPool = (gateway.client as unknown as { pool: EtcdPool }).pool;
        pool = clientPool.constructor;
        pool.deterministicOrder = true;
        for (const host of clientPool.hosts)
          host.faultHandling.onFailure(({ duration }) => failedOn.push({ host: host.host, startedAt: Date.now() - duration }));
      };
      const cluster = await startEtcd({ size: 3 });
      const statuses = await Promise.all(cluster.members.map((m) => statusOf(m.clientPort)));
      const hung = cluster.members.find((_, i) => (statuses[i]!.header.member_id === statuses[i]!.leader) === leader)!;
      const others = cluster.members.filter((m) => m !== hung);
      const prefix = freshPrefix();
      const url = `etcd://${[...others, hung].map((m) => `127.0.0.1:${m.clientPort}`).join(',')}/${prefix}`;
      const a = await openEtcdStores(url, { registry: defaultRegistry, onGateway: fixOrder });
      onTestFinished(() => a.close());
      await a.config.start();

      hung.freeze();
      onTestFinished(() => hung.thaw());
      // When the other two have a leader again (at once when a follower hangs), as one of them says;
      // null if they have none within 15 s.
      const hungId = statuses[cluster.members.indexOf(hung)]!.header.member_id;
      const elected: Promise<number | null> = leader
        ? (async () => {
            for (const until = Date.now() + 15_000; Date.now() < until; ) {
              const status = await statusOf(others[0]!.clientPort).catch(() => null);
              if (status && status.leader !== '0' && status.leader !== hungId) return Date.now();
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
            return null;
          })()
        : Promise.resolve(0);
      // Its first timeout opens its circuit: from the first call on, none fails. (Before stop 57 it
      // took three in a row, and a retry could go to it again: tried first, the first read failed.) Then,
      // every 500 ms, etcd3 lets one call through to it again (half-open): before stop 33, that call
      // waited its whole 2 s and failed. Commits for 6 s span several such probes.
      const failures: { what: string; sentAt: number }[] = [];
      const readAt = Date.now();
      const read = await timed(a.config.audit({ last: 1 }));
      if (read.outcome.status === 'rejected')
        failures.push({ what: `the first read: ${(read.outcome.reason as Error).message}`, sentAt: readAt });
      let committed = 0;
      for (const until = Date.now() + 6000; Date.now() < until; ) {
        const sentAt = Date.now();
        const { ms, outcome } = await timed(a.config.commit(setScanInterval(100 + committed + failures.length)));
        if (outcome.status === 'fulfilled') committed += 1;
        else
          failures.push({
            what: `${(outcome.reason as Error).message} (${(outcome.reason as StoreUnavailableError).detail}) after ${ms} ms`,
            sentAt,
          });
      }
      const electedAt = await elected;
      expect(electedAt).not.toBeNull();
      // A call sent while the two had no leader, and still none 1.5 s later, can only run out of its
      // 2 s (a CI host under load once took that long to elect one): that is DESIGN's 503, not a
      // member wrongly waited on. Any other failure is.
      const noLeaderInTime = (sentAt: number) => leader && electedAt !== null && electedAt - sentAt > STORE_CALL_TIMEOUT_MS - 500;
      expect(
        failures.filter((f) => !noLeaderInTime(f.sentAt)).map((f) => `${f.what}, sent ${(electedAt ?? 0) - f.sentAt} ms before a leader`),
      ).toEqual([]);
      expect(committed).toBeGreaterThan(10);
      expect(failedOn.filter((f) => f.host === `127.0.0.1:${hung.clientPort}`).length).toBeGreaterThan(0);
      expect(failedOn.filter((f) => f.host !== `127.0.0.1:${hung.clientPort}` && f.startedAt >= electedAt!)).toEqual([]);
      const trail = await a.config.audit({ last: committed, subject: 'CONFIG' });
      expect(new Set(trail.map((e) => e.version)).size).toBe(committed);
    },
    60_000,
  );
});
