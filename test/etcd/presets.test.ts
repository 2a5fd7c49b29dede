import { expect, it } from 'vitest';
import type { AuditEntry } from '../../src/config/audit-entry.js';
import { activateStrategy, updateConfig } from '../../src/config/changes.js';
import { ConfigFileInvalidError, PresetInUseError, PresetsVersionConflictError } from '../../src/config/errors.js';
import { deletePreset, type PresetInput, upsertPreset } from '../../src/config/preset-changes.js';
import type { ConfigStore, StoreEvent } from '../../src/config/store.js';
import { Runner } from '../../src/runner/runner.js';
import { createSimulatedFeed } from '../../src/runner/sim-feed.js';
import type { RunnerState } from '../../src/runner/state.js';
import { describeWithEtcd, type EtcdCluster, startEtcd } from '../helpers/etcd.js';
import { eventually, freshPrefix, keysUnder, openReplica, rawClient, recordEvents, setScanInterval } from '../helpers/etcd-stores.js';
import { waitUntil } from '../helpers/wait.js';

// One single-member cluster for the file: each test has its own prefix (its own deployment).
let shared: EtcdCluster | null = null;
const cluster = async () => {
  shared ??= await startEtcd({ lifetime: 'file' });
  return shared;
};

async function twoReplicas(options: Parameters<typeof openReplica>[2] = {}) {
  const c = await cluster();
  const prefix = freshPrefix();
  const a = await openReplica(c, prefix, options);
  const b = await openReplica(c, prefix, options);
  await a.config.start();
  await b.config.start();
  const raw = rawClient(c);
  const key = (sub: string) => `/${prefix}/${sub}`;
  /** etcd's current revision: unchanged means nothing at all was written anywhere. */
  const revision = async () => Number((await raw.get(key('config')).exec()).header.revision);
  return { c, prefix, a, b, raw, key, revision };
}

const by = (actor: string) => ({ actor });
const GOLD_FAST: PresetInput = {
  key: 'gold_fast',
  base: 'gold',
  name: 'Gold Trend (fast)',
  tunables: { fast_ma_period: 3, slow_ma_period: 5 },
};
const presetKeys = (store: ConfigStore) => store.state().presets.presets.map((p) => p.key);
const presetsEvents = (events: StoreEvent[]) => events.filter((e) => e.type.startsWith('presets'));

async function trail(store: ConfigStore, subject: 'CONFIG' | 'PRESETS', last = 200): Promise<AuditEntry[]> {
  return [...(await store.audit({ last, subject }))];
}

async function waitForTrail(store: ConfigStore, accept: (entries: AuditEntry[]) => boolean, subject: 'CONFIG' | 'PRESETS' = 'PRESETS') {
  const deadline = Date.now() + 5000;
  let entries = await trail(store, subject);
  while (!accept(entries)) {
    if (Date.now() > deadline) throw new Error(`audit trail never matched: ${JSON.stringify(entries.slice(0, 3))}`);
    await new Promise((r) => setTimeout(r, 20));
    entries = await trail(store, subject);
  }
  return entries;
}

