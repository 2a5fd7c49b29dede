import { expect, it } from 'vitest';
import { tokenDigest } from '../../src/auth/token-file.js';
import { EtcdGateway } from '../../src/store-etcd/gateway.js';
import { etcdKeys } from '../../src/store-etcd/keys.js';
import { EtcdMirror } from '../../src/store-etcd/mirror.js';
import { EtcdTokenStore } from '../../src/store-etcd/tokens.js';
import { parseEtcdStoreUrl } from '../../src/store-etcd/url.js';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';

describeWithEtcd('etcd token store under churn', () => {
  it('keeps nothing of a revoked token: CI tokens created, used and revoked one after another leave the parsed records at the live ones', async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    const url = parseEtcdStoreUrl(cluster.url('churn'));
    const gateway = new EtcdGateway({ url });
    const keys = etcdKeys(url.prefix);
    const mirror = new EtcdMirror(gateway, keys);
    await mirror.open();
    const store = new EtcdTokenStore(gateway, mirror, keys);
    try {
      const kept = await store.create('dashboard', 'read');
      for (let i = 0; i < 40; i++) {
        const token = await store.create(`ci-job-${i}`, 'operate');
        expect((await store.find(tokenDigest(token)))?.name).toBe(`ci-job-${i}`);
        expect(await store.revoke(`ci-job-${i}`)).toBe(true);
        expect(await store.find(tokenDigest(token))).toBeUndefined();
      }
      expect((await store.find(tokenDigest(kept)))?.name).toBe('dashboard');
      // Before: one per token name ever seen (41 here).
      expect(store.parsedRecords).toBe(1);
    } finally {
      await mirror.close();
      gateway.close();
    }
  }, 60_000);
});
