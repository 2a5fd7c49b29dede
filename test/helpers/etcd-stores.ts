import { Etcd3 } from 'etcd3';
import type { ConfigChange, ConfigStore, StoreEvent, StoreState } from '../../src/config/store.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { type EtcdStoreOptions, type EtcdStores, openEtcdStores } from '../../src/store-etcd/index.js';
import { afterEachTest } from './cleanup.js';
import type { EtcdCluster } from './etcd.js';

const opened: EtcdStores[] = [];
const clients: Etcd3[] = [];

afterEachTest(async () => {
  await Promise.allSettled(opened.splice(0).map((s) => s.close()));
  for (const c of clients.splice(0)) c.close();
});

let prefixes = 0;
/** A prefix no other test in this process uses. */
export const freshPrefix = () => `scp-test-${process.pid}-${++prefixes}`;

/** One store instance (a replica's view) on `cluster` under `prefix`; closed after the test. */
export async function openReplica(cluster: EtcdCluster, prefix: string, options: Partial<EtcdStoreOptions> = {}): Promise<EtcdStores> {
  const stores = await openEtcdStores(cluster.url(prefix), { registry: defaultRegistry, probeIntervalMs: 200, ...options });
  opened.push(stores);
  return stores;
}

/** A plain etcd client on the cluster (what `etcdctl` would do), closed after the test. */
export function rawClient(cluster: EtcdCluster): Etcd3 {
  const client = new Etcd3({ hosts: cluster.hosts.map((h) => `http://${h}`) });
  clients.push(client);
  return client;
}

/** The TTL etcd granted the lease `key` is under (0: the key has no lease, or is absent). */
export async function grantedTtl(cluster: EtcdCluster, key: string): Promise<number> {
  const res = await rawClient(cluster).get(key).exec();
  const lease = res.kvs[0]?.lease;
  if (!lease || lease === '0') return 0;
  return Number((await rawClient(cluster).leaseClient.leaseTimeToLive({ ID: lease })).grantedTTL);
}

const draftOf = (state: StoreState) => {
  const { version: _v, updatedAt: _u, ...draft } = state.config.config;
  return draft;
};

/** updateConfig of scanIntervalSeconds: a change that is never a no-op when the value is new. */
export function setScanInterval(seconds: number, actor = 'tester'): ConfigChange {
  return { subject: 'CONFIG', operation: 'updateConfig', actor, apply: (state) => ({ ...draftOf(state), scanIntervalSeconds: seconds }) };
}

export function activate(key: string, actor = 'tester'): ConfigChange {
  return {
    subject: 'CONFIG',
    operation: 'activateStrategy',
    actor,
    apply: (state) => ({ ...draftOf(state), activeStrategyKey: state.strategies.parse(key) }),
  };
}

/** Every event a store emits from now on. */
export function recordEvents(store: ConfigStore): StoreEvent[] {
  const events: StoreEvent[] = [];
  store.subscribe((e) => events.push(e));
  return events;
}

/** Polls a synchronous condition (watch-driven state) until it holds. */
export async function eventually(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The keys under `/<prefix>/<sub>` as a plain client reads them. */
export async function keysUnder(client: Etcd3, prefix: string, sub: string): Promise<string[]> {
  return client.getAll().prefix(`/${prefix}/${sub}`).keys();
}
