import path from 'node:path';
import { lstatRuntimeFile, type RuntimeFileStat } from '../fs/runtime-file.js';
import {
  dirChangedAt,
  type FileLook,
  newSettleSpell,
  readSettledFiles,
  renamedAfterWritten,
  SETTLE_MAX_MS,
  SETTLE_MS,
  type SettleClock,
  type SettleEntry,
  type SettleTimes,
  settleWait,
  systemSettleClock,
} from '../fs/settle.js';
import type { Say } from '../log.js';
import { sharedYamlParser, type YamlParser } from '../yaml/off-thread.js';
import { createToken, isReservedTokenName, readTokenFile, restoreToken, revokeToken, rotateToken, TOKENS_FILE } from './token-file.js';
import type { StoredToken, TokenStore } from './token-store.js';

/**
 * Named tokens in `<runtimeDir>/tokens.yaml`. `find` checks the file (stat) on every call and
 * re-reads it when it changed, so `stratctl token revoke` takes effect on the next request. An
 * invalid file refuses every named token (fail closed) and is reported through `warn`.
 */
export function fileTokenStore(
  runtimeDir: string,
  options: {
    warn?: Say;
    /** Told once the file is trusted and read again after `warn` (the end of the spell: named tokens work again). */
    info?: Say;
    yaml?: YamlParser;
    maxBytes?: number;
    parseDeadlineMs?: number;
    /** How long an edit made in place must have stopped changing before it is read (src/fs/settle.ts; tests shorten it). */
    settle?: SettleTimes;
    /** The settle loop's clocks (src/fs/settle.ts; tests inject them). */
    settleClock?: SettleClock;
  } = {},
): TokenStore {
  const file = path.join(runtimeDir, TOKENS_FILE);
  const read = { yaml: options.yaml ?? sharedYamlParser(), maxBytes: options.maxBytes, deadlineMs: options.parseDeadlineMs };
  let seen = '';
  let byDigest = new Map<string, StoredToken>();
  let refused: string | null = null;
  /** Entries the file holds under a reserved name: each refused, the others accepted; said on /ready. */
  let reservedNote: string | null = null;
  let loading: Promise<void> | undefined;

  /** The file as last read (null: missing or not looked at yet), to tell an edit in place from a replacement. */
  let readStat: RuntimeFileStat | null = null;
  /**
   * The spell of changing past the bound, said once per spell as the config store says it
   * (src/config/file-store.ts), which ends at a read of the file still (or a look that finds the
   * file read last still since). Unsaid, a tool rewriting tokens.yaml in place without a pause had
   * its reads taken torn or not with nothing in the log to say why named tokens came and went.
   * Carried across reloads as the config store carries it: once the file has been taken as it
   * stands, the next reload takes it at once (from a read between two writes) rather than wait the
   * bound again. Its bound ran from the start of each reload: while such a tool went on, every
   * request with a named token waited 1.5 s.
   */
  const spell = newSettleSpell();
  /**
   * When (the loop's clock) the spell last took the file as it stands (null: no spell). The config
   * store's 1 s check sees a spell end; nothing looks at tokens.yaml between requests, so a spell
   * whose file no request found still would last for ever, and an edit made long after it would be
   * taken at once, torn or not. So a spell not taken as it stands for the window plus the bound is
   * over: the next change waits until the file is still again.
   */
  let takenAsItStandsAt: number | null = null;
  const settleMs = options.settle?.ms ?? SETTLE_MS;
  const settleMaxMs = options.settle?.maxMs ?? SETTLE_MAX_MS;
  const clock = options.settleClock ?? systemSettleClock;
  const endSpell = () => {
    spell.changingSince = null;
    spell.said = false;
    takenAsItStandsAt = null;
  };
  const keyOf = (s: RuntimeFileStat | null) => (s ? `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}:${s.mode}:${s.uid}` : 'missing');
  const lookAt = async (readAt: number): Promise<{ key: string; look: FileLook }> => {
    const stat = await lstatRuntimeFile(file).catch((err: { code?: string }) => `error:${err.code}`);
    return typeof stat === 'string'
      ? { key: stat, look: { stat: null, readAt, at: clock.now() } }
      : { key: keyOf(stat), look: { stat, readAt, at: clock.now() } };
  };

  // lstat is the cheap "has it changed?" on every request; a chmod or chown changes ctime, so the
  // owner and mode are checked again (by readTokenFile) whenever they could have changed.
  const reload = async () => {
    const first = await lookAt(clock.wall());
    if (first.key === seen) {
      // Unchanged since it was taken, and still for the window now: the spell (if any) is over.
      if (takenAsItStandsAt !== null && settleWait(first.look, undefined, settleMs) === 0) endSpell();
      return;
    }
    if (takenAsItStandsAt === null || clock.now() - takenAsItStandsAt > settleMs + settleMaxMs) endSpell();
    spell.missingSince.clear();
    /** The last look before a read, and what it told. */
    let peeked: { readAt: number; key: string; look: FileLook; entry: SettleEntry } | undefined;
    const { value, settled } = await readSettledFiles({
      times: options.settle,
      clock,
      spell,
      // Looked at before it is read: while it is being written, nothing is read (nor parsed).
      peek: async () => {
        const readAt = clock.wall();
        const { key, look } = await lookAt(readAt);
        // Gone (vim's default write renames it to tokens.yaml~ and creates it anew; rm, then a new
        // file): taken as missing (no named tokens) only once it has stayed missing for the window,
        // and the file that comes back meanwhile is a new one, read once it is still, never as a
        // replacement renamed into place.
        if (key === 'missing') {
          readStat = null;
          peeked = { readAt, key, look, entry: { missing: { readAt, dirChangedAt: await dirChangedAt(file) } } };
          return [peeked.entry];
        }
        // Written in place (the same file, its content changed): a request in the moment between the
        // truncate and the last write found no token (401, counted toward the failed-auth limit). It
        // waits until the file is still (src/fs/settle.ts; at once when its last change is already
        // past). A replacement (a different file renamed into place after its last write, as `stratctl
        // token` writes it: src/fs/settle.ts renamedAfterWritten) is whole, and a chmod or chown changes
        // no content: read at once, so a revocation is never late. A different file that is not so is
        // being written: vim's new file after a missing moment no look saw, or stratctl's file edited
        // in place before any request read it. Read at once, a third of it refused valid tokens (401,
        // counted toward the failed-auth limit); it waits until it is still like any edit in place.
        const otherFile = look.stat !== null && readStat !== null && look.stat.ino !== readStat.ino;
        const replaced = otherFile && look.stat !== null && renamedAfterWritten(look.stat);
        const metadataOnly =
          look.stat !== null &&
          readStat !== null &&
          !otherFile &&
          look.stat.size === readStat.size &&
          look.stat.mtimeMs === readStat.mtimeMs;
        // Unchanged since it was taken (it came back to it while waited for): nothing to wait for.
        peeked = { readAt, key, look, entry: key === seen ? undefined : { look, whole: replaced || metadataOnly } };
        return [peeked.entry];
      },
      read: async () => {
        const { readAt, key, look, entry } = peeked as NonNullable<typeof peeked>;
        let tokens: StoredToken[] | Error;
        try {
          tokens = key === 'missing' ? [] : await readTokenFile(file, read);
        } catch (err) {
          tokens = err as Error;
        }
        // Looked at again after the read: changed meanwhile (a truncate just after the look), it
        // waits and is read again; past the bound, it is taken only from a read between two writes
        // (readWhole: not empty, its last change before the read began). Taken from any read, a read
        // of the first piece of an edit (or of the moment after its truncate) refused every named
        // token: 401s, counted toward the limit.
        const after = await lookAt(readAt);
        const changed = after.key !== key;
        const files: SettleEntry[] = [changed ? { look: after.look } : entry && 'look' in entry ? { ...entry, look: after.look } : entry];
        return { value: { tokens, key, look }, files };
      },
      keptChanging: (_files, maxMs) =>
        options.warn?.(
          `${TOKENS_FILE} kept changing for ${maxMs} ms: taken as it stands; write a hand edit whole (a temp file, then a rename)`,
          {
            files: [TOKENS_FILE],
          },
        ),
    });
    // Taken as it stands: the spell goes on (the next reload takes the file at once); still: over.
    takenAsItStandsAt = settled ? null : clock.now();
    const { tokens } = value;
    if (!(tokens instanceof Error)) {
      // A reserved name (`system`, `etcd`, ...) would be the audit actor of its requests: refused, that
      // entry alone (as etcd refuses such a record); the file's other tokens stay accepted.
      const reserved = tokens.filter((t) => isReservedTokenName(t.name)).map((t) => t.name);
      byDigest = new Map(tokens.filter((t) => !isReservedTokenName(t.name)).map((t) => [t.sha256, t]));
      const note =
        reserved.length === 0
          ? null
          : `${path.basename(file)} holds ${reserved.length === 1 ? 'a token' : 'tokens'} with a reserved name (${reserved.join(', ')}): refused whatever the secret; "stratctl token revoke <name>" removes ${reserved.length === 1 ? 'it' : 'them'}`;
      if (note !== null && note !== reservedNote) options.warn?.(note, { file, tokens: reserved });
      reservedNote = note;
      // The spell's end in the log beside its start: without it, "named tokens refused" was the last word.
      if (refused !== null) options.info?.(`named tokens are accepted again: ${file} is read`, { file });
      refused = null;
    } else {
      const err = tokens;
      // Fail closed: a file that cannot be trusted or read grants nothing (the admin token still works).
      byDigest = new Map();
      // /ready shows it to anyone: the file's name, never its path (the log below names the path).
      const reason = err.message.split(file).join(path.basename(file)).split(path.dirname(file)).join('<runtime dir>');
      refused = `named tokens are refused until ${path.basename(file)} is fixed: ${reason}`;
      options.warn?.(`named tokens refused until ${file} is fixed: ${err.message}`, {
        file,
        reason: err.message,
      });
    }
    seen = value.key;
    readStat = value.look.stat;
  };

  const look = () => {
    const check = (loading ?? Promise.resolve()).then(reload, reload);
    loading = check;
    return check;
  };
  return {
    list: () => readTokenFile(file, read),
    create: (name, scope, expiry) => createToken(runtimeDir, name, scope, expiry),
    revoke: (name) => revokeToken(runtimeDir, name),
    rotate: (name, expiry) => rotateToken(runtimeDir, name, expiry),
    restore: (name, sha256, previous) => restoreToken(runtimeDir, name, sha256, previous),
    async find(sha256) {
      // Checks run one after another, each after the request arrived: a revocation that finished
      // before this request is always seen.
      await look();
      return byDigest.get(sha256);
    },
    async problem() {
      await look().catch(() => {});
      return refused ?? reservedNote;
    },
    async close() {
      await loading;
    },
  };
}
