import { Etcd3 } from 'etcd3';
import { expect, it } from 'vitest';
import type { StoreEvent } from '../../src/config/store.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { EtcdConfigStore } from '../../src/store-etcd/config-store.js';
import { EtcdGateway } from '../../src/store-etcd/gateway.js';
import { etcdKeys } from '../../src/store-etcd/keys.js';
import { EtcdMirror } from '../../src/store-etcd/mirror.js';
import { parseEtcdStoreUrl } from '../../src/store-etcd/url.js';
import { afterEachTest } from '../helpers/cleanup.js';
import { describeWithEtcd, type EtcdCluster, startEtcd } from '../helpers/etcd.js';
import { eventually, freshPrefix, openReplica, rawClient, recordEvents, setScanInterval } from '../helpers/etcd-stores.js';

type Changed = Extract<StoreEvent, { type: 'changed' }>;
const changedVersions = (events: readonly StoreEvent[]) =>
  events.filter((e): e is Changed => e.type === 'changed').map((e) => e.current.config.version);
const closers: (() => Promise<void>)[] = [];
afterEachTest(async () => {
  await Promise.allSettled(closers.splice(0).map((close) => close()));
});

/** Replica B built from its parts, so the test can break its mirror's watch (as a killed etcd leader does). */
async function openB(cluster: EtcdCluster, prefix: string, warned: string[]) {
  const url = parseEtcdStoreUrl(cluster.url(prefix));
  const gateway = new EtcdGateway({ url });
  const keys = etcdKeys(url.prefix);
  const warn = (message: string) => void warned.push(message);
  const mirror = new EtcdMirror(gateway, keys, { probeIntervalMs: 100, warn });
  const config = new EtcdConfigStore(gateway, mirror, keys, { registry: defaultRegistry, warn });
  closers.push(async () => {
    await config.close();
    await mirror.close();
    gateway.close();
  });
  await mirror.open();
  await config.settled();
  config.settle();
  await config.start();
  const internals = mirror as unknown as { watcher: NodeJS.EventEmitter; probing: boolean };
  return { config, breakWatch: (why: string) => internals.watcher.emit('error', new Error(why)), internals };
}

/** The member the others follow, asked of each directly. */
async function leaderOf(cluster: EtcdCluster) {
  const statuses = await Promise.all(
    cluster.members.map(async (m) => {
      const client = new Etcd3({ hosts: `http://127.0.0.1:${m.clientPort}` });
      try {
        return await client.maintenance.status();
      } finally {
        client.close();
      }
    }),
  );
  const i = statuses.findIndex((s) => s.header.member_id === s.leader);
  const leader = cluster.members[i];
  if (!leader) throw new Error('no etcd member is the leader');
  return leader;
}

