import { expect, it } from 'vitest';
import { tokenDigest } from '../../src/auth/token-file.js';
import { upsertPreset } from '../../src/config/preset-changes.js';
import type { EtcdStores } from '../../src/store-etcd/index.js';
import { describeWithEtcd, type EtcdCluster, type EtcdMember, startEtcd, waitHealthy } from '../helpers/etcd.js';
import { activate, eventually, freshPrefix, openReplica, rawClient, setScanInterval } from '../helpers/etcd-stores.js';
import { liveRunnerState } from '../helpers/fake-runners.js';
import { startTestServer } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * etcd coming back with less than the replicas saw: its data dir wiped, or an older copy of it put
 * back (a snapshot restored without --bump-revision). Its revisions start again below the ones the
 * replicas hold, and every put or delete at or below those was dropped as old news.
 */

async function oneMember(): Promise<{ cluster: EtcdCluster; member: EtcdMember }> {
  const cluster = await startEtcd();
  const [member] = cluster.members;
  if (!member) throw new Error('one member');
  return { cluster, member };
}

/** Stops the member, swaps its data (none: wiped) and starts it again on the same ports. */
async function bringBack(cluster: EtcdCluster, member: EtcdMember, copy?: string): Promise<void> {
  await member.stop();
  await member.replaceData(copy);
  await member.start();
  await waitHealthy(cluster);
}

/** Commits until the store's config is at `version`. */
async function commitTo(stores: EtcdStores, version: number): Promise<void> {
  while (stores.config.state().config.config.version < version) {
    await stores.config.commit(setScanInterval(10 + stores.config.state().config.config.version));
  }
}

