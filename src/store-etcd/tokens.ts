import type { ICompare } from 'etcd3';
import * as z from 'zod';
import { SCOPES, type Scope } from '../auth/identity.js';
import { checkTokenName, expiresAtSchema, newTokenSecret, storedNameSchema, tokenDigest } from '../auth/token-file.js';
import {
  type RotatedToken,
  requestedExpiry,
  rotatedExpiry,
  type StoredToken,
  type TokenExpiryRequest,
  TokenRefusedError,
  type TokenStore,
} from '../auth/token-store.js';
import { StoreOutcomeUnknownError, StoreUnavailableError } from '../config/errors.js';
import type { Say } from '../log.js';
import type { EtcdGateway } from './gateway.js';
import { type EtcdKeys, prefixEnd } from './keys.js';
import { type EtcdMirror, type KeyValue, type MirrorChange, toKeyValue } from './mirror.js';

/**
 * `tokens/<name>` holds this JSON (the fields of tokens.yaml): a digest, never the token.
 * `expires_at` is optional (records written before expiry existed are valid and never expire); one
 * that is not an ISO time with its zone makes the record unsound: that token is refused.
 */
const recordSchema = z
  .object({
    // A reserved name (`system`: the system's own audit actor) put by hand is refused like any unsound record.
    name: storedNameSchema,
    scope: z.enum(SCOPES),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    created_at: z.string(),
    expires_at: expiresAtSchema.optional(),
  })
  .strict();

export function renderTokenRecord(token: StoredToken): string {
  return JSON.stringify({
    name: token.name,
    scope: token.scope,
    sha256: token.sha256,
    created_at: token.createdAt,
    ...(token.expiresAt !== undefined && { expires_at: token.expiresAt }),
  });
}

/**
 * A record about to be put, read back as `find` will read it: one it would refuse (an expiry past
 * year 9999 once rendered) would leave the token refused for good while its secret was printed.
 */
function checkedRecord(key: string, token: StoredToken, tokensPrefix: string): string {
  const value = renderTokenRecord(token);
  if (!parseTokenRecord({ key, value, modRevision: 0 }, tokensPrefix))
    throw new TokenRefusedError(`the new record for token "${token.name}" would not be a sound token record: nothing written`);
  return value;
}

/** The token a `tokens/<name>` key holds, or null when it is not a sound record (under its own name). */
export function parseTokenRecord(kv: KeyValue, tokensPrefix: string): StoredToken | null {
  try {
    const r = recordSchema.parse(JSON.parse(kv.value));
    // A record under another name's key is not trusted: the key is what `revoke` deletes.
    if (`${tokensPrefix}${r.name}` !== kv.key) return null;
    return {
      name: r.name,
      scope: r.scope,
      sha256: r.sha256,
      createdAt: r.created_at,
      ...(r.expires_at !== undefined && { expiresAt: r.expires_at }),
    };
  } catch {
    return null;
  }
}

/**
 * Named tokens as `tokens/<name>` keys. `find` must see a revocation (or a creation) that finished
 * on any replica before the call began, which the watch alone cannot promise (it may lag by a few
 * milliseconds). So each `find` waits for a linearizable read of `tokens/` that started after it
 * was called; concurrent calls share one such read (read-index style: at most one in flight and one
 * queued), so a burst of requests costs two reads, not one each. While etcd is unreachable, `find`
 * answers from the watched set (a revocation cannot finish there meanwhile unless this replica is
 * cut off from a quorum that still works).
 */