describeWithEtcd('a broken watch replays what it missed (real etcd)', () => {
  it('every version committed through A while B’s watch was broken reaches B’s listeners exactly once, in order', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const warned: string[] = [];
    const a = await openReplica(cluster, prefix);
    await a.config.start();
    const b = await openB(cluster, prefix, warned);
    const events = recordEvents(b.config);
    const first = await a.config.commit(setScanInterval(11));
    await eventually('B has the first commit', () => b.config.state().config.config.version === first.current.config.version);
    // B's watch breaks (as when the etcd leader it watched through is killed) while A commits.
    b.breakWatch('injected: stream reset');
    let last = first;
    for (let i = 0; i < 6; i++) last = await a.config.commit(setScanInterval(20 + i));
    await eventually('B caught up', () => b.config.state().config.config.version === last.current.config.version, 10_000);
    const from = first.current.config.version;
    expect(changedVersions(events)).toEqual(Array.from({ length: 7 }, (_, i) => from + i));
    expect(events.filter((e): e is Changed => e.type === 'changed').map((e) => e.source)).toEqual(Array(7).fill('replica'));
    expect(events.filter((e): e is Changed => e.type === 'changed').map((e) => e.audit?.version)).toEqual(
      Array.from({ length: 7 }, (_, i) => from + i),
    );
    expect(warned).toEqual(['etcd store: the watch broke (injected: stream reset); re-reading when etcd answers']);
    // Watching again: the next commit arrives once.
    const next = await a.config.commit(setScanInterval(99));
    await eventually('B has the next commit', () => b.config.state().config.config.version === next.current.config.version);
    expect(changedVersions(events)).toEqual(Array.from({ length: 8 }, (_, i) => from + i));
  });

  it('a replay that breaks again before catching up (etcd away again) resumes from where it got: still every version once, in order, and no jump said', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const warned: string[] = [];
    const a = await openReplica(cluster, prefix);
    await a.config.start();
    const b = await openB(cluster, prefix, warned);
    const events = recordEvents(b.config);
    const first = await a.config.commit(setScanInterval(11));
    await eventually('B has the first commit', () => b.config.state().config.config.version === first.current.config.version);
    // The replay's own watch breaks as soon as it is made, before it has delivered anything.
    const mirror = b.internals as unknown as {
      watchFrom(revision: number): Promise<void>;
      catchUp: unknown;
      watcher: NodeJS.EventEmitter | null;
    };
    const watchFrom = mirror.watchFrom.bind(mirror);
    let brokeDuringReplay = false;
    mirror.watchFrom = async (revision: number) => {
      await watchFrom(revision);
      if (!brokeDuringReplay && mirror.catchUp && mirror.watcher) {
        brokeDuringReplay = true;
        mirror.watcher.emit('error', new Error('injected: broke again'));
      }
    };
    b.internals.probing = true;
    b.breakWatch('injected: stream reset');
    let last = first;
    for (let i = 0; i < 6; i++) last = await a.config.commit(setScanInterval(20 + i));
    b.internals.probing = false;
    await eventually('B caught up', () => b.config.state().config.config.version === last.current.config.version, 10_000);
    expect(brokeDuringReplay).toBe(true);
    const from = first.current.config.version;
    expect(changedVersions(events)).toEqual(Array.from({ length: 7 }, (_, i) => from + i));
    expect(warned).toEqual(['etcd store: the watch broke (injected: stream reset); re-reading when etcd answers']);
  });

  it('the etcd member B watches through (the leader) killed and restarted, twice, while A commits: B hears every version exactly once, in order', async () => {
    const cluster = await startEtcd({ size: 3 });
    const prefix = freshPrefix();
    const a = await openReplica(cluster, prefix);
    // B talks to the leader alone: its watch breaks on each kill (A fails over to the other two).
    const watched = await leaderOf(cluster);
    const b = await openReplica({ ...cluster, url: (p: string) => `etcd://127.0.0.1:${watched.clientPort}/${p}` }, prefix);
    await a.config.start();
    await b.config.start();
    const events = recordEvents(b.config);
    const committed: number[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const result = await a.config.commit(setScanInterval(100 + (i % 500))).catch(() => null);
        if (result?.changed) committed.push(result.current.config.version);
      }
    })();
    for (let round = 0; round < 2; round++) {
      await new Promise((r) => setTimeout(r, 500));
      await watched.kill();
      await new Promise((r) => setTimeout(r, 1500));
      await watched.start();
    }
    await new Promise((r) => setTimeout(r, 500));
    writing = false;
    await writer;
    const newest = committed.at(-1) as number;
    await eventually('B caught up', () => b.config.state().config.config.version === newest, 15_000);
    expect(committed.length).toBeGreaterThan(10);
    expect(changedVersions(events)).toEqual(Array.from({ length: newest - committed[0]! + 1 }, (_, i) => committed[0]! + i));
  });

  it('history compacted away: the re-read is applied and the versions that had no event are named in a warning', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const warned: string[] = [];
    const a = await openReplica(cluster, prefix);
    await a.config.start();
    const b = await openB(cluster, prefix, warned);
    const events = recordEvents(b.config);
    const first = await a.config.commit(setScanInterval(11));
    await eventually('B has the first commit', () => b.config.state().config.config.version === first.current.config.version);
    // The probe must not re-read before the compaction: B's watch breaks with its probe held back.
    b.internals.probing = true;
    b.breakWatch('injected: stream reset');
    let last = first;
    for (let i = 0; i < 4; i++) last = await a.config.commit(setScanInterval(20 + i));
    const raw = rawClient(cluster);
    const head = await raw.get('nothing').exec();
    await raw.kv.compact({ revision: head.header.revision, physical: true });
    b.internals.probing = false;
    await eventually('B caught up', () => b.config.state().config.config.version === last.current.config.version, 10_000);
    const from = first.current.config.version;
    expect(changedVersions(events)).toEqual([from, from + 4]);
    expect(warned).toEqual([
      'etcd store: the watch broke (injected: stream reset); re-reading when etcd answers',
      expect.stringMatching(
        new RegExp(
          `^etcd store: the watch could not replay revisions \\d+-\\d+ \\(etcd compacted its history past them\\); re-read at revision \\d+: config versions ${from + 1}-${from + 3} had no event on this replica$`,
        ),
      ),
    ]);
    // Watching again after it: the next commit arrives once, and nothing more is said.
    const next = await a.config.commit(setScanInterval(99));
    await eventually('B has the next commit', () => b.config.state().config.config.version === next.current.config.version);
    expect(changedVersions(events)).toEqual([from, from + 4, from + 5]);
    expect(warned).toHaveLength(2);
  });
});