describeWithEtcd('etcd gone back: wiped, or restored from an older snapshot (real etcd)', () => {
  it('wiped while a replica runs: a token it no longer holds is refused, one created since is accepted, and refused once revoked', async () => {
    const { cluster, member } = await oneMember();
    const prefix = freshPrefix();
    const warned: string[] = [];
    const api = await openReplica(cluster, prefix, { warn: (message) => warned.push(message) });
    await api.config.start();
    // Revisions well above the ones the wiped etcd starts from.
    await commitTo(api, 15);
    const before = await (await openReplica(cluster, prefix)).tokens.create('ci', 'operate');
    expect(await api.tokens.find(tokenDigest(before))).toMatchObject({ name: 'ci' });

    await bringBack(cluster, member);
    // `stratctl token create --store ...`: a process of its own, on the store as it is now.
    const cli = await openReplica(cluster, prefix);
    const after = await cli.tokens.create('ci', 'operate');

    expect(await api.tokens.find(tokenDigest(before))).toBeUndefined();
    expect(await api.tokens.find(tokenDigest(after))).toMatchObject({ name: 'ci', scope: 'operate' });
    expect(await cli.tokens.revoke('ci')).toBe(true);
    expect(await api.tokens.find(tokenDigest(after))).toBeUndefined();
    expect(warned).toContainEqual(expect.stringMatching(/^etcd store: etcd went back \(its revision is \d+, below \d+ already seen\)/));
  }, 60_000);

  it('wiped: the config gone is reported (the last good one stays, not ready), a republished runner is listed, and the next change reaches every replica', async () => {
    const { cluster, member } = await oneMember();
    const prefix = freshPrefix();
    const a = await openReplica(cluster, prefix);
    const b = await openReplica(cluster, prefix);
    const runnerProcess = await openReplica(cluster, prefix);
    await a.config.start();
    await commitTo(a, 15);
    await eventually('B at v15', () => b.config.state().config.config.version === 15);
    const runner = runnerProcess.runnerPublisher('host-r:1');
    await runner.publish(liveRunnerState('host-r:1', { lastScanAt: '2026-01-01T00:00:00.000Z' }));
    await eventually('the runner listed', () => a.runners.list().length === 1);

    await bringBack(cluster, member);
    for (const replica of [a, b]) {
      await eventually('the missing config reported', () => replica.config.problem() !== null);
      expect(replica.config.problem()?.message).toMatch(/the key is missing: etcd went back \(revision \d+, \d+ was seen/);
      // The last good config stays in force: what runners keep applying.
      expect(replica.config.state().config.config.version).toBe(15);
    }

    // Heartbeats go on (the first may fail on the lease the wiped etcd forgot; the next takes a new one).
    const republished = () => a.runners.list()[0]?.lastScanAt === '2026-01-01T00:05:00.000Z';
    for (let beat = 0; beat < 50 && !republished(); beat++) {
      await runner.publish(liveRunnerState('host-r:1', { lastScanAt: '2026-01-01T00:05:00.000Z' }));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(a.runners.list()).toEqual([expect.objectContaining({ id: 'host-r:1', lastScanAt: '2026-01-01T00:05:00.000Z' })]);

    const changed = await b.config.commit(setScanInterval(99));
    expect(changed.current.config.version).toBe(16);
    for (const replica of [a, b]) {
      await eventually('v16 in force', () => replica.config.state().config.config.version === 16);
      expect(replica.config.state().config.config.scanIntervalSeconds).toBe(99);
      expect(replica.config.problem()).toBeNull();
    }
    expect(
      await rawClient(cluster)
        .get(`/${prefix}/audit/config/${String(16).padStart(16, '0')}`)
        .string(),
    ).toContain('"version":16');
    await runner.close();
  }, 60_000);

  it('wiped with presets in force: they stay in force at their version, reported; the next config change writes them again (a recovery entry), a preset change goes on above them', async () => {
    const { cluster, member } = await oneMember();
    const prefix = freshPrefix();
    const a = await openReplica(cluster, prefix);
    const b = await openReplica(cluster, prefix);
    await a.config.start();
    const preset = { key: 'gold_fast', base: 'gold', name: 'Gold (fast)', tunables: { fast_ma_period: 3 } };
    await a.config.commit(upsertPreset(preset, { actor: 'alice' }));
    await a.config.commit(upsertPreset({ ...preset, name: 'Gold (faster)' }, { actor: 'alice' }));
    await commitTo(a, 15);
    await eventually('B at presets v2', () => b.config.state().presets.version === 2);
    const stored = await rawClient(cluster).get(`/${prefix}/strategies`).string();

    await bringBack(cluster, member);
    for (const replica of [a, b]) {
      await eventually('the missing presets reported', () => replica.config.strategiesProblem() !== null);
      expect(replica.config.strategiesProblem()?.message).toMatch(
        /the key is missing: etcd went back \(revision \d+, \d+ was seen; .*\); the presets in force stay in force until the next change through the API writes them again/,
      );
      // They were dropped (presets version 0, gold_fast unknown), where the config's last good one stays.
      expect(replica.config.state().presets).toMatchObject({ version: 2, presets: [expect.objectContaining({ name: 'Gold (faster)' })] });
      expect(replica.config.state().strategies.has('gold_fast')).toBe(true);
    }

    // A config change writes the set in force back as it was (its text, its version), with an entry of its own.
    expect((await b.config.commit(setScanInterval(99))).current.config.version).toBe(16);
    for (const replica of [a, b]) {
      await eventually('the presets in force again', () => replica.config.strategiesProblem() === null);
      expect(replica.config.state().presets.version).toBe(2);
    }
    const raw = rawClient(cluster);
    expect(await raw.get(`/${prefix}/strategies`).string()).toBe(stored);
    expect(JSON.parse((await raw.get(`/${prefix}/audit/presets/${String(2).padStart(16, '0')}`).string()) ?? 'null')).toMatchObject({
      subject: 'PRESETS',
      operation: 'recovery',
      actor: 'system',
      version: 2,
      changes: {},
      details: { note: expect.stringMatching(/^etcd went back .* the set in force written again/) },
    });
    // The next preset change follows on from it.
    const changed = await a.config.commit(upsertPreset({ ...preset, name: 'Gold (fastest)' }, { actor: 'alice' }));
    expect(changed.current.version).toBe(3);
    await eventually('B at presets v3', () => b.config.state().presets.version === 3);
  }, 60_000);

  it('wiped with presets in force: a preset change first writes the whole set again, above the version in force', async () => {
    const { cluster, member } = await oneMember();
    const prefix = freshPrefix();
    const a = await openReplica(cluster, prefix);
    await a.config.start();
    await a.config.commit(upsertPreset({ key: 'gold_fast', base: 'gold', name: 'Gold (fast)' }, { actor: 'alice' }));
    await commitTo(a, 15);

    await bringBack(cluster, member);
    await eventually('the missing presets reported', () => a.config.strategiesProblem() !== null);
    const changed = await a.config.commit(upsertPreset({ key: 'range_wide', base: 'range', name: 'Range (wide)' }, { actor: 'bob' }));
    expect(changed).toMatchObject({ changed: true, previous: { version: 1 }, current: { version: 2 } });
    expect(changed.current.presets.map((p) => p.key)).toEqual(['gold_fast', 'range_wide']);
    await eventually('the presets in force again', () => a.config.strategiesProblem() === null);
    const text = await rawClient(cluster).get(`/${prefix}/strategies`).string();
    expect(text).toMatch(/^version: 2$/m);
    expect(text).toMatch(/gold_fast:/);
  }, 60_000);

  it('wiped: a process starting afterwards, while others run, writes no defaults over the config they keep in force (it took them: momentum, trading on, version 1, on every replica)', async () => {
    const { cluster, member } = await oneMember();
    const prefix = freshPrefix();
    const a = await openReplica(cluster, prefix);
    await a.config.start();
    const unregister = await a.registerReplica('host-a:1:aaaa', { host: 'host-a', pid: 1, startedAt: '2026-01-01T00:00:00.000Z' });
    await a.config.commit(activate('gold'));
    await commitTo(a, 15);
    await bringBack(cluster, member);
    await eventually('the missing config reported', () => a.config.problem() !== null);
    // The replica's key comes back with the new lease it takes (the wiped etcd forgot the old one).
    const raw = rawClient(cluster);
    await waitUntil(
      () => raw.getAll().prefix(`/${prefix}/replicas/`).keys(),
      (keys) => keys.length === 1,
      { what: 'the replica registered again' },
    );

    // A runner (or another replica) started now: it waits for a config, and names who runs.
    const c = await openReplica(cluster, prefix);
    expect(c.startProblem()?.message).toMatch(
      /the key is missing and so is its audit trail, while API replica host-a:1:aaaa runs on this prefix: etcd lost its data \(wiped\)\?.*make one change through a running API replica/,
    );
    await c.config.start();
    expect(await raw.get(`/${prefix}/config`).string()).toBeNull();
    // Runners that keep nothing in force are not named: one STOPPED, one STALE (killed, its key living
    // out its lease), and the starting runner's own key from before its restart.
    const old = new Date(Date.now() - 60_000).toISOString();
    await raw.put(`/${prefix}/runners/done`).value(JSON.stringify(liveRunnerState('done', { stopped: true })));
    await raw.put(`/${prefix}/runners/killed`).value(JSON.stringify(liveRunnerState('killed', { heartbeatAt: old })));
    await raw.put(`/${prefix}/runners/self`).value(JSON.stringify(liveRunnerState('self')));
    const restarted = await openReplica(cluster, prefix, { selfRunnerId: 'self' });
    expect(restarted.startProblem()?.message).toMatch(/while API replica host-a:1:aaaa runs on this prefix:/);
    await raw.put(`/${prefix}/runners/other`).value(JSON.stringify(liveRunnerState('other')));
    const another = await openReplica(cluster, prefix, { selfRunnerId: 'self' });
    expect(another.startProblem()?.message).toMatch(/while API replica host-a:1:aaaa and runner other run on this prefix:/);
    for (const key of ['done', 'killed', 'self', 'other']) await raw.delete().key(`/${prefix}/runners/${key}`);
    expect(a.config.state().config.config).toMatchObject({ activeStrategyKey: 'gold', version: 15 });
    // The change through the running replica writes it again; the one that waited takes it.
    expect((await a.config.commit(setScanInterval(42))).current.config.version).toBe(16);
    await eventually('C has v16', () => c.config.state().config.config.version === 16);
    expect(c.config.problem()).toBeNull();
    expect(c.config.state().config.config).toMatchObject({ activeStrategyKey: 'gold', scanIntervalSeconds: 42 });
    await unregister();
  }, 60_000);

  it('an empty prefix with nobody on it is a new deployment: the defaults are written', async () => {
    const c = await openReplica(await startEtcd(), freshPrefix());
    expect(c.startProblem()).toBeNull();
    await c.config.start();
    expect(c.config.state().config.config).toMatchObject({ activeStrategyKey: 'momentum', version: 1 });
  }, 60_000);

  it('restored from an older copy: every replica takes the config it holds, and the next change follows on from it', async () => {
    const { cluster, member } = await oneMember();
    const prefix = freshPrefix();
    const a = await openReplica(cluster, prefix);
    await a.config.start();
    await commitTo(a, 5);
    await member.stop();
    const copy = await member.copyData();
    await member.start();
    await waitHealthy(cluster);
    await commitTo(a, 12);
    const b = await openReplica(cluster, prefix);
    expect(b.config.state().config.config.version).toBe(12);

    await bringBack(cluster, member, copy);
    for (const replica of [a, b]) {
      await eventually('v5 in force again', () => replica.config.state().config.config.version === 5);
      expect(replica.config.problem()).toBeNull();
    }
    const changed = await a.config.commit(setScanInterval(77));
    expect(changed.current.config.version).toBe(6);
    await eventually('B at v6', () => b.config.state().config.config.version === 6);
    expect(b.config.state().config.config.scanIntervalSeconds).toBe(77);
  }, 60_000);

  it('restored keys older than the ones held, under a higher store revision (what --bump-revision leaves): taken at the next read', async () => {
    const { cluster, member } = await oneMember();
    const prefix = freshPrefix();
    // No probe for the test's length: nothing reads again until the store is asked to (a scan's refresh).
    const a = await openReplica(cluster, prefix, { probeIntervalMs: 3_600_000 });
    await a.config.start();
    await commitTo(a, 3);
    await member.stop();
    const copy = await member.copyData();
    await member.start();
    await waitHealthy(cluster);
    await commitTo(a, 8);

    await bringBack(cluster, member, copy);
    // The store's revision goes past every one A saw; the restored keys keep their older ones.
    const raw = rawClient(cluster);
    for (let i = 0; i < 60; i++) await raw.put(`/${prefix}-elsewhere/bump`).value(String(i));
    await a.config.refresh();
    expect(a.config.state().config.config.version).toBe(3);
    expect(a.config.problem()).toBeNull();
  }, 60_000);

  it('over HTTP: a replica on a wiped etcd is not ready and says why; the next activation writes the config again and it is ready', async () => {
    const { cluster, member } = await oneMember();
    const server = await startTestServer({ store: { kind: 'etcd', url: cluster.url(freshPrefix()), tls: {} }, runner: false });
    const activate = (key: string) =>
      server.gql('mutation($k: String!) { activateStrategy(strategyKey: $k) { configVersion } }', { k: key });
    for (const key of ['range', 'gold', 'range', 'gold']) expect((await activate(key)).body.errors).toBeUndefined();
    const ready = async () => {
      const res = await fetch(`${server.origin}/ready`);
      return { status: res.status, body: (await res.json()) as { reasons?: string[] } };
    };
    expect((await ready()).status).toBe(200);

    await bringBack(cluster, member);
    const unready = await waitUntil(ready, (r) => r.status === 503, { what: '/ready 503 after the wipe' });
    expect(unready.body.reasons).toEqual([expect.stringMatching(/^config invalid: [\s\S]*the key is missing: etcd went back/)]);
    const status = (await server.gql('{ status { configVersion activeStrategyKey configError { message } } }')).body.data?.status;
    expect(status).toMatchObject({
      configVersion: 5,
      activeStrategyKey: 'gold',
      configError: { message: expect.stringContaining('etcd went back') },
    });

    expect((await activate('range')).body.data?.activateStrategy).toEqual({ configVersion: 6 });
    await waitUntil(ready, (r) => r.status === 200, { what: '/ready 200 once the config is written again' });
    expect((await server.gql('{ status { configVersion configError { message } } }')).body.data?.status).toEqual({
      configVersion: 6,
      configError: null,
    });
  }, 60_000);
});