export class EtcdTokenStore implements TokenStore {
  /** By key: the record's text and the token it is (a text, not a revision: one etcd that went back reuses revisions). */
  private readonly parsed = new Map<string, { value: string; token: StoredToken | null }>();
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(
    private readonly gateway: EtcdGateway,
    private readonly mirror: EtcdMirror,
    private readonly keys: EtcdKeys,
    private readonly warn?: Say,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Token records parsed and kept (for tests: at most the tokens there are). */
  get parsedRecords(): number {
    return this.parsed.size;
  }

  /** `kvs`: every token record there is (the parsed ones of tokens gone are let go: each name ever used stayed). */
  private tokensOf(kvs: readonly KeyValue[]): StoredToken[] {
    const tokens: StoredToken[] = [];
    for (const kv of kvs) {
      let cached = this.parsed.get(kv.key);
      if (cached?.value !== kv.value) {
        cached = { value: kv.value, token: parseTokenRecord(kv, this.keys.tokensPrefix) };
        if (!cached.token) this.warn?.(`etcd store: ${kv.key} is not a token record; that token is refused`, { key: kv.key });
        this.parsed.set(kv.key, cached);
      }
      if (cached.token) tokens.push(cached.token);
    }
    // Every key of `kvs` is in `parsed` now: more entries there are tokens gone.
    if (this.parsed.size > kvs.length) {
      const present = new Set(kvs.map((kv) => kv.key));
      for (const key of this.parsed.keys()) if (!present.has(key)) this.parsed.delete(key);
    }
    return tokens;
  }

  /** Reads every token record (linearizable) and brings the mirror level with it. */
  private async readAll(): Promise<StoredToken[]> {
    const prefix = this.keys.tokensPrefix;
    const since = this.mirror.mark();
    const res = await this.gateway.call('read tokens', (options) =>
      this.gateway.client.kv.range({ key: Buffer.from(prefix), range_end: prefixEnd(prefix) }, options),
    );
    const kvs = res.kvs.map(toKeyValue);
    const revision = Number(res.header.revision);
    const present = new Set(kvs.map((kv) => kv.key));
    const changes: MirrorChange[] = kvs.map((kv) => ({ type: 'put', kv }));
    for (const kv of this.mirror.list(this.keys.tokensPrefix))
      if (!present.has(kv.key)) changes.push({ type: 'delete', key: kv.key, modRevision: revision });
    // Etcd gone back (wiped, restored): settled once the mirror holds what it has now (find answers from it).
    await this.mirror.applyRead(revision, changes, since);
    return this.tokensOf(kvs);
  }

  async list(): Promise<readonly StoredToken[]> {
    const tokens = await this.readAll();
    return tokens.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.name < b.name ? -1 : 1));
  }

  async create(name: string, scope: Scope, expiry: TokenExpiryRequest = {}): Promise<string> {
    const problem = checkTokenName(name);
    if (problem) throw new TokenRefusedError(problem);
    const token = newTokenSecret();
    const now = this.now();
    const expiresAt = requestedExpiry(expiry, now);
    const record: StoredToken = { name, scope, sha256: tokenDigest(token), createdAt: now.toISOString(), ...(expiresAt && { expiresAt }) };
    const key = this.keys.token(name);
    const value = checkedRecord(key, record, this.keys.tokensPrefix);
    const revision = await this.putRecord('token create', key, value, record.sha256, {
      key: Buffer.from(key),
      target: 'Create',
      result: 'Equal',
      create_revision: 0,
    });
    if (revision === null) throw new TokenRefusedError(`a token named "${name}" exists; revoke it first to replace it`);
    this.mirror.applyLocal(revision, [{ type: 'put', kv: { key, value, modRevision: revision } }]);
    return token;
  }

  /** One token's key as etcd has it now (linearizable). */
  private readKey(key: string) {
    return this.gateway.call('read tokens', (options) => this.gateway.client.kv.range({ key: Buffer.from(key) }, options));
  }

  /**
   * Puts a token record if `compare` holds: its revision, or null when the compare failed (nothing
   * written). A write whose answer never came (sent, then the deadline: a hung member, a dropped
   * connection) is looked for: the record with this secret's digest under the key means it was made,
   * and the secret is given as for any other. Before, the caller was told "Config store unavailable"
   * while the write could have landed: a rotation's old secret then stopped working, and the new one
   * was never shown to anyone. Not found (or the look fails too): it may still land (a hung member
   * applies what it took when it wakes), so the outcome is unknown, never "nothing written".
   * A compare that failed because the key already holds this secret's record (a send of this call
   * that landed, sent again by a client layer) is this call made, not a refusal.
   */
  private async putRecord(operation: string, key: string, value: string, sha256: string, compare: ICompare): Promise<number | null> {
    try {
      const res = await this.gateway.call(operation, (options) =>
        this.gateway.client.kv.txn(
          {
            compare: [compare],
            success: [{ request_put: { key: Buffer.from(key), value: Buffer.from(value) } }],
            failure: [{ request_range: { key: Buffer.from(key) } }],
          },
          options,
        ),
      );
      if (res.succeeded) return Number(res.header.revision);
      const kv = res.responses[0]?.response_range?.kvs[0];
      if (kv && parseTokenRecord(toKeyValue(kv), this.keys.tokensPrefix)?.sha256 === sha256) return Number(kv.mod_revision);
      return null;
    } catch (err) {
      if (!(err instanceof StoreUnavailableError && err.answerLost)) throw err;
      const found = await this.readKey(key).catch(() => null);
      const kv = found?.kvs[0];
      if (kv && parseTokenRecord(toKeyValue(kv), this.keys.tokensPrefix)?.sha256 === sha256) return Number(kv.mod_revision);
      throw new StoreOutcomeUnknownError(err);
    }
  }

  /**
   * Deletes `tokens/<name>` only at the mod_revision it was seen at (the watched copy first, then
   * what a failed compare found), so a revoke that lands late (sent to a hung member, its answer
   * lost, applied when the member wakes) cannot delete a token created under the same name since:
   * a plain delete did, silently. A compare that failed on a key now gone means the token seen was
   * revoked (another revoke, or a send of this one that landed): true, not "no token named".
   */
  async revoke(name: string): Promise<boolean> {
    const key = this.keys.token(name);
    // Whether this replica knew the token (its watched copy): what a revoke whose answer never came reports when the token is gone.
    const known = this.mirror.get(key) !== undefined;
    // 0 when none was seen: the compare then holds only while the key is absent (nothing to delete).
    let seen = this.mirror.get(key)?.modRevision ?? 0;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const over = seen;
      let res: Awaited<ReturnType<EtcdGateway['client']['kv']['txn']>>;
      try {
        res = await this.gateway.call('token revoke', (options) =>
          this.gateway.client.kv.txn(
            {
              compare: [{ key: Buffer.from(key), target: 'Mod', result: 'Equal', mod_revision: over }],
              success: [{ request_delete_range: { key: Buffer.from(key) } }],
              failure: [{ request_range: { key: Buffer.from(key) } }],
            },
            options,
          ),
        );
      } catch (err) {
        if (!(err instanceof StoreUnavailableError && err.answerLost)) throw err;
        // Sent, and no answer: the token gone means it is revoked (this revoke landed, or another
        // one did). Still there as seen, this one may yet land: unknown, and the token may still be
        // accepted. Before, "try again later", and the retry then said "no token named" for one this
        // revoke removed. Changed since (rotated, re-created): this one can no longer land (its
        // compare cannot hold again); the token there now is revoked as any other.
        const found = await this.readKey(key).catch(() => null);
        const kv = found?.kvs[0];
        if (!found || (kv && Number(kv.mod_revision) === over)) throw new StoreOutcomeUnknownError(err);
        if (kv) {
          seen = Number(kv.mod_revision);
          continue;
        }
        const gone = Number(found.header.revision);
        void this.mirror.applyRead(gone, [{ type: 'delete', key, modRevision: gone }]);
        return known || over !== 0;
      }
      const revision = Number(res.header.revision);
      if (res.succeeded) {
        if (over === 0) return false;
        this.mirror.applyLocal(revision, [{ type: 'delete', key, modRevision: revision }]);
        return true;
      }
      const current = res.responses[0]?.response_range?.kvs[0];
      if (!current) {
        void this.mirror.applyRead(revision, [{ type: 'delete', key, modRevision: revision }]);
        return true;
      }
      // Created, rotated or re-created since it was seen: revoke the one there now.
      seen = Number(current.mod_revision);
    }
    throw new TokenRefusedError(`token "${name}" was changed under every attempt to revoke it: nothing revoked; run it again`);
  }

  /**
   * A new secret under `tokens/<name>`, same name and scope: one transaction that puts the new record
   * only if the key is still the one read (its mod_revision), so a revocation or another rotation
   * that lands in between is never overwritten (refused: run it again). `created_at` becomes now, as
   * in the file store, and `expires_at` what `expiry` says (rotatedExpiry: by default the old lifetime from now).
   */
  async rotate(name: string, expiry: TokenExpiryRequest = {}): Promise<RotatedToken | null> {
    const key = this.keys.token(name);
    const read = await this.readKey(key);
    const found = read.kvs[0];
    if (!found) return null;
    const kv = toKeyValue(found);
    const current = parseTokenRecord(kv, this.keys.tokensPrefix);
    if (!current)
      throw new TokenRefusedError(`${key} is not a token record (it is refused as it stands); revoke "${name}" and create it again`);
    const now = this.now();
    const expiresAt = rotatedExpiry(current, now, expiry);
    const token = newTokenSecret();
    const sha256 = tokenDigest(token);
    const value = checkedRecord(
      key,
      { name: current.name, scope: current.scope, sha256, createdAt: now.toISOString(), ...(expiresAt && { expiresAt }) },
      this.keys.tokensPrefix,
    );
    const revision = await this.putRecord('token rotate', key, value, sha256, {
      key: Buffer.from(key),
      target: 'Mod',
      result: 'Equal',
      mod_revision: kv.modRevision,
    });
    if (revision === null)
      throw new TokenRefusedError(`token "${name}" was changed meanwhile (revoked or rotated elsewhere): nothing written; run it again`);
    this.mirror.applyLocal(revision, [{ type: 'put', kv: { key, value, modRevision: revision } }]);
    return { token, scope: current.scope, ...(expiresAt && { expiresAt }), previous: current };
  }

  /**
   * TokenStore.restore: one transaction that puts `previous` back under `tokens/<name>` (or deletes
   * the key) only while the key is still the record with digest `sha256`, at the mod_revision it was
   * read at, so a revocation or rotation made meanwhile elsewhere is never undone.
   */
  async restore(name: string, sha256: string, previous: StoredToken | undefined): Promise<boolean> {
    const key = this.keys.token(name);
    const found = (await this.readKey(key)).kvs[0];
    if (!found) return false;
    const kv = toKeyValue(found);
    if (parseTokenRecord(kv, this.keys.tokensPrefix)?.sha256 !== sha256) return false;
    const value = previous === undefined ? undefined : checkedRecord(key, previous, this.keys.tokensPrefix);
    const res = await this.gateway.call('token restore', (options) =>
      this.gateway.client.kv.txn(
        {
          compare: [{ key: Buffer.from(key), target: 'Mod', result: 'Equal', mod_revision: kv.modRevision }],
          success: [
            value === undefined
              ? { request_delete_range: { key: Buffer.from(key) } }
              : { request_put: { key: Buffer.from(key), value: Buffer.from(value) } },
          ],
        },
        options,
      ),
    );
    if (!res.succeeded) return false;
    const revision = Number(res.header.revision);
    this.mirror.applyLocal(revision, [
      value === undefined ? { type: 'delete', key, modRevision: revision } : { type: 'put', kv: { key, value, modRevision: revision } },
    ]);
    return true;
  }

  async find(sha256: string): Promise<StoredToken | undefined> {
    if (this.gateway.connected) {
      try {
        await this.barrier();
      } catch {
        // Unreachable now (the gateway says so): the watched set is the best answer there is.
      }
    }
    return this.tokensOf(this.mirror.list(this.keys.tokensPrefix)).find((t) => t.sha256 === sha256);
  }

  /** Resolves after a read that began after this call (joining one that has not begun yet). */
  private barrier(): Promise<void> {
    if (this.queued) return this.queued;
    const run = (): Promise<void> => {
      const read = this.readAll().then(() => undefined);
      const settled: Promise<void> = read
        .catch(() => {})
        .then(() => {
          if (this.inFlight === settled) this.inFlight = null;
        });
      this.inFlight = settled;
      return read;
    };
    if (!this.inFlight) return run();
    const queued = this.inFlight.then(() => {
      this.queued = null;
      return run();
    });
    this.queued = queued;
    return queued;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.inFlight, this.queued]);
  }
}
