import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { createToken, readTokenFile, revokeToken, TOKENS_FILE } from './token-file.js';
import type { StoredToken, TokenStore } from './token-store.js';

/**
 * Named tokens in `<runtimeDir>/tokens.yaml`. `find` checks the file (stat) on every call and
 * re-reads it when it changed, so `stratctl token revoke` takes effect on the next request. An
 * invalid file refuses every named token (fail closed) and is reported through `warn`.
 */
export function fileTokenStore(runtimeDir: string, options: { warn?: (message: string) => void } = {}): TokenStore {
  const file = path.join(runtimeDir, TOKENS_FILE);
  let seen = '';
  let byDigest = new Map<string, StoredToken>();
  let loading: Promise<void> | undefined;

  const reload = async () => {
    const stat = await fsp.stat(file).then(
      (s) => `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`,
      (err: { code?: string }) => (err.code === 'ENOENT' ? 'missing' : `error:${err.code}`),
    );
    if (stat === seen) return;
    try {
      const tokens = stat === 'missing' ? [] : await readTokenFile(file);
      byDigest = new Map(tokens.map((t) => [t.sha256, t]));
    } catch (err) {
      byDigest = new Map();
      options.warn?.(`named tokens refused until ${file} is fixed: ${(err as Error).message}`);
    }
    seen = stat;
  };

  return {
    list: () => readTokenFile(file),
    create: (name, scope) => createToken(runtimeDir, name, scope),
    revoke: (name) => revokeToken(runtimeDir, name),
    async find(sha256) {
      // Checks run one after another, each after the request arrived: a revocation that finished
      // before this request is always seen.
      const check = (loading ?? Promise.resolve()).then(reload, reload);
      loading = check;
      await check;
      return byDigest.get(sha256);
    },
    async close() {
      await loading;
    },
  };
}
