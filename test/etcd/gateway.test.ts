import { expect, it } from 'vitest';
import { StoreRefusedError, StoreUnavailableError } from '../../src/config/errors.js';
import { EtcdGateway } from '../../src/store-etcd/gateway.js';
import { parseEtcdStoreUrl } from '../../src/store-etcd/url.js';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { freshPrefix } from '../helpers/etcd-stores.js';

describeWithEtcd('etcd gateway (real etcd)', () => {
  it("a call etcd refuses as invalid is named as etcd's refusal, not as the store being away (no 503, no exit 7)", async () => {
    const cluster = await startEtcd();
    const gateway = new EtcdGateway({ url: parseEtcdStoreUrl(cluster.url(freshPrefix())) });
    try {
      // One transaction putting the same key twice: etcd answers INVALID_ARGUMENT, whatever is retried.
      const failed = await gateway
        .call('commit', (options) =>
          gateway.client
            .if('probe', 'Version', '==', 0)
            .then(gateway.client.put('probe').value('a'), gateway.client.put('probe').value('b'))
            .options(options)
            .commit(),
        )
        .catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(StoreRefusedError);
      expect((failed as StoreRefusedError).detail).toMatch(/^commit on etcd:\/\/.*: .*duplicate key given in txn request/);
      expect(gateway.connected).toBe(true);
      expect(await gateway.call('read', (options) => gateway.client.get('probe').options(options).string())).toBeNull();
    } finally {
      gateway.close();
    }
  });

  it('calls made while a member comes back (its circuit open, half-open, open again) wait for it within their deadline instead of failing at once', async () => {
    const cluster = await startEtcd();
    const [member] = cluster.members;
    if (!member) throw new Error('one member');
    // Deadlines of 10 s, not the default 2 s: etcd must start and elect itself within them, which a
    // starved CI host may not do in 2 s; the property is that calls wait rather than fail at once.
    const gateway = new EtcdGateway({ url: parseEtcdStoreUrl(cluster.url(freshPrefix())), callTimeoutMs: 10_000 });
    const get = () => gateway.call('read', (options) => gateway.client.get('probe').options(options).string());
    try {
      expect(await get()).toBeNull();
      await member.kill();
      // Three failures in a row open the member's circuit (gateway.ts: ConsecutiveBreaker(3)).
      for (let i = 0; i < 3; i++) {
        const failed = await gateway
          .call('read', (options) => gateway.client.get('probe').options(options).string(), Date.now() + 300)
          .then(
            () => null,
            (err: unknown) => err,
          );
        expect(failed).toBeInstanceOf(StoreUnavailableError);
      }
      expect(gateway.connected).toBe(false);
      await member.start();
      // Calls made while it starts, and as its circuit goes half-open, then open again when the trial
      // met a connection still in reconnect backoff: each waits within its deadline and succeeds.
      const batches: Promise<string | null>[][] = [];
      for (let i = 0; i < 8; i++) {
        batches.push(Array.from({ length: 5 }, get));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const results = await Promise.allSettled(batches.flat());
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as StoreUnavailableError).detail)] : []));
      expect(failures).toEqual([]);
      expect(gateway.connected).toBe(true);
    } finally {
      gateway.close();
    }
  });
});
