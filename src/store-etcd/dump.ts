import type { ICompare, IRequestOp } from 'etcd3';
import type { AuditSubject } from '../config/audit-entry.js';
import { type DumpAuditEntry, DumpInvalidError, dumpAuditEntry, MigrateRaceError, orderAudit, type StoreDump } from '../config/dump.js';
import { runnerHealth, runnerStateSchema } from '../runner/state.js';
import type { EtcdGateway } from './gateway.js';
import { type EtcdKeys, prefixEnd } from './keys.js';
import { kvsOf, prefixRangeOp, rangeOp, toKeyValue } from './mirror.js';
import { parseTokenRecord, renderTokenRecord } from './tokens.js';

/** etcd refuses a transaction with more than 128 operations (or compares) by default, and a request over 1.5 MiB. */
const OPS_PER_TXN = 100;
const BYTES_PER_TXN = 512 * 1024;
/** Audit keys read per range call. */
const PAGE = 500;

const put = (key: string, value: string): IRequestOp => ({ request_put: { key: Buffer.from(key), value: Buffer.from(value) } });
const absent = (key: string): ICompare => ({ key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0 });
const deletePrefix = (prefix: string): IRequestOp => ({
  request_delete_range: { key: Buffer.from(prefix), range_end: prefixEnd(prefix) },
});

/** A runner whose key is still there with no heartbeat for longer than the fleet calls STALE (a runner killed: its key lives out its lease). */
export interface StaleRunnerKey {
  readonly id: string;
  /** Its last heartbeat (the runner host's clock). */
  readonly heartbeatAt: string;
  /** When etcd deletes its key (its lease runs out), or null when that cannot be told (no lease, or the lookup failed). */
  readonly expiresAt: string | null;
}

/**
 * One etcd prefix as a side of a migration: a consistent read (everything at one revision) and a
 * write in transactions that each compare what they put is still absent, the config last in a
 * transaction of its own: replicas watching the prefix see the audit trail and tokens first and the
 * config they belong to last, never a config without its history. A write cut short leaves no
 * config (serve refuses to start on it, exit 78), never an old config over part of a new trail.
 */
export class EtcdDumpSide {
  constructor(
    private readonly gateway: EtcdGateway,
    private readonly keys: EtcdKeys,
  ) {}

  get description(): string {
    return this.gateway.location;
  }

  /** The key that marks this prefix as moved out of (named for marking it by hand). */
  get movedKey(): string {
    return this.keys.moved;
  }

  /**
   * The prefix's migration marks, read together (once, at every start of a replica or runner): a
   * migration into it that did not finish (its source and start), a move out of it (where to, when).
   */
  async marks(): Promise<{ migrating: string | null; moved: string | null }> {
    const res = await this.gateway.call('read store', (options) =>
      this.gateway.client.kv.txn({ compare: [], success: [rangeOp(this.keys.migrating), rangeOp(this.keys.moved)] }, options),
    );
    // An empty value is no mark (as before: a key put by hand with nothing in it).
    const [migrating = null, moved = null] = res.responses.map((r) => kvsOf(r)[0]?.value || null);
    return { migrating, moved };
  }

  /**
   * Which store this is, whatever URL named it: the cluster's ID (every member answers with it) and
   * the prefix. `etcd://localhost:2379/p` and `etcd://127.0.0.1:2379/p`, or two members of one
   * cluster, are one store: a move from one onto the other replaced the data with itself and marked
   * it moved to itself, and nothing could start on it any more.
   */
  async identity(): Promise<string> {
    const res = await this.gateway.call('read store', (options) =>
      this.gateway.client.kv.range({ key: Buffer.from(this.keys.moved), keys_only: true }, options),
    );
    return `etcd cluster ${res.header.cluster_id}, prefix ${this.keys.prefix}`;
  }

  /**
   * Marks this prefix as moved out of (the data stays, a copy): serve and runners refuse it from
   * then on, as they refuse a runtime directory with `moved.json`, so a replica or runner left
   * enabled here cannot serve the old config beside the new deployment. A move back in clears it.
   */
  async markMoved(to: string): Promise<void> {
    await this.gateway.call('write target', (options) =>
      this.gateway.client.kv.txn(
        { compare: [], success: [put(this.keys.moved, JSON.stringify({ to, movedAt: new Date().toISOString() }))] },
        options,
      ),
    );
  }

