import path from 'node:path';
import { lstatRuntimeFile } from '../fs/runtime-file.js';
import type { Say } from '../log.js';
import { sharedYamlParser, type YamlParser } from '../yaml/off-thread.js';
import { createToken, readTokenFile, revokeToken, TOKENS_FILE } from './token-file.js';
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
  } = {},
): TokenStore {
  const file = path.join(runtimeDir, TOKENS_FILE);
  const read = { yaml: options.yaml ?? sharedYamlParser(), maxBytes: options.maxBytes, deadlineMs: options.parseDeadlineMs };
  let seen = '';
  let byDigest = new Map<string, StoredToken>();
  let refused: string | null = null;
  let loading: Promise<void> | undefined;

  // lstat is the cheap "has it changed?" on every request; a chmod or chown changes ctime, so the
  // owner and mode are checked again (by readTokenFile) whenever they could have changed.
  const reload = async () => {
    const stat = await lstatRuntimeFile(file).then(
      (s) => (s ? `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}:${s.mode}:${s.uid}` : 'missing'),
      (err: { code?: string }) => `error:${err.code}`,
    );
    if (stat === seen) return;
    try {
      const tokens = stat === 'missing' ? [] : await readTokenFile(file, read);
      byDigest = new Map(tokens.map((t) => [t.sha256, t]));
      // The spell's end in the log beside its start: without it, "named tokens refused" was the last word.
      if (refused !== null) options.info?.(`named tokens are accepted again: ${file} is read`, { file });
      refused = null;
    } catch (err) {
      // Fail closed: a file that cannot be trusted or read grants nothing (the admin token still works).
      byDigest = new Map();
      refused = `named tokens are refused until ${path.basename(file)} is fixed: ${(err as Error).message}`;
      options.warn?.(`named tokens refused until ${file} is fixed: ${(err as Error).message}`, {
        file,
        reason: (err as Error).message,
      });
    }
    seen = stat;
  };

  const look = () => {
    const check = (loading ?? Promise.resolve()).then(reload, reload);
    loading = check;
    return check;
  };
  return {
    list: () => readTokenFile(file, read),
    create: (name, scope) => createToken(runtimeDir, name, scope),
    revoke: (name) => revokeToken(runtimeDir, name),
    async find(sha256) {
      // Checks run one after another, each after the request arrived: a revocation that finished
      // before this request is always seen.
      await look();
      return byDigest.get(sha256);
    },
    problem() {
      void look().catch(() => {});
      return refused;
    },
    async close() {
      await loading;
    },
  };
}
