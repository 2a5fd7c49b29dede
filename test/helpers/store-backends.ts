import { readFile, stat, unlink } from 'node:fs/promises';
import { describe } from 'vitest';
import type { ControlPlaneOptions } from '../../src/server.js';
import { afterEachFile } from './cleanup.js';
import { describeWithEtcd, type EtcdCluster, startEtcd } from './etcd.js';
import { freshPrefix, rawClient } from './etcd-stores.js';
import { handEditPresets, presetsFile } from './presets.js';
import { startTestServer, type TestServer } from './server.js';

/** A test server and the stored presets behind it, whichever store keeps them. */
export interface StoredPresetsServer extends TestServer {
  /** The stored presets text (null: none stored). */
  readPresets(): Promise<string | null>;
  /** A hand edit: strategies.yaml replaced as an editor saves, or the `strategies` key put as etcdctl does. */
  editPresets(text: string | ((current: string) => string)): Promise<void>;
  /** The stored presets removed by hand: strategies.yaml deleted, or the `strategies` key (`etcdctl del`). */
  removePresets(): Promise<void>;
  /** Changes whenever the stored presets are written: the file's mtime, the key's mod revision (null: none stored). */
  presetsStamp(): Promise<number | null>;
  /** Where the store lives on the server's side (a path or a key prefix): never shown to API clients. */
  readonly storeLocation: string;
  /** The flags that point a file-only stratctl command (`token ...`) at this server's store. */
  readonly storeArgs: readonly string[];
}

export interface StoreBackend {
  readonly name: 'file' | 'etcd';
  /** `describe`, or for etcd `describeWithEtcd` (skipped loudly without the binary, failing under CI=true). */
  readonly describe: (name: string, body: () => void) => void;
  /** The stored presets as API clients see them named (`status.strategiesError.location`). */
  readonly presetsLocation: string;
  /** Who a hand edit's audit entry names. */
  readonly handEditActor: string;
  start(options?: Partial<ControlPlaneOptions>): Promise<StoredPresetsServer>;
}

const fileBackend: StoreBackend = {
  name: 'file',
  describe,
  presetsLocation: 'strategies.yaml',
  handEditActor: 'file',
  async start(options = {}) {
    const server = await startTestServer(options);
    return Object.assign(server, {
      storeLocation: server.runtimeDir,
      storeArgs: ['--runtime-dir', server.runtimeDir],
      readPresets: () =>
        readFile(presetsFile(server), 'utf8').catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return null;
          throw err;
        }),
      editPresets: (text: string | ((current: string) => string)) => handEditPresets(server, text),
      removePresets: () => unlink(presetsFile(server)),
      presetsStamp: () =>
        stat(presetsFile(server)).then(
          (s) => s.mtimeMs,
          () => null,
        ),
    });
  },
};

// One etcd member for a test file; each server gets its own prefix (its own deployment).
let cluster: EtcdCluster | null = null;
// Stopped after the file (startEtcd's lifetime: 'file'): a later file sharing this module starts its own.
afterEachFile(() => {
  cluster = null;
});

const etcdBackend: StoreBackend = {
  name: 'etcd',
  describe: describeWithEtcd,
  presetsLocation: 'strategies',
  handEditActor: 'etcd',
  async start(options = {}) {
    cluster ??= await startEtcd({ lifetime: 'file' });
    const prefix = freshPrefix();
    const raw = rawClient(cluster);
    const key = `/${prefix}/strategies`;
    const server = await startTestServer({ store: { kind: 'etcd', url: cluster.url(prefix), tls: {} }, ...options });
    const readPresets = () => raw.get(key).string();
    return Object.assign(server, {
      storeLocation: `/${prefix}/`,
      storeArgs: ['--store', (cluster as EtcdCluster).url(prefix)],
      readPresets,
      editPresets: async (text: string | ((current: string) => string)) => {
        await raw.put(key).value(typeof text === 'string' ? text : text((await readPresets()) ?? ''));
      },
      removePresets: async () => {
        await raw.delete().key(key);
      },
      presetsStamp: async () => {
        const kv = (await raw.get(key).exec()).kvs[0];
        return kv ? Number(kv.mod_revision) : null;
      },
    });
  },
};

/** The stores a store-neutral test runs against. */
export const STORE_BACKENDS: readonly StoreBackend[] = [fileBackend, etcdBackend];
