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
});
