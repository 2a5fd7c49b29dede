import type { ICompare, IRequestOp } from 'etcd3';
import { type AuditEntry, parseAuditEntry } from '../config/audit-entry.js';
import type { StrategyRegistry } from '../registry/index.js';
import { parseStored, type StoredConfig } from './config-judge.js';
import type { EtcdGateway } from './gateway.js';
import { type EtcdKeys, prefixEnd } from './keys.js';
import { type EtcdMirror, type KeyValue, kvsOf, lastUnderOp, type MirrorChange, prefixRangeOp, rangeOp } from './mirror.js';

/** What a write is judged against: the keys as one read saw them. */
export interface WriteBase {
  readonly revision: number;
  readonly configKv: KeyValue | null;
  readonly stored: StoredConfig | null;
  readonly strategiesModRevision: number;
  readonly last: AuditEntry | null;
  readonly auditCount: number;
  /** The oldest audit keys (ascending), for retention. */
  readonly oldest: readonly string[];
}

const put = (key: string, value: string): IRequestOp => ({ request_put: { key: Buffer.from(key), value: Buffer.from(value) } });
const modIs = (key: string, revision: number): ICompare => ({
  key: Buffer.from(key),
  target: 'Mod',
  result: 'Equal',
  mod_revision: revision,
});
const absent = (key: string): ICompare => ({ key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0 });

export const entryId = (e: AuditEntry) => `${e.version}|${e.digest}|${e.time}|${e.actor}`;

/** The etcd side of config writes: one consistent read, one compare-and-put transaction. */
export class ConfigIo {
  /** Entries of this process's commits in flight: the watch may bring one before the transaction's answer does. */
  readonly ownInFlight = new Set<string>();

  constructor(
    private readonly gateway: EtcdGateway,
    private readonly mirror: EtcdMirror,
    private readonly keys: EtcdKeys,
    private readonly registry: StrategyRegistry,
    private readonly keep: number,
  ) {}

  /** One consistent read of what a write depends on; what it saw first is passed to the mirror. */
  async readBase(deadline: number): Promise<WriteBase> {
    const k = this.keys;
    const auditPrefix = k.auditPrefix('CONFIG');
    const res = await this.gateway.call(
      'read config',
      (options) =>
        this.gateway.client.kv.txn(
          {
            compare: [],
            success: [
              rangeOp(k.config),
              rangeOp(k.strategies, { keys_only: true }),
              lastUnderOp(auditPrefix),
              prefixRangeOp(auditPrefix, { count_only: true }),
              prefixRangeOp(auditPrefix, { keys_only: true, sort_order: 'Ascend', sort_target: 'Key', limit: 4 }),
            ],
          },
          options,
        ),
      deadline,
    );
    const [config, strategies, last, count, oldest] = res.responses;
    const configKv = kvsOf(config)[0] ?? null;
    const lastKv = kvsOf(last)[0];
    const base: WriteBase = {
      revision: Number(res.header.revision),
      configKv,
      stored: configKv ? parseStored(this.registry, k.config, configKv.value) : null,
      strategiesModRevision: kvsOf(strategies)[0]?.modRevision ?? 0,
      last: lastKv ? parseAuditEntry(lastKv.value) : null,
      auditCount: Number(count?.response_range?.count ?? 0),
      oldest: kvsOf(oldest).map((kv) => kv.key),
    };
    const seen: MirrorChange[] = [];
    if (lastKv) seen.push({ type: 'put', kv: lastKv });
    if (configKv) seen.push({ type: 'put', kv: configKv });
    if (seen.length > 0) this.mirror.applyRead(base.revision, seen);
    return base;
  }

  /**
   * Puts `entries` (and the config text, when given) if neither `config` nor `strategies` changed
   * since `base` was read, trimming the audit trail to `keep` in the same transaction. Every config
   * names at least its active strategy, so every config write compares `strategies` too: a preset
   * deleted meanwhile cannot leave a config naming it. The revision it committed at, or null.
   */
  async write(base: WriteBase, entries: readonly AuditEntry[], configText: string | null, deadline: number): Promise<number | null> {
    const k = this.keys;
    const auditPrefix = k.auditPrefix('CONFIG');
    const compare = [modIs(k.config, base.configKv?.modRevision ?? 0), modIs(k.strategies, base.strategiesModRevision)];
    const success: IRequestOp[] = configText === null ? [] : [put(k.config, configText)];
    for (const entry of entries) {
      compare.push(absent(k.audit('CONFIG', entry.version)));
      success.push(put(k.audit('CONFIG', entry.version), JSON.stringify(entry)));
    }
    const excess = Math.min(base.auditCount, base.auditCount + entries.length - this.keep);
    if (excess > 0) {
      let oldest = base.oldest;
      if (oldest.length < excess) {
        const more = await this.gateway.call(
          'read audit',
          (options) =>
            this.gateway.client.kv.range(
              {
                key: Buffer.from(auditPrefix),
                range_end: prefixEnd(auditPrefix),
                keys_only: true,
                sort_order: 'Ascend',
                sort_target: 'Key',
                limit: excess,
              },
              options,
            ),
          deadline,
        );
        oldest = more.kvs.map((kv) => kv.key.toString());
      }
      const lastDeleted = oldest[Math.min(excess, oldest.length) - 1];
      if (lastDeleted !== undefined) {
        success.push({ request_delete_range: { key: Buffer.from(auditPrefix), range_end: Buffer.from(`${lastDeleted}\0`) } });
      }
    }
    const own = configText === null ? [] : entries.map(entryId);
    for (const id of own) this.ownInFlight.add(id);
    try {
      const res = await this.gateway.call('commit', (options) => this.gateway.client.kv.txn({ compare, success }, options), deadline);
      if (!res.succeeded) return null;
      const revision = Number(res.header.revision);
      const changes: MirrorChange[] = entries.map((entry) => ({
        type: 'put',
        kv: { key: k.audit('CONFIG', entry.version), value: JSON.stringify(entry), modRevision: revision },
      }));
      if (configText !== null) changes.push({ type: 'put', kv: { key: k.config, value: configText, modRevision: revision } });
      this.mirror.applyLocal(revision, changes);
      return revision;
    } finally {
      for (const id of own) this.ownInFlight.delete(id);
    }
  }
}