  async read(): Promise<StoreDump> {
    const k = this.keys;
    const head = await this.gateway.call('read store', (options) =>
      this.gateway.client.kv.txn(
        { compare: [], success: [rangeOp(k.config), rangeOp(k.strategies), prefixRangeOp(k.tokensPrefix), rangeOp(k.strategiesKept)] },
        options,
      ),
    );
    const revision = head.header.revision;
    const [config, strategies, tokens, kept] = head.responses.map(kvsOf);
    const skippedAudit: string[] = [];
    const badTokens = (tokens ?? []).filter((kv) => !parseTokenRecord(kv, k.tokensPrefix)).map((kv) => kv.key);
    if (badTokens.length > 0)
      throw new DumpInvalidError(
        this.description,
        badTokens.map((key) => `${key}: not a token record (fix or delete it first)`),
      );
    const audit: DumpAuditEntry[] = [];
    for (const subject of ['CONFIG', 'PRESETS'] as AuditSubject[]) {
      const prefix = k.auditPrefix(subject);
      let from = Buffer.from(prefix);
      for (;;) {
        const page = await this.gateway.call('read audit', (options) =>
          this.gateway.client.kv.range({ key: from, range_end: prefixEnd(prefix), revision, limit: PAGE }, options),
        );
        for (const kv of page.kvs.map(toKeyValue)) {
          const entry = dumpAuditEntry(kv.value);
          if (entry && entry.entry.subject === subject && kv.key === k.audit(subject, entry.entry.version)) audit.push(entry);
          else skippedAudit.push(kv.key);
        }
        const last = page.kvs.at(-1);
        if (!page.more || !last) break;
        from = Buffer.concat([last.key, Buffer.from([0])]);
      }
    }
    return {
      config: config?.[0]?.value ?? null,
      strategies: strategies?.[0]?.value ?? null,
      tokens: (tokens ?? []).flatMap((kv) => parseTokenRecord(kv, k.tokensPrefix) ?? []),
      audit: orderAudit(audit),
      skippedAudit,
      strategiesKept: kept?.[0] ? { presetsAt: k.strategies, keptAt: k.strategiesKept, text: kept[0].value } : null,
    };
  }

  /**
   * The data keys present (config, strategies, tokens/, audit/; runner heartbeats do not count), the
   * config's mod revision, the runners that publish a live state here (RUNNING or ERROR, judged as
   * the fleet judges them) and the API replicas registered here (replicas.ts): a deployment still
   * running on this prefix. A STALE runner (killed: its key lives out its lease, 10 min) is not one:
   * it is listed apart, with when its key goes. Counted live, it refused every move for up to 10 min
   * after its process was gone.
   */
  async dataKeys(now: number = Date.now()): Promise<{
    present: string[];
    configModRevision: number;
    liveRunners: string[];
    staleRunners: StaleRunnerKey[];
    liveReplicas: string[];
  }> {
    const k = this.keys;
    const res = await this.gateway.call('read store', (options) =>
      this.gateway.client.kv.txn(
        {
          compare: [],
          success: [
            rangeOp(k.config, { keys_only: true }),
            rangeOp(k.strategies, { keys_only: true }),
            prefixRangeOp(k.tokensPrefix, { count_only: true }),
            prefixRangeOp(`${k.prefix}audit/`, { count_only: true }),
            prefixRangeOp(k.runnersPrefix),
            rangeOp(k.migrating, { keys_only: true }),
            prefixRangeOp(k.replicasPrefix, { keys_only: true }),
          ],
        },
        options,
      ),
    );
    const [config, strategies, tokens, audit, runners, migrating, replicas] = res.responses;
    const present: string[] = [];
    if (kvsOf(migrating).length > 0) present.push('a migration that did not finish');
    const configKv = kvsOf(config)[0];
    if (configKv) present.push('config');
    if (kvsOf(strategies).length > 0) present.push('strategies');
    const tokenCount = Number(tokens?.response_range?.count ?? 0);
    if (tokenCount > 0) present.push(`${tokenCount} tokens/ keys`);
    const auditCount = Number(audit?.response_range?.count ?? 0);
    if (auditCount > 0) present.push(`${auditCount} audit/ keys`);
    const liveRunners: string[] = [];
    const stale: { id: string; heartbeatAt: string; lease: string | undefined }[] = [];
    for (const raw of runners?.response_range?.kvs ?? []) {
      const kv = toKeyValue(raw);
      const key = kv.key.slice(k.runnersPrefix.length);
      // Read as the fleet reads it; a state that does not read counts as live (nothing is replaced under it).
      let state: ReturnType<typeof runnerStateSchema.safeParse> | undefined;
      try {
        state = runnerStateSchema.safeParse(JSON.parse(kv.value));
      } catch {
        state = undefined;
      }
      if (!state?.success) liveRunners.push(key);
      else if (runnerHealth(state.data, now) === 'STALE') stale.push({ id: key, heartbeatAt: state.data.heartbeatAt, lease: raw.lease });
      else if (!state.data.stopped) liveRunners.push(key);
    }
    const staleRunners = await Promise.all(
      stale.map(async ({ id, heartbeatAt, lease }) => ({ id, heartbeatAt, expiresAt: await this.expiry(lease, now) })),
    );
    const liveReplicas = kvsOf(replicas).map((kv) => Buffer.from(kv.key).toString('utf8').slice(k.replicasPrefix.length));
    return { present, configModRevision: configKv?.modRevision ?? 0, liveRunners, staleRunners, liveReplicas };
  }

