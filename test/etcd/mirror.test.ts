import { expect, it } from 'vitest';
import { EtcdGateway } from '../../src/store-etcd/gateway.js';
import { etcdKeys } from '../../src/store-etcd/keys.js';
import { EtcdMirror } from '../../src/store-etcd/mirror.js';
import { parseEtcdStoreUrl } from '../../src/store-etcd/url.js';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { eventually, freshPrefix, rawClient } from '../helpers/etcd-stores.js';

describeWithEtcd('etcd mirror (real etcd)', () => {
  it('a watch that silently stops delivering is caught by the probe, for the config and for the presets', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const url = parseEtcdStoreUrl(cluster.url(prefix));
    const gateway = new EtcdGateway({ url });
    const keys = etcdKeys(url.prefix);
    const mirror = new EtcdMirror(gateway, keys, { probeIntervalMs: 100 });
    try {
      await mirror.open();
      const raw = rawClient(cluster);
      await raw.put(keys.strategies).value('version: 1\n');
      await eventually('the watch delivers', () => mirror.get(keys.strategies)?.value === 'version: 1\n');
      // The stream stays open but nothing reaches the mirror any more (a stuck watch).
      const watcher = (mirror as unknown as { watcher: NodeJS.EventEmitter }).watcher;
      watcher.removeAllListeners('data');
      for (const [key, value] of [
        [keys.strategies, 'version: 2\n'],
        [keys.config, 'version: 7\n'],
      ] as const) {
        await raw.put(key).value(value);
        // Two probes seeing the same revision not delivered: a full re-read.
        await eventually(`${key} re-read by the probe`, () => mirror.get(key)?.value === value, 5000);
        expect(mirror.get(key)?.value).toBe(value);
        (mirror as unknown as { watcher: NodeJS.EventEmitter }).watcher.removeAllListeners('data');
      }
    } finally {
      await mirror.close();
      gateway.close();
    }
  });

  it('a broken watch is said once when it breaks (WARN) and once when a re-read watches again (INFO), with how long it lasted', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const url = parseEtcdStoreUrl(cluster.url(prefix));
    const gateway = new EtcdGateway({ url });
    const keys = etcdKeys(url.prefix);
    const warned: string[] = [];
    const told: { message: string; fields?: Record<string, unknown> }[] = [];
    let now = 1_000_000;
    const mirror = new EtcdMirror(gateway, keys, {
      probeIntervalMs: 100,
      now: () => now,
      warn: (message) => warned.push(message),
      info: (message, fields) => told.push({ message, fields }),
    });
    try {
      await mirror.open();
      const raw = rawClient(cluster);
      (mirror as unknown as { watcher: NodeJS.EventEmitter }).watcher.emit('error', new Error('injected: stream reset'));
      expect(warned).toEqual(['etcd store: the watch broke (injected: stream reset); re-reading when etcd answers']);
      now += 3_000;
      await raw.put(keys.config).value('version: 9\n');
      await eventually('re-read and watching again', () => told.length > 0, 5000);
      expect(told).toEqual([
        {
          message: expect.stringMatching(/^etcd store: the watch is back after 3 s: re-read at revision \d+$/),
          fields: expect.objectContaining({ brokenForMs: 3_000 }),
        },
      ]);
      // Watching again: a later put arrives by the watch, and nothing more is said.
      await raw.put(keys.config).value('version: 10\n');
      await eventually('the watch delivers', () => mirror.get(keys.config)?.value === 'version: 10\n');
      expect(told).toHaveLength(1);
      expect(warned).toHaveLength(1);
    } finally {
      await mirror.close();
      gateway.close();
    }
  });

  it('reads the audit tail from the newest key it has seen, not sorted over the whole trail; a newest key deleted by hand is read sorted again', async () => {
    const cluster = await startEtcd();
    const url = parseEtcdStoreUrl(cluster.url(freshPrefix()));
    const gateway = new EtcdGateway({ url });
    const keys = etcdKeys(url.prefix);
    const mirror = new EtcdMirror(gateway, keys, { probeIntervalMs: 60_000 });
    const prefix = keys.auditPrefix('CONFIG');
    const range = () => mirror.auditTailOp(prefix).request_range;
    try {
      await mirror.open();
      // Nothing seen yet: the sorted read, limit 1.
      expect(range()).toMatchObject({ sort_order: 'Descend', sort_target: 'Key', limit: 1 });
      const raw = rawClient(cluster);
      for (let v = 1; v <= 300; v++) await raw.put(keys.audit('CONFIG', v)).value(JSON.stringify({ version: v }));
      await raw.put(`${prefix}notes`).value('a key put by hand, not an entry');
      await eventually('the watch brings the newest entry', () => range()?.key?.toString() === keys.audit('CONFIG', 300));
      expect(range()).toMatchObject({ range_end: Buffer.from(`${prefix}:`) });
      expect(range()?.sort_order).toBeUndefined();
      expect(range()?.limit).toBeUndefined();
      // What etcd answers to it: the newest entry alone (not 300 values).
      const answer = await gateway.client.kv.range(range()!);
      expect(answer.kvs.map((kv) => kv.key.toString())).toEqual([keys.audit('CONFIG', 300)]);
      // The newest deleted by hand: forgotten, so the next read is the sorted one (it finds 299).
      await raw.delete().key(keys.audit('CONFIG', 300));
      await eventually('the delete is seen', () => range()?.sort_order === 'Descend');
      const sorted = await gateway.client.kv.range(range()!);
      expect(sorted.kvs.map((kv) => kv.key.toString())).toEqual([keys.audit('CONFIG', 299)]);
    } finally {
      await mirror.close();
      gateway.close();
    }
  });
});
