import { connect, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it, onTestFinished } from 'vitest';
import { defaultRegistry } from '../../src/registry/index.js';
import { openEtcdStores } from '../../src/store-etcd/index.js';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { eventually, freshPrefix, openReplica, setScanInterval } from '../helpers/etcd-stores.js';

/**
 * A TCP relay to an etcd member whose connections can go silent: `silence()` makes every connection
 * open then carry no byte either way, and never close (a firewall or NAT that forgot the flow, a
 * member's host cut off without a reset); connections made after it pass as before.
 */
async function silenceableRelay(port: number) {
  const open = new Set<{ silent: boolean; end: () => void }>();
  const server = createServer((client: Socket) => {
    const upstream = connect(port, '127.0.0.1');
    const pair = {
      silent: false,
      end: () => {
        open.delete(pair);
        client.destroy();
        upstream.destroy();
      },
    };
    open.add(pair);
    client.on('data', (bytes) => pair.silent || upstream.write(bytes));
    upstream.on('data', (bytes) => pair.silent || client.write(bytes));
    for (const socket of [client, upstream]) {
      socket.on('close', pair.end);
      socket.on('error', pair.end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no relay port');
  onTestFinished(() => {
    for (const pair of open) pair.end();
    server.close();
  });
  return {
    port: address.port,
    /** How many connections it carries now (silent or not). */
    connections: () => open.size,
    silence: () => {
      for (const pair of open) pair.silent = true;
    },
  };
}

describeWithEtcd('etcd connections that stop answering', () => {
  it('a connection gone silent under a replica (no byte, no reset) is dropped and dialled again: its watch and its writes come back within 17 s', async () => {
    const cluster = await startEtcd();
    const member = cluster.members[0];
    if (!member) throw new Error('one member');
    const relay = await silenceableRelay(member.clientPort);
    const prefix = freshPrefix();
    const warnings: string[] = [];
    const a = await openEtcdStores(`etcd://127.0.0.1:${relay.port}/${prefix}`, {
      registry: defaultRegistry,
      probeIntervalMs: 200,
      warn: (message) => warnings.push(message),
    });
    onTestFinished(() => a.close());
    const b = await openReplica(cluster, prefix);
    await a.config.start();
    const before = (await b.config.commit(setScanInterval(61))).current.config.version;
    await eventually('A hears B', () => a.config.state().config.config.version === before);
    expect(relay.connections()).toBeGreaterThan(0);

    relay.silence();
    const silencedAt = Date.now();
    const after = (await b.config.commit(setScanInterval(62))).current.config.version;
    // gRPC's keepalive finds the connection dead (no answer to its ping within 3 s, one sent every
    // 10 s) and drops it; the member is dialled again, and the watch re-reads and resumes. Without
    // it, nothing ever tells a connection that only went silent: every call on it timed out and the
    // watch waited for good (the kernel answers for the relay, so TCP never gives up either).
    await eventually('A hears B again, through a new connection', () => a.config.state().config.config.version === after, 40_000);
    // Within a ping's interval and timeout (13 s), the reconnect (up to 1 s) and the re-read.
    expect(Date.now() - silencedAt).toBeLessThan(17_000);
    expect(warnings.some((w) => w.startsWith('etcd store: the watch broke'))).toBe(true);
    const own = await a.config.commit(setScanInterval(63));
    expect(own.current.config.version).toBe(after + 1);
  }, 60_000);

  it('a member frozen 5 s (SIGSTOP) under a store that writes and watches: once it answers again, the watch holds and no write fails for the next 30 s', async () => {
    const cluster = await startEtcd();
    const member = cluster.members[0];
    if (!member) throw new Error('one member');
    const prefix = freshPrefix();
    const said: { at: number; message: string }[] = [];
    const a = await openReplica(cluster, prefix, { probeIntervalMs: 1000, warn: (message) => said.push({ at: Date.now(), message }) });
    await a.config.start();
    // One write every 250 ms throughout: those sent while it is frozen fail, as they must.
    const failed: { at: number; message: string }[] = [];
    let written = 0;
    let writing = true;
    const writer = (async () => {
      for (let n = 0; writing; n++) {
        await a.config.commit(setScanInterval(100 + n)).then(
          () => written++,
          (err: Error) => failed.push({ at: Date.now(), message: err.message }),
        );
        await sleep(250);
      }
    })();
    onTestFinished(async () => {
      writing = false;
      await writer;
    });
    await sleep(1000);
    member.freeze();
    onTestFinished(() => member.thaw());
    await sleep(5000);
    member.thaw();
    await eventually('connected again', () => a.config.info().connected, 10_000);
    const from = Date.now();
    const writtenBefore = written;
    await sleep(30_000);
    writing = false;
    await writer;
    const since = (list: { at: number; message: string }[]) => list.filter((e) => e.at >= from).map((e) => e.message);
    // Before, etcd3 closed the channels under the watch at the first call that timed out during the
    // freeze; grpc-js then drained that session, and its keepalive ping on it, a few seconds after
    // the thaw, dropped the watch ("Connection dropped") and the writes in flight with it, and each
    // drop closed the channels again (a replica lost its watch every ~10 s for minutes).
    expect(since(said)).toEqual([]);
    expect(since(failed)).toEqual([]);
    expect(written - writtenBefore).toBeGreaterThan(60);
  }, 90_000);
});
