import type { Lease } from 'etcd3';
import { StoreUnavailableError } from '../config/errors.js';
import type { Say } from '../log.js';
import type { EtcdGateway } from './gateway.js';
import type { EtcdKeys } from './keys.js';

/**
 * How long an API replica's key outlives the process (a SIGKILL, a lost host). etcd3 keeps the
 * lease alive every third of it while the process lives.
 */
export const REPLICA_LEASE_SECONDS = 10;
/** How soon a replica whose key could not be put (etcd away, its lease expired meanwhile) tries again. */
const RETRY_MS = 1000;

/** What a replica's key holds: who serves the prefix. */
export interface ReplicaRecord {
  readonly host: string;
  readonly pid: number;
  readonly startedAt: string;
}

/**
 * An API replica's presence on its prefix: `replicas/<id>` under a lease kept alive while the
 * process lives, deleted (its lease revoked) when it stops cleanly. `stratctl store migrate
 * --force` reads these, with the runners' keys, to refuse replacing the data of a deployment that
 * still serves it: a replica left running would go on showing, and writing after, versions the
 * store no longer has. A key that cannot be put now is put again once etcd answers. The first put
 * refused for this process's rights (a user whose role on the prefix is read-only) throws: it is the
 * replica's first write, so it would start, read, and then refuse every change with "unavailable",
 * its /ready flapping as reads succeeded and writes failed.
 */
export class EtcdReplicaPresence {
  private lease: Lease | null = null;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  private registering: Promise<void> | null = null;
  private tried = false;

  constructor(
    private readonly gateway: EtcdGateway,
    private readonly keys: EtcdKeys,
    private readonly id: string,
    private readonly record: ReplicaRecord,
    private readonly warn?: Say,
    private readonly leaseSeconds = REPLICA_LEASE_SECONDS,
  ) {}

  /** Puts the key (resolves once it is there, or once the first try failed: it is tried again). */
  start(): Promise<void> {
    this.registering ??= this.register().finally(() => {
      this.registering = null;
    });
    return this.registering;
  }

  private async register(): Promise<void> {
    if (this.closed) return;
    const lease = this.gateway.client.lease(this.leaseSeconds);
    lease.on('lost', () => {
      // Expired (etcd away longer than the lease): the key went with it, so put it again.
      if (this.lease !== lease || this.closed) return;
      this.lease = null;
      this.schedule();
    });
    this.lease = lease;
    try {
      const value = JSON.stringify(this.record);
      await this.gateway.call('register API replica', (options) =>
        lease.put(this.keys.replica(this.id)).value(value).options(options).exec(),
      );
      this.tried = true;
    } catch (err) {
      if (this.lease === lease) this.lease = null;
      lease.release();
      if (this.closed) return;
      const first = !this.tried;
      this.tried = true;
      if (first && err instanceof StoreUnavailableError && err.accessRefused) throw err;
      this.warn?.(`etcd store: this API replica could not register on ${this.gateway.location} yet: ${(err as Error).message}`, {
        store: this.gateway.location,
        reason: (err as Error).message,
      });
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.start();
    }, RETRY_MS);
    this.retry.unref();
  }

  /** Deletes the key and revokes its lease; what fails is left to expire. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retry);
    await this.registering?.catch(() => {});
    const lease = this.lease;
    this.lease = null;
    // The key itself, whichever lease holds it: one this process lost track of (etcd away) may live on
    // in etcd, which restores leases when it restarts. A delete that fails leaves the key to expire.
    // Both at once: one after the other they took 4 s of a stop when etcd did not answer.
    const key = this.keys.replica(this.id);
    await Promise.all([
      this.gateway
        .call('unregister API replica', (options) => this.gateway.client.delete().key(key).options(options).exec())
        .catch(() => {}),
      lease && this.gateway.call('revoke API replica lease', (options) => lease.revoke(options)).catch(() => lease.release()),
    ]);
  }
}
