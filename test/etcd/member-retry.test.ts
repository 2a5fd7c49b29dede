import { connect, createServer, type Server, type Socket } from 'node:net';
import { expect, it, onTestFinished } from 'vitest';
import { tokenDigest } from '../../src/auth/token-file.js';
import { defaultRegistry } from '../../src/registry/index.js';
import type { EtcdGateway } from '../../src/store-etcd/gateway.js';
import { openEtcdStores } from '../../src/store-etcd/index.js';
import { describeWithEtcd, type EtcdCluster, startEtcd } from '../helpers/etcd.js';
import { freshPrefix } from '../helpers/etcd-stores.js';

let shared: EtcdCluster | null = null;
const cluster = async () => {
  shared ??= await startEtcd({ size: 3, lifetime: 'file' });
  return shared;
};

/**
 * A TCP proxy in front of one member. Armed with some bytes, the first request carrying them is
 * forwarded (etcd applies it), every answer from then on is swallowed, and 300 ms later both
 * sockets are destroyed: a connection that drops after etcd took a write. Not armed, it forwards.
 */
async function dropAfterSending(
  port: number,
): Promise<{ port: number; arm: (marker: string) => void; fired: () => boolean; sent: (bytes: string) => number }> {
  let marker: string | null = null;
  let fired = false;
  // What the client sent through it: a write's bytes counted, once it is known what they were.
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((c) => {
    const s = connect(port, '127.0.0.1');
    let dropping = false;
    for (const socket of [c, s]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    c.on('close', () => s.destroy());
    s.on('close', () => c.destroy());
    c.on('data', (d: Buffer) => {
      chunks.push(d);
      s.write(d);
      if (marker !== null && !fired && d.includes(marker)) {
        fired = true;
        dropping = true;
        setTimeout(() => {
          c.destroy();
          s.destroy();
        }, 300);
      }
    });
    s.on('data', (d: Buffer) => {
      if (!dropping) c.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('proxy has no port');
  return {
    port: address.port,
    arm: (bytes) => {
      marker = bytes;
    },
    fired: () => fired,
    sent: (bytes) => chunks.filter((d) => d.includes(bytes)).length,
  };
}

describeWithEtcd("etcd3's resend of a write whose connection dropped after etcd took it", () => {
  it.each([
    ['the proxied member tried first, another member next', true],
    ['the proxied member alone', false],
  ])(
    '%s: a token create that landed gives its secret (it said "a token named ... exists", and the secret was lost)',
    async (_, withOther) => {
      const etcd = await cluster();
      const proxy = await dropAfterSending(etcd.members[0]!.clientPort);
      const other = await dropAfterSending(etcd.members[1]!.clientPort);
      // etcd3 tries members in a random order; fixed here (the last listed first), so the create
      // always goes through the proxy and the test does not depend on chance.
      let pool: { deterministicOrder: boolean } | undefined;
      onTestFinished(() => {
        if (pool) pool.deterministicOrder = false;
      });
      const fixOrder = (gateway: EtcdGateway) => {
        pool = (gateway.client as unknown as { pool: { constructor: { deterministicOrder: boolean } } }).pool.constructor;
        pool.deterministicOrder = true;
      };
      const hosts = [...(withOther ? [`127.0.0.1:${other.port}`] : []), `127.0.0.1:${proxy.port}`];
      const stores = await openEtcdStores(`etcd://${hosts.join(',')}/${freshPrefix()}`, {
        registry: defaultRegistry,
        onGateway: fixOrder,
      });
      onTestFinished(() => stores.close());

      proxy.arm('tokens/ci1');
      // Before: etcd3 sent the create on (to the next member, or the same one reconnected), whose
      // compare (no such key yet) failed: "a token named "ci1" exists", for the token this call made.
      const secret = await stores.tokens.create('ci1', 'operate');
      expect(proxy.fired()).toBe(true);
      expect((await stores.tokens.find(tokenDigest(secret)))?.name).toBe('ci1');
      // Sent once: the write that may have landed is not sent on by etcd3; the store looked it up.
      expect(proxy.sent(tokenDigest(secret)) + other.sent(tokenDigest(secret))).toBe(1);
    },
  );
});
