import { expect, it, vi } from 'vitest';
import { EtcdGateway } from '../../src/store-etcd/gateway.js';
import { etcdKeys } from '../../src/store-etcd/keys.js';
import { EtcdReplicaPresence } from '../../src/store-etcd/replicas.js';
import { parseEtcdStoreUrl } from '../../src/store-etcd/url.js';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { freshPrefix, keysUnder, rawClient } from '../helpers/etcd-stores.js';

describeWithEtcd('API replica presence (real etcd)', () => {
  it('is put under a lease, put again after etcd was away longer than the lease, and deleted on a clean stop', async () => {
    const cluster = await startEtcd();
    const [member] = cluster.members;
    if (!member) throw new Error('one member');
    const prefix = freshPrefix();
    const url = parseEtcdStoreUrl(cluster.url(prefix));
    const gateway = new EtcdGateway({ url, callTimeoutMs: 1000 });
    const record = { host: 'box', pid: 4242, startedAt: '2026-12-01T00:00:00.000Z' };
    const presence = new EtcdReplicaPresence(gateway, etcdKeys(url.prefix), 'box:4242:abcd1234', record, undefined, 2);
    const client = rawClient(cluster);
    try {
      const key = `/${prefix}/replicas/box:4242:abcd1234`;
      const leaseOf = async () => (await rawClient(cluster).get(key).exec()).kvs[0]?.lease ?? null;
      await presence.start();
      expect(await keysUnder(client, prefix, 'replicas/')).toEqual([key]);
      expect(JSON.parse((await client.get(key).string()) ?? '')).toEqual(record);
      const first = await leaseOf();
      expect(first).not.toBeNull();

      // Away for longer than the lease (2 s): this process gives the lease up as lost, etcd lets it
      // run out once it is back, and the key is put again under a new lease.
      await member.kill();
      await new Promise((resolve) => setTimeout(resolve, 4000));
      await member.start();
      await vi.waitFor(
        async () => {
          const now = await leaseOf();
          expect(now).not.toBeNull();
          expect(now).not.toBe(first);
        },
        { timeout: 20_000, interval: 250 },
      );

      await presence.close();
      expect(await keysUnder(rawClient(cluster), prefix, 'replicas/')).toEqual([]);
    } finally {
      await presence.close();
      gateway.close();
    }
  }, 40_000);
});