  /** When the lease `id` runs out (null: no lease, or etcd did not say). */
  private async expiry(id: string | undefined, now: number): Promise<string | null> {
    if (!id || id === '0') return null;
    try {
      const res = await this.gateway.call('read lease', (options) => this.gateway.client.leaseClient.leaseTimeToLive({ ID: id }, options));
      const ttl = Number(res.TTL);
      return ttl > 0 ? new Date(now + ttl * 1000).toISOString() : null;
    } catch {
      return null;
    }
  }

  /**
   * Writes the dump. `replace` (--force) first deletes the prefix's config, audit trail, tokens and
   * presets in one transaction.
   * `configModRevision` is the config key's revision when the target was checked: the final
   * transaction refuses (MigrateRaceError) if anyone wrote the config meanwhile. At most `keep`
   * audit entries per subject are written (the newest), as the store would trim the rest anyway.
   */
  async write(dump: StoreDump, options: { replace: boolean; configModRevision: number; keep: number; from: string }): Promise<void> {
    const k = this.keys;
    const configUnchanged = (modRevision: number): ICompare => ({
      key: Buffer.from(k.config),
      target: 'Mod',
      result: 'Equal',
      mod_revision: modRevision,
    });
    // The first transaction marks the prefix (and with --force clears it, the config included); the
    // last one removes the mark. A migration cut short (killed, etcd lost) leaves the mark, and serve
    // and runners refuse the prefix until a migration finishes (exit 78): never the old config over
    // part of the new trail, served as if whole, nor an emptied prefix started afresh from defaults.
    const mark = put(k.migrating, JSON.stringify({ from: options.from, startedAt: new Date().toISOString() }));
    const ops: IRequestOp[] = options.replace
      ? [
          deletePrefix(`${k.prefix}audit/`),
          deletePrefix(k.tokensPrefix),
          { request_delete_range: { key: Buffer.from(k.strategies) } },
          // The previous deployment's kept presets (config-store.ts) belong to the trail being replaced.
          { request_delete_range: { key: Buffer.from(k.strategiesKept) } },
          { request_delete_range: { key: Buffer.from(k.config) } },
          mark,
        ]
      : [mark];
    const started = await this.gateway.call(options.replace ? 'clear target' : 'mark target', (o) =>
      this.gateway.client.kv.txn({ compare: [configUnchanged(options.configModRevision)], success: ops }, o),
    );
    if (!started.succeeded)
      throw new MigrateRaceError(`${this.description}: its config was changed after it was checked; nothing was written`);
    const records: { key: string; value: string }[] = [];
    for (const subject of ['CONFIG', 'PRESETS'] as AuditSubject[]) {
      const entries = dump.audit.filter((a) => a.entry.subject === subject).slice(-options.keep);
      for (const { entry, json } of entries) records.push({ key: k.audit(subject, entry.version), value: json });
    }
    for (const token of dump.tokens) records.push({ key: k.token(token.name), value: renderTokenRecord(token) });
    for (const batch of batches(records)) {
      const res = await this.gateway.call('write target', (o) =>
        this.gateway.client.kv.txn({ compare: batch.map((r) => absent(r.key)), success: batch.map((r) => put(r.key, r.value)) }, o),
      );
      if (!res.succeeded)
        throw new MigrateRaceError(`${this.description}: keys appeared while they were being written (someone else writes here)`);
    }
    // The deployment is here again: a mark of an earlier move out goes with the migration's.
    const final: IRequestOp[] = [
      { request_delete_range: { key: Buffer.from(k.migrating) } },
      { request_delete_range: { key: Buffer.from(k.moved) } },
    ];
    if (dump.strategies !== null) final.push(put(k.strategies, dump.strategies));
    if (dump.config !== null) final.push(put(k.config, dump.config));
    const res = await this.gateway.call('write target', (o) =>
      this.gateway.client.kv.txn(
        // Cleared above: absent (mod revision 0) unless someone wrote it since.
        { compare: [configUnchanged(options.replace ? 0 : options.configModRevision)], success: final },
        o,
      ),
    );
    if (!res.succeeded) {
      throw new MigrateRaceError(
        `${this.description}: its config was changed while the audit trail and tokens were being written; the config was not replaced`,
      );
    }
  }
}

/** Records in transactions of at most OPS_PER_TXN puts and about BYTES_PER_TXN bytes. */
function batches(records: readonly { key: string; value: string }[]): { key: string; value: string }[][] {
  const out: { key: string; value: string }[][] = [];
  let current: { key: string; value: string }[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = Buffer.byteLength(record.key) + Buffer.byteLength(record.value);
    if (current.length > 0 && (current.length >= OPS_PER_TXN || bytes + size > BYTES_PER_TXN)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
