import { expect, it } from 'vitest';
import { parseAuditEntry } from '../../src/config/audit-entry.js';
import { ConfigFileInvalidError, VersionConflictError } from '../../src/config/errors.js';
import { parsedOffThread } from '../../src/config/yaml-document.js';
import { describeWithEtcd, type EtcdCluster, startEtcd } from '../helpers/etcd.js';
import {
  activate,
  eventually,
  freshPrefix,
  keysUnder,
  openReplica,
  rawClient,
  recordEvents,
  setScanInterval,
} from '../helpers/etcd-stores.js';
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
  return { c, prefix, a, b, raw: rawClient(c) };
}

describeWithEtcd('etcd config store (real etcd, two replicas on one prefix)', () => {
  it('writes nothing before start(); start() writes the default config with its baseline entry, once', async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    const raw = rawClient(c);
    const a = await openReplica(c, prefix);
    const b = await openReplica(c, prefix);
    expect(await raw.getAll().prefix(`/${prefix}/`).keys()).toEqual([]);
    expect(a.config.state().config.config.version).toBe(1);
    await Promise.all([a.config.start(), b.config.start()]);
    expect(await keysUnder(raw, prefix, 'audit/config/')).toEqual([`/${prefix}/audit/config/0000000000000001`]);
    const text = await raw.get(`/${prefix}/config`).string();
    expect(text).toContain('active_strategy_key: momentum');
    expect(text).toContain('version: 1');
    expect(a.config.info()).toMatchObject({ kind: 'ETCD', connected: true });
    expect(a.config.problem()).toBeNull();
  });

  it('40 concurrent changes split over both replicas: version delta = accepted = audit entries, no version twice', async () => {
    const { a, b, raw, prefix } = await twoReplicas();
    const before = a.config.state().config.config.version;
    await eventually('B at the start version', () => b.config.state().config.config.version === before);
    const heardByA = recordEvents(a.config);
    const heardByB = recordEvents(b.config);
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).config.commit(setScanInterval(100 + i, `writer-${i}`))),
    );
    const accepted = results.flatMap((r) => (r.status === 'fulfilled' && r.value.changed ? [r.value] : []));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(accepted).toHaveLength(40);
    const versions = accepted.map((r) => r.current.config.version);
    expect(new Set(versions).size).toBe(40);
    const after = Math.max(...versions);
    expect(after - before).toBe(40);
    const auditKeys = await keysUnder(raw, prefix, 'audit/config/');
    expect(auditKeys).toHaveLength(41); // the baseline and the 40
    const entries = (await a.config.audit({ last: 100, subject: 'CONFIG' })).filter((e) => e.operation === 'updateConfig');
    expect(entries.map((e) => e.version).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => before + 1 + i));
    // Every entry's config is the one that version put in force: each writer's value is there exactly once.
    expect(new Set(entries.map((e) => e.config.scanIntervalSeconds)).size).toBe(40);
    await eventually('both replicas at the last version', () => [a, b].every((r) => r.config.state().config.config.version === after));
    // Changes are written in groups, yet every replica hears every version once, in order.
    for (const heard of [heardByA, heardByB]) {
      const changes = heard.flatMap((e) => (e.type === 'changed' ? [e] : []));
      expect(changes.map((e) => e.current.config.version)).toEqual(Array.from({ length: 40 }, (_, i) => before + 1 + i));
      for (const e of changes) {
        expect(e.previous.config.version).toBe(e.current.config.version - 1);
        expect(e.audit?.version).toBe(e.current.config.version);
      }
    }
    const sources = (heard: typeof heardByA) => heard.flatMap((e) => (e.type === 'changed' ? [`${e.audit?.actor}:${e.source}`] : []));
    for (let i = 0; i < 40; i++) {
      expect(sources(heardByA)).toContain(`writer-${i}:${i % 2 === 0 ? 'commit' : 'replica'}`);
      expect(sources(heardByB)).toContain(`writer-${i}:${i % 2 === 0 ? 'replica' : 'commit'}`);
    }
  });

  it('10 concurrent changes with the same expectedVersion over both replicas: exactly one accepted', async () => {
    const { a, b } = await twoReplicas();
    const expected = a.config.state().config.config.version;
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).config.commit(setScanInterval(200 + i), { expectedVersion: expected })),
    );
    const accepted = results.filter((r) => r.status === 'fulfilled');
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(9);
    for (const err of refused) {
      expect(err).toBeInstanceOf(VersionConflictError);
      expect(err).toMatchObject({ expectedVersion: expected, currentVersion: expected + 1 });
    }
  });

  it('a no-op writes nothing: same revision, no version, no audit entry; expectedVersion is still checked first', async () => {
    const { a, raw, prefix } = await twoReplicas();
    await a.config.commit(setScanInterval(77));
    const revisionBefore = (await raw.get(`/${prefix}/config`).exec()).header.revision;
    const version = a.config.state().config.config.version;
    const noop = await a.config.commit(setScanInterval(77));
    expect(noop).toMatchObject({ changed: false, audit: null, changedFields: [] });
    expect(noop.current.config.version).toBe(version);
    await expect(a.config.commit(setScanInterval(77), { expectedVersion: version - 1 })).rejects.toBeInstanceOf(VersionConflictError);
    expect((await raw.get(`/${prefix}/config`).exec()).header.revision).toBe(revisionBefore);
  });

  it("a commit on A reaches B's subscribers as a replica change with its audit entry", async () => {
    const { a, b } = await twoReplicas();
    const seenByB = recordEvents(b.config);
    const seenByA = recordEvents(a.config);
    const result = await a.config.commit(activate('gold', 'alice'));
    await eventually('B hears the change', () => seenByB.some((e) => e.type === 'changed'));
    const event = seenByB.find((e) => e.type === 'changed');
    expect(event).toMatchObject({ type: 'changed', source: 'replica', audit: { actor: 'alice', operation: 'activateStrategy' } });
    expect(event?.type === 'changed' && event.current).toEqual(result.current);
    expect(seenByA.filter((e) => e.type === 'changed')).toMatchObject([{ source: 'commit', current: result.current }]);
    expect(b.config.state().config.config.activeStrategyKey).toBe('gold');
  });

  it('a valid put of the config key (etcdctl) is applied everywhere as a hand edit and audited exactly once', async () => {
    const { a, b, raw, prefix } = await twoReplicas();
    await a.config.commit(setScanInterval(60));
    const last = a.config.state().config.config.version;
    await eventually('B at the same version', () => b.config.state().config.config.version === last);
    const eventsA = recordEvents(a.config);
    const eventsB = recordEvents(b.config);
    // A hand edit that does not bump `version`: applied, numbered last + 1 (never backwards).
    const text = (await raw.get(`/${prefix}/config`).string())?.replace('scan_interval_seconds: 60', 'scan_interval_seconds: 15');
    await raw.put(`/${prefix}/config`).value(text ?? '');
    await eventually('both replicas apply it', () => [a, b].every((r) => r.config.state().config.config.scanIntervalSeconds === 15));
    for (const events of [eventsA, eventsB]) expect(events.filter((e) => e.type === 'changed')).toMatchObject([{ source: 'handEdit' }]);
    expect(a.config.state().config.config.version).toBe(last + 1);
    expect(b.config.state().config.config.version).toBe(last + 1);
    const entries = await waitForAudit(a, (es) => es[0]?.operation === 'handEdit');
    expect(entries[0]).toMatchObject({
      actor: 'etcd',
      operation: 'handEdit',
      version: last + 1,
      changes: { scanIntervalSeconds: { before: 60, after: 15 } },
    });
    expect(entries.filter((e) => e.operation === 'handEdit')).toHaveLength(1);
    // The stored text is left as the person wrote it.
    expect(await raw.get(`/${prefix}/config`).string()).toBe(text);
    // The next change builds on the hand edit.
    const next = await b.config.commit(setScanInterval(16));
    expect(next.previous.config.scanIntervalSeconds).toBe(15);
    expect(next.current.config.version).toBe(last + 2);
  });

  it('an invalid put keeps the last good config, reports it, refuses commits; a fix makes it valid again', async () => {
    const { a, b, raw, prefix } = await twoReplicas();
    const good = a.config.state().config;
    const events = recordEvents(b.config);
    await raw.put(`/${prefix}/config`).value('active_strategy_key: nope\nbogus: [\n');
    await eventually('B reports it', () => b.config.problem() !== null);
    expect(events).toMatchObject([{ type: 'invalid' }]);
    expect(b.config.problem()?.publicMessage).toMatch(/^config: invalid config/);
    expect(b.config.state().config).toEqual(good);
    await expect(a.config.commit(setScanInterval(90))).rejects.toBeInstanceOf(ConfigFileInvalidError);
    const auditBefore = await keysUnder(raw, prefix, 'audit/config/');
    await raw
      .put(`/${prefix}/config`)
      .value(
        'active_strategy_key: range\ntrading_enabled: false\nscan_interval_seconds: 5\ntunable_overrides: {}\nversion: 1\nupdated_at: 2026-01-05T01:35:00Z\n',
      );
    await eventually('valid again on B', () => b.config.problem() === null && b.config.state().config.config.activeStrategyKey === 'range');
    // "valid" once the fixed config is in force: a listener acting on it sees the fix, not the state from before.
    expect(events.map((e) => e.type)).toEqual(['invalid', 'changed', 'valid']);
    expect(b.config.state().config.config.version).toBe(good.config.version + 1);
    await waitForAudit(a, (es) => es[0]?.operation === 'handEdit');
    expect(await keysUnder(raw, prefix, 'audit/config/')).toHaveLength(auditBefore.length + 1);
  });

  it('a large invalid value is parsed once, in the parse worker: every replica judges it from its cache, and refused commits do not parse it again', async () => {
    const parses: string[] = [];
    // A deadline this loaded machine cannot miss: the judgement, not the deadline, is tested here.
    const { a, b, raw, prefix } = await twoReplicas({ parseDeadlineMs: 60_000, onParse: (location) => parses.push(location) });
    // About 80 KB (parsed in this thread, it held the event loop on each replica on every commit): allowed, but invalid.
    const big = `active_strategy_key: range\ntunable_overrides:\n${Array.from({ length: 3000 }, (_, i) => `  k${i}: {a: [1, 2, {b: c}]}\n`).join('')}`;
    await raw.put(`/${prefix}/config`).value(big);
    await eventually('both report it', () => a.config.problem() !== null && b.config.problem() !== null);
    expect(b.config.problem()?.message).toMatch(/tunable_overrides\.k0: unknown strategy "k0"/);
    expect(parsedOffThread(big)).toBe(true);
    const judged = parses.length;
    expect(parses.filter((p) => p === `/${prefix}/config`).length).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < 3; i++) {
      await expect((i % 2 ? a : b).config.commit(setScanInterval(90 + i))).rejects.toBeInstanceOf(ConfigFileInvalidError);
    }
    await a.config.refresh();
    expect(parses).toHaveLength(judged);
  });

  it('a value the parse worker cannot parse within --parse-deadline-ms is refused as invalid, naming the key (not "the file")', async () => {
    // A deadline no parse of ~80 KB meets (starting the worker has its own allowance).
    const { a, raw, prefix } = await twoReplicas({ parseDeadlineMs: 1 });
    const good = a.config.state().config;
    // Naming the prefix: a text parsed before (another test's) would be judged from the worker's cache.
    const big = `# ${prefix}\nactive_strategy_key: range\ntunable_overrides:\n${Array.from({ length: 3000 }, (_, i) => `  k${i}: {a: [1, 2, {b: c}]}\n`).join('')}`;
    await raw.put(`/${prefix}/config`).value(big);
    await eventually('A reports it', () => a.config.problem() !== null);
    expect(a.config.problem()?.problems).toEqual([{ message: `the value of /${prefix}/config could not be parsed within 1 ms` }]);
    expect(a.config.problem()?.publicMessage).toBe('config: invalid config\n  the value of config could not be parsed within 1 ms');
    expect(a.config.state().config).toEqual(good);
    await raw
      .put(`/${prefix}/strategies`)
      .value(
        `# ${prefix}\nversion: 1\npresets: {}\n${Array.from({ length: 3000 }, (_, i) => `# ${i}: {a: [1, 2, {b: c}]}\n`).join('')}x: [${'1, '.repeat(6000)}1]\n`,
      );
    await eventually('the presets too', () => a.config.strategiesProblem() !== null);
    expect(a.config.strategiesProblem()?.problems).toEqual([
      { message: `the value of /${prefix}/strategies could not be parsed within 1 ms` },
    ]);
  });

  it('a value over --max-runtime-file-bytes is refused as invalid, unparsed, naming the key and its size', async () => {
    const parses: string[] = [];
    const { a, raw, prefix } = await twoReplicas({ maxTextBytes: 64 * 1024, onParse: (location) => parses.push(location) });
    const good = a.config.state().config;
    const over = `active_strategy_key: range\n# ${'x'.repeat(70 * 1024)}\n`;
    await raw.put(`/${prefix}/config`).value(over);
    await eventually('A reports it', () => a.config.problem() !== null);
    expect(a.config.problem()?.problems).toEqual([
      { message: `the value is ${over.length} bytes, over the limit of 65536 bytes (--max-runtime-file-bytes); it is not parsed` },
    ]);
    expect(parsedOffThread(over)).toBe(false);
    expect(a.config.state().config).toEqual(good);
    await raw.put(`/${prefix}/strategies`).value(`version: 1\npresets: {}\n# ${'x'.repeat(70 * 1024)}\n`);
    await eventually('the presets too', () => a.config.strategiesProblem() !== null);
    expect(a.config.strategiesProblem()?.message).toMatch(
      new RegExp(`^/${prefix}/strategies: invalid presets\n.*the value is \\d+ bytes, over the limit of 65536 bytes`),
    );
  });

  it('a bad value at the newest audit key refuses changes at once (409), naming the key, said once in the log; deleting it lets the next change follow the entry before it', async () => {
    const warned: string[] = [];
    const { a, b, raw, prefix } = await twoReplicas({ warn: (message) => warned.push(message) });
    await a.config.commit(setScanInterval(60));
    const current = a.config.state().config.config.version;
    const key = (v: number) => `/${prefix}/audit/config/${String(v).padStart(16, '0')}`;
    await raw.put(key(current + 1)).value('garbage');
    for (let i = 0; i < 2; i++) {
      const refused = await a.config.commit(setScanInterval(70 + i)).then(
        () => null,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(ConfigFileInvalidError);
      expect((refused as Error).message).toBe(
        `Config file is invalid: ${String(current + 1).padStart(16, '0')}: the newest audit key audit/config/${String(current + 1).padStart(16, '0')} is not an audit entry (put there by hand?): changes are refused, so that no version is written beside it or numbered past it. Put the entry of version ${current + 1} back, or delete the key (the next change then follows the entry before it)`,
      );
    }
    expect(warned.filter((w) => w.includes('the newest audit key'))).toHaveLength(1);

    // A valid entry copied under a higher key (its version not the key's): refused the same way, on B too.
    const entry = await raw.get(key(current)).string();
    await raw.put(key(current + 2)).value(entry as string);
    await expect(b.config.commit(setScanInterval(80))).rejects.toThrow(
      `the newest audit key audit/config/${String(current + 2).padStart(16, '0')} holds the CONFIG entry of version ${current}, not of version ${current + 2}`,
    );
    expect(a.config.state().config.config.version).toBe(current);

    await raw.delete().key(key(current + 2));
    await raw.delete().key(key(current + 1));
    const accepted = await a.config.commit(setScanInterval(90));
    expect(accepted.current.config.version).toBe(current + 1);
    expect(await keysUnder(raw, prefix, 'audit/config/')).toEqual(Array.from({ length: current + 1 }, (_, i) => key(i + 1)));
  });

  it('a transaction that fails twice on the very same keys (nothing raced it) is refused with the keys named, not retried until the deadline', async () => {
    let commits = 0;
    let failing = false;
    const warned: string[] = [];
    const { a } = await twoReplicas({
      warn: (message) => warned.push(message),
      onGateway: (gateway) => {
        const call = gateway.call.bind(gateway);
        // Every commit's compare fails as if an entry key were taken; the reads are etcd's.
        gateway.call = (async (operation: string, fn: never, deadline?: number) => {
          if (operation !== 'commit' || !failing) return call(operation, fn, deadline);
          commits++;
          return { succeeded: false, header: { revision: '0' }, responses: [] };
        }) as typeof gateway.call;
      },
    });
    failing = true;
    const version = a.config.state().config.config.version;
    await expect(a.config.commit(setScanInterval(75))).rejects.toThrow(
      new RegExp(`the audit key audit/config/${String(version + 1).padStart(16, '0')} is already there`),
    );
    expect(commits).toBe(2);
    expect(warned.filter((w) => w.includes('is already there'))).toHaveLength(1);
  });

  it('a hand edit whose version is above the last audited one keeps its own number; the next change follows it', async () => {
    const { a, b, raw, prefix } = await twoReplicas();
    const text = (await raw.get(`/${prefix}/config`).string()) ?? '';
    await raw
      .put(`/${prefix}/config`)
      .value(text.replace(/^version: \d+$/m, 'version: 100').replace('trading_enabled: true', 'trading_enabled: false'));
    await eventually('applied as version 100', () => [a, b].every((r) => r.config.state().config.config.version === 100));
    const next = await a.config.commit(setScanInterval(61));
    expect(next.current.config.version).toBe(101);
    const entries = await a.config.audit({ last: 2, subject: 'CONFIG' });
    expect(entries.map((e) => [e.version, e.operation])).toEqual([
      [101, 'updateConfig'],
      [100, 'handEdit'],
    ]);
  });

  it('after a hand edit to version 2147483647, a second one (numbered last + 1) is judged invalid: no version is left for it', async () => {
    const { a, b, raw, prefix } = await twoReplicas();
    const text = (await raw.get(`/${prefix}/config`).string()) ?? '';
    const atBound = text.replace(/^version: \d+$/m, 'version: 2147483647').replace('trading_enabled: true', 'trading_enabled: false');
    await raw.put(`/${prefix}/config`).value(atBound);
    await eventually('applied as version 2147483647', () => [a, b].every((r) => r.config.state().config.config.version === 2147483647));
    await waitForAudit(a, (es) => es[0]?.version === 2147483647);
    const inForce = a.config.state().config;

    await raw.put(`/${prefix}/config`).value(atBound.replace('trading_enabled: false', 'trading_enabled: true'));
    await eventually('both report it', () => [a, b].every((r) => r.config.problem() !== null));
    for (const r of [a, b]) {
      expect(r.config.problem()?.problems).toEqual([
        {
          message:
            'this hand edit cannot be numbered: version 2147483647, the last a config may have, is already recorded in the audit trail',
        },
      ]);
      expect(r.config.state().config).toEqual(inForce);
    }
    await expect(a.config.commit(setScanInterval(62))).rejects.toBeInstanceOf(ConfigFileInvalidError);
    const entries = await a.config.audit({ last: 2, subject: 'CONFIG' });
    expect(entries[0]).toMatchObject({ version: 2147483647, operation: 'handEdit' });
  });

  it('at version 2147483647 a change that changes nothing is answered changed: false (no version needed), a real change CONFIG_WRITE_FAILED', async () => {
    const { a, b, raw, prefix } = await twoReplicas();
    const text = (await raw.get(`/${prefix}/config`).string()) ?? '';
    await raw.put(`/${prefix}/config`).value(text.replace(/^version: \d+$/m, 'version: 2147483647'));
    await eventually('applied as version 2147483647', () => [a, b].every((r) => r.config.state().config.config.version === 2147483647));
    await waitForAudit(a, (es) => es[0]?.version === 2147483647);
    const stored = await raw.get(`/${prefix}/config`).string();
    const noOp = await a.config.commit(activate('momentum'));
    expect(noOp).toMatchObject({ changed: false, audit: null, current: { config: { version: 2147483647 } } });
    await expect(a.config.commit(activate('gold'))).rejects.toMatchObject({ step: 'number the next version (2147483647 is the last one)' });
    expect(await raw.get(`/${prefix}/config`).string()).toBe(stored);
    expect((await a.config.audit({ last: 1, subject: 'CONFIG' }))[0]).toMatchObject({ version: 2147483647, operation: 'handEdit' });
  });

  it('history reads the last entries from the newest version seen, and the sorted trail when versions were skipped: the same answers', async () => {
    const { a, b, raw, prefix } = await twoReplicas();
    for (let seconds = 31; seconds <= 42; seconds++) await a.config.commit(setScanInterval(seconds)); // versions 2-13
    await eventually('B sees version 13', () => b.config.state().config.config.version === 13);
    const versions = async (last: number, subject?: 'CONFIG') => (await b.config.audit({ last, subject })).map((e) => e.version);
    expect(await versions(5, 'CONFIG')).toEqual([13, 12, 11, 10, 9]);
    expect(await versions(20, 'CONFIG')).toEqual([13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(await versions(3)).toEqual([13, 12, 11]);
    // A hand edit that sets its own version (100): versions 14-99 are skipped, so 5 back from 100 is short.
    const text = (await raw.get(`/${prefix}/config`).string()) ?? '';
    await raw.put(`/${prefix}/config`).value(text.replace(/^version: \d+$/m, 'version: 100'));
    await eventually('applied as version 100', () => [a, b].every((r) => r.config.state().config.config.version === 100));
    // Its entry is written by whichever replica audits it, after both apply the edit: wait for it in etcd.
    const entry100 = `/${prefix}/audit/config/${String(100).padStart(16, '0')}`;
    await waitUntil(
      () => raw.get(entry100).string(),
      (value) => value !== null,
      { what: 'the hand edit audited' },
    );
    expect(await versions(5, 'CONFIG')).toEqual([100, 13, 12, 11, 10]);
  });

  it("the trail of both subjects keeps each subject in version order when the replicas' clocks disagree", async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    // B's clock runs 10 s behind A's: its entries carry earlier times than A's older ones.
    const a = await openReplica(c, prefix);
    const b = await openReplica(c, prefix, { now: () => new Date(Date.now() - 10_000) });
    await a.config.start();
    await b.config.start();
    await a.config.commit(setScanInterval(31)); // v2, A's time
    await eventually('B sees version 2', () => b.config.state().config.config.version === 2);
    await b.config.commit(setScanInterval(32)); // v3, B's time: 10 s before v2's
    await eventually('A sees version 3', () => a.config.state().config.config.version === 3);
    for (const replica of [a, b]) {
      const trail = (await replica.config.audit({ last: 10 })).filter((e) => e.subject === 'CONFIG').map((e) => e.version);
      expect(trail).toEqual([3, 2, 1]);
    }
  });

  it('a deleted config key is reported; the next commit writes it again from the last good config', async () => {
    const { a, b, raw, prefix } = await twoReplicas();
    await a.config.commit(activate('range'));
    await raw.delete().key(`/${prefix}/config`);
    await eventually('reported missing', () => b.config.problem() !== null);
    expect(b.config.problem()?.message).toMatch(/the key is missing/);
    const result = await b.config.commit(setScanInterval(12));
    expect(result.current.config).toMatchObject({ activeStrategyKey: 'range', scanIntervalSeconds: 12 });
    await eventually('valid again', () => a.config.problem() === null);
  });

  it('a key put by hand under audit/ (not a version) is never taken for the newest entry: commits and history go on, the key is left alone', async () => {
    const { a, b, raw, prefix } = await twoReplicas({ auditKeep: 3 });
    await a.config.commit(setScanInterval(41));
    // Sorts after every zero-padded version: it was read as the newest entry, and every write failed.
    await raw.put(`/${prefix}/audit/config/notes`).value('{"written":"by hand"}');
    await raw.put(`/${prefix}/audit/config/-draft`).value('also by hand');
    for (const seconds of [42, 43, 44, 45]) await b.config.commit(setScanInterval(seconds));
    const history = await a.config.audit({ last: 10, subject: 'CONFIG' });
    expect(history.map((e) => e.config.scanIntervalSeconds)).toEqual([45, 44, 43]);
    expect(history.map((e) => e.version)).toEqual([6, 5, 4]);
    // Trimmed to --audit-keep among the versions only; the hand-put keys stay as they were.
    const keys = await keysUnder(raw, prefix, 'audit/config/');
    expect(keys.filter((k) => /\/\d{16}$/.test(k)).map((k) => Number(k.split('/').at(-1)))).toEqual([4, 5, 6]);
    expect(await raw.get(`/${prefix}/audit/config/notes`).string()).toBe('{"written":"by hand"}');
    expect(await raw.get(`/${prefix}/audit/config/-draft`).string()).toBe('also by hand');
  });

  it('the newest audit entry deleted by hand: the next write reads the one before it (sorted) and goes on, as it did before the tail was read from the newest key', async () => {
    const { a, b, raw, prefix } = await twoReplicas();
    await a.config.commit(setScanInterval(41));
    await a.config.commit(setScanInterval(42));
    await b.config.commit(setScanInterval(43)); // version 4: both replicas have seen entry 4 as the newest
    await eventually('A sees version 4', () => a.config.state().config.config.version === 4);
    await raw.delete().key(`/${prefix}/audit/config/${String(4).padStart(16, '0')}`);
    const next = await a.config.commit(setScanInterval(44));
    expect(next.current.config.version).toBe(5);
    const history = await b.config.audit({ last: 10, subject: 'CONFIG' });
    // As with the sorted read before: version 4 is in force without its entry, so it is audited once, as an edit of etcd's.
    expect(history.map((e) => [e.version, e.operation, e.actor, e.config.scanIntervalSeconds])).toEqual([
      [5, 'updateConfig', 'tester', 44],
      [4, 'handEdit', 'etcd', 43],
      [3, 'updateConfig', 'tester', 42],
      [2, 'updateConfig', 'tester', 41],
      [1, 'baseline', 'system', 30],
    ]);
  });

  it('keeps the last --audit-keep entries per subject, deleting older ones in the same transaction', async () => {
    const { a, raw, prefix } = await twoReplicas({ auditKeep: 5 });
    for (let i = 0; i < 8; i++) await a.config.commit(setScanInterval(300 + i));
    const keys = await keysUnder(raw, prefix, 'audit/config/');
    expect(keys.map((k) => Number(k.split('/').at(-1)))).toEqual([5, 6, 7, 8, 9]);
    const stored = await raw.getAll().prefix(`/${prefix}/audit/config/`).strings();
    for (const text of Object.values(stored)) expect(parseAuditEntry(text)).not.toBeNull();
  });

  it('a replica with a smaller --audit-keep than the trail holds trims it over several changes, at most 1000 more than each adds, and says so once', async () => {
    const c = await cluster();
    const prefix = freshPrefix();
    const a = await openReplica(c, prefix, { auditKeep: 10_000 });
    await a.config.start();
    // 1,101 entries (the baseline and 1,100 changes), in groups of concurrent commits.
    for (let round = 0; round < 22; round++) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => a.config.commit(setScanInterval(100 + ((round * 50 + i) % 500)))));
    }
    const raw = rawClient(c);
    const count = async () => (await keysUnder(raw, prefix, 'audit/config/')).length;
    expect(await count()).toBe(1101);
    const warnings: string[] = [];
    const b = await openReplica(c, prefix, { auditKeep: 5, warn: (m) => warnings.push(m) });
    await b.config.start();
    await b.config.commit(setScanInterval(900));
    // 1,102 with its own; it deleted 1 + 1000 of them, where it deleted 1,097 in one transaction.
    expect(await count()).toBe(101);
    expect(warnings.filter((w) => w.includes('audit trail'))).toEqual([
      `etcd store: the CONFIG audit trail on etcd://${c.hosts.join(',')}/${prefix}/ holds 1101 entries, and this process keeps 5 (--audit-keep): the oldest are deleted, at most 1000 with each change, and what is deleted is gone. Give every replica the same --audit-keep (a larger one keeps what is left)`,
    ]);
    await b.config.commit(setScanInterval(901));
    expect(await count()).toBe(5);
    expect(warnings.filter((w) => w.includes('audit trail'))).toHaveLength(1);
    expect((await b.config.audit({ last: 10, subject: 'CONFIG' })).map((e) => e.version)).toEqual([1103, 1102, 1101, 1100, 1099]);
  });
});