describeWithEtcd('etcd store presets (real etcd, two replicas on one prefix)', () => {
  it('an upsert on A is in force on B: presets, strategies (one object until the set changes), a replica event with its audit entry', async () => {
    const { a, b, raw, key, prefix } = await twoReplicas();
    expect(a.config.state().presets).toMatchObject({ version: 0, presets: [] });
    expect(await raw.get(key('strategies')).string()).toBeNull(); // start() writes no presets that never existed
    expect(await keysUnder(raw, prefix, 'audit/presets/')).toEqual([]);
    const heardByA = recordEvents(a.config);
    const heardByB = recordEvents(b.config);
    const staticOnB = b.config.state().strategies;

    const result = await a.config.commit(upsertPreset(GOLD_FAST, by('alice')));
    expect(result).toMatchObject({
      changed: true,
      previous: { version: 0 },
      current: { version: 1 },
      changedFields: ['gold_fast.base', 'gold_fast.name', 'gold_fast.tunables'],
      audit: { subject: 'PRESETS', operation: 'upsertPreset', actor: 'alice', version: 1 },
    });
    expect(result.strategies.get('gold_fast')).toMatchObject({ source: 'preset', base: 'gold', tunables: { fast_ma_period: 3 } });
    // Read-your-writes on A; B through its watch.
    expect(presetKeys(a.config)).toEqual(['gold_fast']);
    await eventually('B has gold_fast', () => b.config.state().strategies.has('gold_fast'));
    const onB = b.config.state();
    expect(onB.presets).toEqual(result.current);
    expect(onB.strategies).not.toBe(staticOnB);
    expect(onB.strategies.list().map((s) => s.key)).toEqual(['momentum', 'gold', 'range', 'eur_usd_5m_safe', 'momentum_v2', 'gold_fast']);
    expect(presetsEvents(heardByB)).toMatchObject([
      { type: 'presetsChanged', source: 'replica', current: result.current, audit: { actor: 'alice', version: 1 } },
    ]);
    expect(presetsEvents(heardByA)).toMatchObject([{ type: 'presetsChanged', source: 'commit', current: result.current }]);
    // The stored text is the presets file's, and its digest what every replica reports.
    const text = await raw.get(key('strategies')).string();
    expect(text).toMatch(/^version: 1$/m);
    expect(text).toMatch(/gold_fast:\n\s+base: gold/);

    // A config change leaves the strategies object alone (runners compare it by identity)...
    const strategiesOnB = b.config.state().strategies;
    const activated = await b.config.commit(activateStrategy('gold_fast', by('bob')));
    expect(activated.current.config.activeStrategyKey).toBe('gold_fast');
    await eventually('A has the activation', () => a.config.state().config.config.activeStrategyKey === 'gold_fast');
    expect(b.config.state().strategies).toBe(strategiesOnB);
    // ...an edit of the set replaces it.
    await a.config.commit(upsertPreset({ ...GOLD_FAST, tunables: { fast_ma_period: 4 } }, by('alice')));
    await eventually('B has version 2', () => b.config.state().presets.version === 2);
    expect(b.config.state().strategies).not.toBe(strategiesOnB);
    expect(b.config.state().strategies.get('gold_fast')?.tunables).toMatchObject({ fast_ma_period: 4, slow_ma_period: 50 });
  });

  it('concurrent upserts and activations over both replicas: each accepted change audited once, versions rising by one per subject, no lost update', async () => {
    // 48 commits at once over two replicas retry each other's conflicts for a while: on a loaded
    // 2-core host one etcd call has taken past the 2 s default, and its commit was (rightly)
    // refused with StoreOutcomeUnknownError. This test is about lost updates and the trail, not
    // deadlines (faults.test.ts and commit-outcome.test.ts are), so its calls get 15 s.
    const { a, b } = await twoReplicas({ callTimeoutMs: 15_000 });
    const keys = Array.from({ length: 6 }, (_, i) => `p_${i}`);
    for (const k of keys) await a.config.commit(upsertPreset({ key: k, base: 'momentum', name: k }, by('setup')));
    const presetsStart = a.config.state().presets.version;
    const configStart = a.config.state().config.config.version;
    await eventually('B has the presets', () => b.config.state().presets.version === presetsStart);

    // Every upsert names a new name (never a no-op); activations may be no-ops when their key is already active.
    const upserts = Array.from({ length: 24 }, (_, i) => {
      const k = keys[i % keys.length] as string;
      return (i % 2 === 0 ? a : b).config.commit(upsertPreset({ key: k, base: 'momentum', name: `${k} #${i}` }, by(`u${i}`)));
    });
    const activations = Array.from({ length: 24 }, (_, i) =>
      (i % 2 === 0 ? b : a).config.commit(activateStrategy(keys[i % 4] as string, by(`a${i}`))),
    );
    const [up, act] = await Promise.all([Promise.allSettled(upserts), Promise.allSettled(activations)]);
    expect([...up, ...act].filter((r) => r.status === 'rejected')).toEqual([]);
    const upResults = up.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const actResults = act.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(upResults.every((r) => r.changed)).toBe(true);
    const presetVersions = upResults.map((r) => r.current.version).sort((x, y) => x - y);
    expect(presetVersions).toEqual(Array.from({ length: 24 }, (_, i) => presetsStart + 1 + i));
    const acceptedActivations = actResults.filter((r) => r.changed);
    const configVersions = acceptedActivations.map((r) => r.current.config.version).sort((x, y) => x - y);
    expect(configVersions).toEqual(Array.from({ length: acceptedActivations.length }, (_, i) => configStart + 1 + i));

    const presetsTrail = (await trail(a.config, 'PRESETS')).filter((e) => e.version > presetsStart);
    expect(presetsTrail.map((e) => e.version).sort((x, y) => x - y)).toEqual(presetVersions);
    expect(presetsTrail.map((e) => e.actor).sort()).toEqual(Array.from({ length: 24 }, (_, i) => `u${i}`).sort());
    const configTrail = (await trail(a.config, 'CONFIG')).filter((e) => e.version > configStart);
    expect(configTrail.map((e) => e.version).sort((x, y) => x - y)).toEqual(configVersions);
    expect(configTrail.every((e) => e.operation === 'activateStrategy')).toBe(true);

    // No lost update: each preset's name in force is the one its newest entry recorded; both replicas agree.
    const finalVersion = Math.max(...presetVersions);
    await eventually('both replicas at the last versions', () =>
      [a, b].every(
        (r) =>
          r.config.state().presets.version === finalVersion &&
          r.config.state().config.config.version === Math.max(configStart, ...configVersions),
      ),
    );
    for (const k of keys) {
      const newest = presetsTrail.filter((e) => `${k}.name` in e.changes).sort((x, y) => y.version - x.version)[0];
      const name = newest?.changes[`${k}.name`]?.after;
      expect(name).toMatch(new RegExp(`^${k} #\\d+$`));
      for (const r of [a, b]) expect(r.config.state().strategies.get(k)?.name).toBe(name);
    }
    expect(b.config.state().presets).toEqual(a.config.state().presets);
    // Each PRESETS entry records the config in force when it committed: one the CONFIG trail holds.
    const configs = new Map((await trail(a.config, 'CONFIG')).map((e) => [e.version, e.config]));
    for (const e of presetsTrail) expect(e.config).toEqual(configs.get(e.config.version));
  });

  it('a delete on A racing an activation of the same preset on B: never both, and the config never names a preset that is gone', async () => {
    const { a, b } = await twoReplicas();
    const outcomes: string[] = [];
    for (let round = 0; round < 8; round++) {
      const k = `race_${round}`;
      await a.config.commit(upsertPreset({ key: k, base: 'range', name: k }, by('setup')));
      await eventually(`B has ${k}`, () => b.config.state().strategies.has(k));
      const [deleted, activated] = await Promise.allSettled([
        a.config.commit(deletePreset(k, by('deleter'))),
        b.config.commit(activateStrategy(k, by('activator'))),
      ]);
      expect([deleted.status, activated.status].sort()).toEqual(['fulfilled', 'rejected']);
      outcomes.push(deleted.status === 'fulfilled' ? 'delete' : 'activate');
      if (deleted.status === 'fulfilled') {
        expect(activated.status === 'rejected' && activated.reason.message).toMatch(new RegExp(`Invalid strategy key: ${k}`));
      } else {
        expect(deleted.reason).toBeInstanceOf(PresetInUseError);
        await b.config.commit(activateStrategy('momentum', by('setup')));
      }
      for (const r of [a, b]) {
        const { config, strategies } = r.config.state();
        expect(strategies.has(config.config.activeStrategyKey)).toBe(true);
      }
    }
    // Both outcomes are possible; whichever, the trail has one entry per accepted change.
    const presetsTrail = await trail(a.config, 'PRESETS');
    expect(presetsTrail.filter((e) => e.operation === 'deletePreset')).toHaveLength(outcomes.filter((o) => o === 'delete').length);
    const configTrail = await trail(a.config, 'CONFIG');
    expect(configTrail.filter((e) => e.actor === 'activator')).toHaveLength(outcomes.filter((o) => o === 'activate').length);
  });

  it('10 upserts with the same expectedVersion over both replicas: exactly one accepted, the rest PresetsVersionConflictError', async () => {
    const { a, b } = await twoReplicas();
    await a.config.commit(upsertPreset(GOLD_FAST, by('setup')));
    await eventually('B at presets version 1', () => b.config.state().presets.version === 1);
    // The config's version is not what counts.
    await b.config.commit(setScanInterval(45));
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? a : b).config.commit(upsertPreset({ ...GOLD_FAST, name: `Renamed ${i}` }, by(`w${i}`)), { expectedVersion: 1 }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(refused).toHaveLength(9);
    for (const err of refused) {
      expect(err).toBeInstanceOf(PresetsVersionConflictError);
      expect(err).toMatchObject({ message: 'Presets version conflict: expected 1, current 2', expectedVersion: 1, currentVersion: 2 });
    }
    expect((await trail(a.config, 'PRESETS')).map((e) => e.version)).toEqual([2, 1]);
  });

  it('an upsert of the preset as it is writes nothing (etcd revision unchanged); expectedVersion is still checked first', async () => {
    const { a, b, revision } = await twoReplicas();
    await a.config.commit(upsertPreset(GOLD_FAST, by('setup')));
    await eventually('B at presets version 1', () => b.config.state().presets.version === 1);
    const before = await revision();
    // The same preset, its tunables in another order, through the other replica.
    const again = await b.config.commit(upsertPreset({ ...GOLD_FAST, tunables: { slow_ma_period: 5, fast_ma_period: 3 } }, by('x')), {
      expectedVersion: 1,
    });
    expect(again).toMatchObject({ changed: false, audit: null, changedFields: [], current: { version: 1 } });
    expect(again.strategies.get('gold_fast')?.name).toBe('Gold Trend (fast)');
    await expect(b.config.commit(upsertPreset(GOLD_FAST, by('x')), { expectedVersion: 0 })).rejects.toBeInstanceOf(
      PresetsVersionConflictError,
    );
    expect(await revision()).toBe(before);
    expect(await trail(a.config, 'PRESETS')).toHaveLength(1);
  });

  it('deleting (or invalidating) a preset the config uses is refused on either replica, writing nothing; deleted once unused', async () => {
    const { a, b, revision } = await twoReplicas();
    await a.config.commit(upsertPreset(GOLD_FAST, by('setup')));
    await a.config.commit(activateStrategy('gold_fast', by('setup')));
    await eventually('B has the activation', () => b.config.state().config.config.activeStrategyKey === 'gold_fast');
    const active = await revision();
    await expect(b.config.commit(deletePreset('gold_fast', by('x')))).rejects.toThrow(
      /^Refused: the config in force uses .*active_strategy_key: Invalid strategy key: gold_fast/,
    );
    expect(await revision()).toBe(active);

    // In tunable_overrides: moving it to a base without that tunable, or deleting it, would invalidate the override.
    await a.config.commit(activateStrategy('gold', by('setup')));
    // Below the preset's slow_ma_period (5): gold's rule across its tunables holds.
    await a.config.commit(updateConfig({ tunableOverrides: { gold_fast: { fast_ma_period: 4 } } }, by('setup')));
    await eventually('B has the override', () => b.config.state().config.config.tunableOverrides.gold_fast !== undefined);
    const overridden = await revision();
    const rebase = b.config.commit(upsertPreset({ key: 'gold_fast', base: 'momentum', name: 'moved' }, by('x')));
    await expect(rebase).rejects.toThrow(/tunable_overrides\.gold_fast\.fast_ma_period: unknown tunable/);
    const refused = a.config.commit(deletePreset('gold_fast', by('x')));
    await expect(refused).rejects.toBeInstanceOf(PresetInUseError);
    await expect(refused).rejects.toThrow(/tunable_overrides\.gold_fast: unknown strategy "gold_fast"/);
    expect(await revision()).toBe(overridden);
    expect(await trail(a.config, 'PRESETS')).toHaveLength(1);

    await a.config.commit(updateConfig({ tunableOverrides: { gold_fast: null } }, by('setup')));
    const deleted = await b.config.commit(deletePreset('gold_fast', by('y')));
    expect(deleted).toMatchObject({ changed: true, current: { version: 2 }, audit: { operation: 'deletePreset', actor: 'y' } });
    expect(deleted.previousStrategies.get('gold_fast')?.name).toBe('Gold Trend (fast)');
    await eventually('A without gold_fast', () => !a.config.state().strategies.has('gold_fast'));
  });

  it('a CONFIG and a PRESETS change in one group are judged in order: an activation of a preset added just before it goes through', async () => {
    const { a, b } = await twoReplicas();
    // Asked at once on one replica: they queue together; each is judged against what the ones before it left.
    const [added, activated, refusedDelete, renamed] = await Promise.allSettled([
      a.config.commit(upsertPreset(GOLD_FAST, by('g'))),
      a.config.commit(activateStrategy('gold_fast', by('g'))),
      a.config.commit(deletePreset('gold_fast', by('g'))),
      a.config.commit(upsertPreset({ ...GOLD_FAST, name: 'Renamed' }, by('g'))),
    ]);
    expect(added).toMatchObject({ status: 'fulfilled', value: { changed: true, current: { version: 1 } } });
    expect(activated).toMatchObject({ status: 'fulfilled', value: { changed: true } });
    expect(refusedDelete.status === 'rejected' && refusedDelete.reason).toBeInstanceOf(PresetInUseError);
    expect(renamed).toMatchObject({ status: 'fulfilled', value: { changed: true, current: { version: 2 } } });
    await eventually('B in step', () => b.config.state().config.config.activeStrategyKey === 'gold_fast');
    expect(b.config.state().strategies.get('gold_fast')?.name).toBe('Renamed');
    expect((await trail(a.config, 'PRESETS')).map((e) => [e.version, e.operation])).toEqual([
      [2, 'upsertPreset'],
      [1, 'upsertPreset'],
    ]);
  });

  it('a valid put of the strategies key (etcdctl) is in force on every replica, audited exactly once (actor etcd), numbered never backwards', async () => {
    const { a, b, raw, key } = await twoReplicas();
    await a.config.commit(upsertPreset(GOLD_FAST, by('setup')));
    await eventually('B at presets version 1', () => b.config.state().presets.version === 1);
    const eventsA = recordEvents(a.config);
    const eventsB = recordEvents(b.config);
    // A hand edit that leaves `version: 1`: in force as 2.
    const text = `${await raw.get(key('strategies')).string()}  range_wide:\n    base: range\n    name: Range (wide)\n`;
    await raw.put(key('strategies')).value(text);
    await eventually('both replicas have range_wide', () => [a, b].every((r) => r.config.state().strategies.has('range_wide')));
    for (const r of [a, b]) expect(r.config.state().presets.version).toBe(2);
    for (const events of [eventsA, eventsB]) {
      expect(presetsEvents(events)).toMatchObject([{ type: 'presetsChanged', source: 'handEdit', current: { version: 2 } }]);
    }
    const entries = await waitForTrail(a.config, (es) => es[0]?.operation === 'handEdit');
    expect(entries.map((e) => [e.version, e.operation, e.actor])).toEqual([
      [2, 'handEdit', 'etcd'],
      [1, 'upsertPreset', 'setup'],
    ]);
    expect(Object.keys(entries[0]?.changes ?? {})).toEqual(['range_wide.base', 'range_wide.name']);
    expect(await raw.get(key('strategies')).string()).toBe(text); // applied as it stands, never rewritten

    // A put whose version is above the trail's keeps its number; the next API change follows it.
    await raw.put(key('strategies')).value(text.replace(/^version: 1$/m, 'version: 10').replace('Range (wide)', 'Range (wider)'));
    await eventually('version 10 on B', () => b.config.state().presets.version === 10);
    const next = await b.config.commit(upsertPreset({ key: 'calm', base: 'range', name: 'Calm' }, by('api')));
    expect(next.current.version).toBe(11);
    const after = await waitForTrail(a.config, (es) => es[0]?.version === 11);
    expect(after.map((e) => [e.version, e.operation])).toEqual([
      [11, 'upsertPreset'],
      [10, 'handEdit'],
      [2, 'handEdit'],
      [1, 'upsertPreset'],
    ]);
    // Comments and order a person put there are kept by the API's write.
    const stored = (await raw.get(key('strategies')).string()) ?? '';
    expect(stored.indexOf('range_wide')).toBeLessThan(stored.indexOf('calm'));
    expect(stored).toMatch(/^version: 11$/m);
  });

  it('two puts of the strategies key before the first is audited: each announced under its own version, and the trail records each content under the version announced', async () => {
    const { a, b, raw, key } = await twoReplicas();
    await a.config.commit(upsertPreset(GOLD_FAST, by('setup')));
    await eventually('B at presets version 1', () => b.config.state().presets.version === 1);
    const events = [recordEvents(a.config), recordEvents(b.config)];
    const stored = (await raw.get(key('strategies')).string()) ?? '';
    const texts = ['One', 'Two'].map((name) => `${stored}  range_${name.toLowerCase()}:\n    base: range\n    name: ${name}\n`);
    // Sent together, so both land before any replica can audit the first (each its own revision).
    await Promise.all(texts.map((text) => raw.put(key('strategies')).value(text)));
    const entries = await waitForTrail(a.config, (es) => es.length === 3);
    await eventually('both replicas at the trail newest', () =>
      [a, b].every(
        (r) => r.config.state().presets.digest === entries[0]?.digest && r.config.state().presets.version === entries[0]?.version,
      ),
    );
    expect(entries.map((e) => [e.version, e.operation, e.actor])).toEqual([
      [3, 'handEdit', 'etcd'],
      [2, 'handEdit', 'etcd'],
      [1, 'upsertPreset', 'setup'],
    ]);
    expect(new Set(entries.map((e) => e.digest)).size).toBe(3);
    // Every version a replica announced is the one the trail gives that content.
    const byVersion = new Map(entries.map((e) => [e.version, e.digest]));
    for (const recorded of events) {
      const announced = recorded.flatMap((e) => (e.type === 'presetsChanged' ? [[e.current.version, e.current.digest]] : []));
      expect(announced.length).toBeGreaterThan(0);
      for (const [version, digest] of announced) expect(byVersion.get(version as number)).toBe(digest);
    }
  });

  it('after a put of the strategies key at version 2147483647, a second one (numbered last + 1) is judged invalid: no version is left for it', async () => {
    const { a, b, raw, key } = await twoReplicas();
    const atBound = 'version: 2147483647\npresets:\n  gold_fast:\n    base: gold\n    name: Gold fast\n';
    await raw.put(key('strategies')).value(atBound);
    await eventually('in force as version 2147483647 on both', () => [a, b].every((r) => r.config.state().presets.version === 2147483647));
    await waitForTrail(a.config, (es) => es[0]?.version === 2147483647 && es[0].operation === 'handEdit');
    const inForce = b.config.state();
    // Through the API: no version after it, nothing written.
    await expect(a.config.commit(upsertPreset({ key: 'calm', base: 'range', name: 'Calm' }, by('x')))).rejects.toMatchObject({
      errno: 'EOVERFLOW',
    });

    // Its own version not above the last audited one: it would be numbered 2147483648.
    await raw.put(key('strategies')).value(atBound.replace('name: Gold fast', 'name: Gold faster'));
    await eventually('both report it', () => [a, b].every((r) => r.config.strategiesProblem() !== null));
    for (const r of [a, b]) {
      expect(r.config.strategiesProblem()?.problems).toEqual([
        {
          message:
            'this hand edit cannot be numbered: version 2147483647, the last a preset set may have, is already recorded in the audit trail',
        },
      ]);
      expect(r.config.state().presets).toEqual(inForce.presets);
      expect(r.config.state().strategies.get('gold_fast')?.name).toBe('Gold fast');
    }
    // Nothing past the bound in the trail; preset changes are refused like on an invalid set, the config still changes.
    await expect(a.config.commit(upsertPreset({ key: 'calm', base: 'range', name: 'Calm' }, by('x')))).rejects.toBeInstanceOf(
      ConfigFileInvalidError,
    );
    await expect(b.config.commit(setScanInterval(33))).resolves.toMatchObject({ changed: true });
    const entries = await trail(a.config, 'PRESETS');
    expect(entries.map((e) => [e.version, e.operation])).toEqual([[2147483647, 'handEdit']]);
  });

  it('an invalid put keeps the set in force and is reported on every replica; preset changes refused, config changes not; a fix puts it in force', async () => {
    const { a, b, raw, key } = await twoReplicas();
    await a.config.commit(upsertPreset(GOLD_FAST, by('setup')));
    await a.config.commit(activateStrategy('gold_fast', by('setup')));
    await eventually('B has the activation', () => b.config.state().config.config.activeStrategyKey === 'gold_fast');
    const good = b.config.state();
    const events = recordEvents(b.config);
    const text = (await raw.get(key('strategies')).string()) ?? '';
    const broken = text.replace('fast_ma_period: 3', 'fast_ma_period: 1');
    await raw.put(key('strategies')).value(broken);
    await eventually('both report it', () => [a, b].every((r) => r.config.strategiesProblem() !== null));
    const problem = b.config.strategiesProblem();
    const line = broken.split('\n').findIndex((l) => l.includes('fast_ma_period: 1')) + 1;
    expect(problem?.publicMessage).toMatch(/^strategies: invalid presets\n/);
    expect(problem?.problems).toEqual([
      { line, column: expect.any(Number), message: 'presets.gold_fast.tunables.fast_ma_period: must be an integer in [2, 200], got 1' },
    ]);
    expect(presetsEvents(events)).toMatchObject([{ type: 'presetsInvalid' }]);
    expect(b.config.state().presets).toEqual(good.presets);
    expect(b.config.state().strategies).toBe(good.strategies);
    expect(b.config.problem()).toBeNull();
    await expect(a.config.commit(upsertPreset({ ...GOLD_FAST, name: 'Other' }, by('x')))).rejects.toBeInstanceOf(ConfigFileInvalidError);
    await expect(b.config.commit(deletePreset('gold_fast', by('x')))).rejects.toThrow(/^Config file is invalid: strategies: line \d+/);
    // The config is not the presets: it still changes, judged against the set in force.
    await expect(a.config.commit(setScanInterval(33))).resolves.toMatchObject({ changed: true });
    expect(await raw.get(key('strategies')).string()).toBe(broken);
    expect(await trail(a.config, 'PRESETS')).toHaveLength(1);

    await raw.put(key('strategies')).value(text.replace('fast_ma_period: 3', 'fast_ma_period: 2'));
    await eventually('valid again on both', () => [a, b].every((r) => r.config.strategiesProblem() === null));
    expect(presetsEvents(events).map((e) => e.type)).toEqual(['presetsInvalid', 'presetsValid', 'presetsChanged']);
    expect(b.config.state().presets.version).toBe(2);
    expect(b.config.state().strategies.get('gold_fast')?.tunables).toMatchObject({ fast_ma_period: 2 });
    await waitForTrail(a.config, (es) => es[0]?.version === 2 && es[0].operation === 'handEdit');
  });

  it('a put that removes the active preset is kept out (reported, the set stays) and goes in, audited once, when the config stops using it', async () => {
    const { a, b, raw, key } = await twoReplicas();
    await a.config.commit(upsertPreset(GOLD_FAST, by('setup')));
    await a.config.commit(activateStrategy('gold_fast', by('setup')));
    await eventually('B has the activation', () => b.config.state().config.config.activeStrategyKey === 'gold_fast');
    await raw.put(key('strategies')).value('version: 2\npresets: {}\n');
    await eventually('kept out on both', () => [a, b].every((r) => r.config.strategiesProblem() !== null));
    expect(b.config.strategiesProblem()?.problems[0]?.message).toMatch(
      /^kept out: this version of the presets would leave the config invalid \(active_strategy_key: Invalid strategy key: gold_fast\)/,
    );
    for (const r of [a, b]) expect(r.config.state().strategies.has('gold_fast')).toBe(true);
    await expect(b.config.commit(upsertPreset({ ...GOLD_FAST, name: 'x' }, by('x')))).rejects.toBeInstanceOf(ConfigFileInvalidError);
    expect(await trail(a.config, 'PRESETS')).toHaveLength(1);

    const events = recordEvents(b.config);
    // A runner on B: it hears the removal go in before the config change that let it in (one batch).
    const published: RunnerState[] = [];
    const runner = new Runner({
      store: b.config,
      feed: createSimulatedFeed(),
      publisher: { publish: async (s) => void published.push(s), close: async () => {} },
      heartbeatMs: 60_000,
    });
    runner.start();
    await eventually('the runner applied gold_fast', () => runner.latest().applied?.strategyKey === 'gold_fast');
    await a.config.commit(activateStrategy('gold', by('x')));
    await eventually('in force on both', () =>
      [a, b].every((r) => r.config.strategiesProblem() === null && r.config.state().presets.version === 2),
    );
    for (const r of [a, b]) expect(r.config.state().strategies.has('gold_fast')).toBe(false);
    expect(events.map((e) => e.type)).toEqual(['presetsValid', 'presetsChanged', 'changed']);
    await eventually('the runner applied gold', () => runner.latest().applied?.strategyKey === 'gold');
    await runner.stop();
    // Never ERROR on the way: it reported "strategy gold_fast is not in force" between the two.
    expect(published.filter((s) => s.error !== null).map((s) => s.error)).toEqual([]);
    expect(published.map((s) => s.applied?.strategyKey).filter((k, i, all) => k !== all[i - 1])).toEqual(['gold_fast', 'gold']);
    const entries = await waitForTrail(a.config, (es) => es[0]?.version === 2);
    expect(entries.map((e) => [e.version, e.operation, e.actor])).toEqual([
      [2, 'handEdit', 'etcd'],
      [1, 'upsertPreset', 'setup'],
    ]);
    expect(entries[0]?.config.activeStrategyKey).toBe('gold');
  });

  it('a delete of the strategies key while a preset is active is kept out: a preset commit on either replica is refused, the key is not put back', async () => {
    const { a, b, raw, key, prefix } = await twoReplicas();
    await a.config.commit(upsertPreset(GOLD_FAST, by('setup')));
    await a.config.commit(activateStrategy('gold_fast', by('setup')));
    await eventually('B has the activation', () => b.config.state().config.config.activeStrategyKey === 'gold_fast');
    await raw.delete().key(key('strategies'));
    await eventually('kept out on both', () => [a, b].every((r) => r.config.strategiesProblem() !== null));
    expect(b.config.strategiesProblem()?.problems[0]?.message).toMatch(
      /^kept out: removing the presets \(the file or key is gone\) would leave the config invalid \(active_strategy_key: Invalid strategy key: gold_fast\).* or the presets are put back$/,
    );
    for (const r of [a, b]) {
      await expect(r.config.commit(upsertPreset({ key: 'gold_t', base: 'gold', name: 'T' }, by('x')))).rejects.toBeInstanceOf(
        ConfigFileInvalidError,
      );
    }
    expect(await raw.get(key('strategies')).string()).toBeNull();
    expect(await keysUnder(raw, prefix, 'audit/presets/')).toHaveLength(1);
    expect(await trail(a.config, 'PRESETS')).toHaveLength(1);
    for (const r of [a, b]) expect(r.config.strategiesProblem()).not.toBeNull();
  });

  it('a kept-out put survives a restart of every replica: the set in force is kept at strategies.kept, used only if the trail recorded it last, removed once the stored set is in force', async () => {
    const { c, prefix, a, b, raw, key } = await twoReplicas();
    await a.config.commit(upsertPreset(GOLD_FAST, by('setup')));
    await a.config.commit(activateStrategy('gold_fast', by('setup')));
    const inForceText = await raw.get(key('strategies')).string();
    const kept = () => raw.get(key('strategies.kept')).string();
    await raw.put(key('strategies')).value('version: 2\npresets: {}\n');
    await eventually('kept out on both', () => [a, b].every((r) => r.config.strategiesProblem() !== null));
    await waitUntil(kept, (text) => text === inForceText, { what: 'the set in force kept' });
    await a.close();
    await b.close();

    // A copy that is not the set the trail recorded last is never used: the start fails as it did before.
    await raw.put(key('strategies.kept')).value('version: 1\npresets: {}\n');
    const stale = await openReplica(c, prefix);
    expect(stale.config.problem()?.message).toMatch(/gold_fast/);
    await stale.close();
    await raw.put(key('strategies.kept')).value(inForceText as string);

    // A runner-only open, then an API replica: both start on the kept set, the put still kept out.
    const runner = await openReplica(c, prefix);
    const api = await openReplica(c, prefix);
    await api.config.start();
    for (const r of [runner, api]) {
      expect(r.config.problem()).toBeNull();
      expect(r.config.strategiesProblem()?.problems[0]?.message).toMatch(
        /^kept out: this version of the presets would leave the config invalid/,
      );
      expect(r.config.state()).toMatchObject({ presets: { version: 1 }, config: { config: { activeStrategyKey: 'gold_fast' } } });
      expect(r.config.state().strategies.has('gold_fast')).toBe(true);
    }
    expect((await trail(api.config, 'PRESETS')).map((e) => [e.version, e.operation])).toEqual([[1, 'upsertPreset']]);
    // Removed by hand while still kept out: the API replica saves it again.
    await raw.delete().key(key('strategies.kept'));
    await waitUntil(kept, (text) => text === inForceText, { what: 'saved again' });

    // The config stops using the preset: the put goes in, and the kept copy goes.
    await api.config.commit(activateStrategy('gold', by('x')));
    await eventually('in force', () => api.config.strategiesProblem() === null && api.config.state().presets.version === 2);
    await waitUntil(kept, (text) => text === null, { what: 'the kept copy removed' });
    await eventually('the runner follows', () => runner.config.state().presets.version === 2);
    // Audited once, as the hand edit it is, and changes go on: the set announced at the start (before
    // the kept set was put back) was owed twice, the transaction carried two puts of its entry
    // ("duplicate key given in txn request"), and every change answered 500 until a restart.
    const entries = await waitForTrail(api.config, (es) => es[0]?.version === 2);
    expect(entries.map((e) => [e.version, e.operation, e.actor])).toEqual([
      [2, 'handEdit', 'etcd'],
      [1, 'upsertPreset', 'setup'],
    ]);
    expect((await api.config.commit(activateStrategy('range', by('x')))).changed).toBe(true);
    expect((await api.config.commit(upsertPreset({ key: 'calm', base: 'range', name: 'Calm' }, by('x')))).current).toMatchObject({
      version: 3,
    });
  });

  it('a put kept out before every replica stopped, let in at the next start by a config put meanwhile: audited as the hand edit it is, with what it removed from the kept set', async () => {
    const { c, prefix, a, b, raw, key } = await twoReplicas();
    await a.config.commit(upsertPreset(GOLD_FAST, by('setup')));
    await a.config.commit(activateStrategy('gold_fast', by('setup')));
    const inForceText = await raw.get(key('strategies')).string();
    await raw.put(key('strategies')).value('version: 5\npresets: {}\n');
    await waitUntil(
      () => raw.get(key('strategies.kept')).string(),
      (text) => text === inForceText,
      { what: 'the set in force kept' },
    );
    await a.close();
    await b.close();
    // While stopped, the config stops using gold_fast: at the next start the put is no longer kept out.
    const config = (await raw.get(key('config')).string()) as string;
    await raw.put(key('config')).value(config.replace(/^active_strategy_key: gold_fast$/m, 'active_strategy_key: momentum'));
    const api = await openReplica(c, prefix);
    await api.config.start();
    const entries = await waitForTrail(api.config, (es) => es[0]?.version === 5);
    expect([entries[0]?.operation, entries[0]?.actor]).toEqual(['handEdit', 'etcd']);
    // Before: changes {} and "what changed is not known (the set before it was not seen by this replica)".
    expect(Object.keys(entries[0]?.changes ?? {})).toEqual(['gold_fast.base', 'gold_fast.name', 'gold_fast.tunables']);
    expect(JSON.stringify(entries[0]?.details)).not.toMatch(/not known/);
    await api.close();
  });

  it('a process starting while a put is kept out and the config key is invalid or gone runs the kept set, as the running replicas do: it neither takes the put in nor audits it', async () => {
    for (const breakConfig of ['invalid', 'deleted'] as const) {
      const { c, prefix, a, b, raw, key } = await twoReplicas();
      await a.config.commit(upsertPreset(GOLD_FAST, by('setup')));
      await a.config.commit(activateStrategy('gold_fast', by('setup')));
      const inForceText = await raw.get(key('strategies')).string();
      await raw.put(key('strategies')).value('version: 2\npresets: {}\n');
      await eventually('kept out on both', () => [a, b].every((r) => r.config.strategiesProblem() !== null));
      await waitUntil(
        () => raw.get(key('strategies.kept')).string(),
        (text) => text === inForceText,
        { what: 'the set in force kept' },
      );
      if (breakConfig === 'invalid')
        await raw.put(key('config')).value('active_strategy_key: gold_fast\ntrading_enabled: maybe\nversion: 3\n');
      else await raw.delete().key(key('config'));
      await eventually('the config reported', () => [a, b].every((r) => r.config.problem() !== null));
      // A runner-only process starts (no start(): it audits nothing it finds, as a runner's store).
      const runner = await openReplica(c, prefix);
      expect({ breakConfig, presets: runner.config.state().presets.version }).toEqual({ breakConfig, presets: 1 });
      expect(runner.config.state().strategies.has('gold_fast')).toBe(true);
      expect(runner.config.state().config.config.activeStrategyKey).toBe('gold_fast');
      expect(runner.config.strategiesProblem()?.problems[0]?.message).toMatch(/^kept out: /);
      // Its start (an API replica's audits what it finds, awaited): nothing audited for the kept-out put.
      await runner.config.start();
      expect(runner.config.state().presets.version).toBe(1);
      expect((await trail(a.config, 'PRESETS')).map((e) => e.version)).toEqual([1]);
      for (const r of [a, b, runner]) await r.close();
    }
  });

  it('a put of the strategies key on an empty presets trail while a replica starts is a hand edit (actor etcd), not the starting replica baseline', async () => {
    const c = await cluster();
    const raw = rawClient(c);
    const text = 'version: 0\npresets:\n  calm:\n    base: range\n    name: Calm\n';
    // B has read the prefix (no presets) and is about to start when the put comes: its start() and
    // A's audit of the put race, and whichever lands, the entry is the hand edit A saw.
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const prefix = freshPrefix();
      const a = await openReplica(c, prefix);
      await a.config.start();
      const b = await openReplica(c, prefix);
      await raw.put(`/${prefix}/strategies`).value(text);
      await b.config.start();
      const entries = await waitForTrail(a.config, (es) => es.length > 0);
      outcomes.push(entries.map((e) => `${e.version} ${e.operation} ${e.actor}`).join(','));
    }
    expect(outcomes).toEqual(Array(6).fill('1 handEdit etcd'));
    // Deterministic, as if A's audit never came first: B alone, the put after its first read and before its start().
    const prefix = freshPrefix();
    const b = await openReplica(c, prefix);
    await raw.put(`/${prefix}/strategies`).value(text);
    await eventually('B has calm', () => b.config.state().strategies.has('calm'));
    await b.config.start();
    expect((await trail(b.config, 'PRESETS')).map((e) => [e.version, e.operation, e.actor])).toEqual([[1, 'handEdit', 'etcd']]);
  });

  it('at start: an unaudited stored set is audited (baseline), a deleted key is a change; a config naming a preset is valid with it', async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    const raw = rawClient(c);
    // What a migration (or a person) leaves: both keys, no audit entries.
    await raw.put(`/${prefix}/strategies`).value('# desk presets\nversion: 3\npresets:\n  calm:\n    base: range\n    name: Calm\n');
    await raw
      .put(`/${prefix}/config`)
      .value(
        'active_strategy_key: calm\ntrading_enabled: true\nscan_interval_seconds: 30\ntunable_overrides: {}\nversion: 4\nupdated_at: 2026-01-05T01:35:00Z\n',
      );
    const a = await openReplica(c, prefix);
    expect(await keysUnder(raw, prefix, 'audit/')).toEqual([]); // nothing written before start()
    expect(a.config.problem()).toBeNull();
    expect(a.config.strategiesProblem()).toBeNull();
    expect(a.config.state()).toMatchObject({ presets: { version: 3 }, config: { config: { activeStrategyKey: 'calm', version: 4 } } });
    await a.config.start();
    const entries = await a.config.audit({ last: 10 });
    expect(entries.map((e) => [e.subject, e.version, e.operation]).sort()).toEqual([
      ['CONFIG', 4, 'baseline'],
      ['PRESETS', 3, 'baseline'],
    ]);
    // A second replica starting finds them audited: nothing more.
    const b = await openReplica(c, prefix);
    await b.config.start();
    expect(await keysUnder(raw, prefix, 'audit/')).toHaveLength(2);

    // Deleted while nobody uses a preset: no presets, as version 4, audited once.
    await a.config.commit(activateStrategy('range', by('x')));
    await raw.delete().key(`/${prefix}/strategies`);
    await eventually('A has no presets', () => a.config.state().presets.presets.length === 0);
    expect(a.config.state().presets.version).toBe(4);
    await waitForTrail(a.config, (es) => es[0]?.version === 4 && es[0].operation === 'handEdit');
    const c2 = await openReplica(c, prefix);
    expect(c2.config.state().presets).toMatchObject({ version: 4, presets: [] });
  });

  it('keeps the last --audit-keep PRESETS entries, in the transaction that adds one', async () => {
    const { a, raw, prefix } = await twoReplicas({ auditKeep: 3 });
    for (let i = 0; i < 6; i++) await a.config.commit(upsertPreset({ key: 'calm', base: 'range', name: `Calm ${i}` }, by('x')));
    const keys = await keysUnder(raw, prefix, 'audit/presets/');
    expect(keys.map((k) => Number(k.split('/').at(-1)))).toEqual([4, 5, 6]);
    // The config's trail is kept by its own count.
    expect(await keysUnder(raw, prefix, 'audit/config/')).toHaveLength(1);
  });
});