async function waitForAudit(
  r: Awaited<ReturnType<typeof openReplica>>,
  accept: (entries: readonly import('../../src/config/audit-entry.js').AuditEntry[]) => boolean,
) {
  let entries = await r.config.audit({ last: 20, subject: 'CONFIG' });
  const deadline = Date.now() + 5000;
  while (!accept(entries)) {
    if (Date.now() > deadline) throw new Error(`audit trail never matched: ${JSON.stringify(entries.slice(0, 3))}`);
    await new Promise((res) => setTimeout(res, 20));
    entries = await r.config.audit({ last: 20, subject: 'CONFIG' });
  }
  return entries;
}

describeWithEtcd('a replica running through `stratctl store migrate` out of its prefix', () => {
  it('refuses changes once the prefix is marked moved (its lease had lapsed, so migrate did not count it): nothing written, said as the start refusal says it', async () => {
    const { a, b, raw, prefix } = await twoReplicas();
    await a.config.commit(activate('gold'));
    const version = a.config.state().config.config.version;
    const told: string[] = [];
    b.config.subscribe((event) => {
      if (event.type === 'invalid' || event.type === 'valid') told.push(event.type);
    });
    const auditBefore = await keysUnder(raw, prefix, 'audit/config/');
    const configBefore = await raw.get(`/${prefix}/config`).string();
    // What migrate leaves in the prefix it moved the deployment out of.
    await raw.put(`/${prefix}/moved`).value(JSON.stringify({ to: 'file:/srv/new', movedAt: '2026-12-06T09:00:00.000Z' }));
    const refused = a.config.commit(activate('range'));
    await expect(refused).rejects.toBeInstanceOf(ConfigFileInvalidError);
    await expect(refused).rejects.toThrow(
      `the deployment was moved out of it to file:/srv/new at 2026-12-06T09:00:00.000Z by \`stratctl store migrate\` (key /${prefix}/moved)`,
    );
    expect(await keysUnder(raw, prefix, 'audit/config/')).toEqual(auditBefore);
    expect(await raw.get(`/${prefix}/config`).string()).toBe(configBefore);
    expect(a.config.state().config.config.version).toBe(version);
    // Both replicas say it as the config's problem (/ready 503, status.configError, a runner ERROR): it
    // answered 200 and served this prefix's config as the deployment's until restarted.
    for (const replica of [a, b]) {
      await eventually('the mark seen', () => replica.config.problem() !== null);
      expect(replica.config.problem()?.publicMessage).toContain(
        `the deployment was moved out of it to file:/srv/new at 2026-12-06T09:00:00.000Z by \`stratctl store migrate\` (key /${prefix}/moved): serve and run that store instead`,
      );
    }
    expect(told).toEqual(['invalid']);
    // Moved back in (migrate deletes the mark): the problem goes, changes go on.
    await raw.delete().key(`/${prefix}/moved`);
    for (const replica of [a, b]) await eventually('the mark gone', () => replica.config.problem() === null);
    expect(told).toEqual(['invalid', 'valid']);
    await a.config.commit(activate('range'));
    expect(a.config.state().config.config.version).toBe(version + 1);
  });
});
