import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { bearerToken, type Credentials, type Identity } from './identity.js';
import { impliedScopes } from './scopes.js';
import { readTokenFile, TOKENS_FILE, tokenDigest } from './token-file.js';

export const ADMIN_TOKEN_FILE = 'admin.token';
const MIN_TOKEN_LENGTH = 16;

export interface AdminToken {
  readonly token: string;
  /** Where it came from, for the start-up message (never the token itself). */
  readonly source: { kind: 'env' } | { kind: 'file'; file: string; created: boolean };
}

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The admin token: `CONTROL_PLANE_TOKEN` when set; else `<runtimeDir>/admin.token`, generated
 * (mode 0600) on first start.
 */
export async function resolveAdminToken(runtimeDir: string, envToken: string | undefined): Promise<AdminToken> {
  if (envToken !== undefined && envToken !== '') {
    if (bearerToken(`Bearer ${envToken}`) !== envToken || envToken.length < MIN_TOKEN_LENGTH) {
      throw new Error(`CONTROL_PLANE_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters of A-Z a-z 0-9 - . _ ~ + /`);
    }
    return { token: envToken, source: { kind: 'env' } };
  }
  const file = path.join(runtimeDir, ADMIN_TOKEN_FILE);
  try {
    const token = (await fsp.readFile(file, 'utf8')).trim();
    if (bearerToken(`Bearer ${token}`) !== token || token.length < MIN_TOKEN_LENGTH) {
      throw new Error(`${file} does not hold a usable token; delete it to have a new one generated`);
    }
    return { token, source: { kind: 'file', file, created: false } };
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
  }
  await fsp.mkdir(runtimeDir, { recursive: true });
  const token = generateToken();
  const handle = await fsp.open(file, 'wx', 0o600);
  try {
    await handle.writeFile(`${token}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { token, source: { kind: 'file', file, created: true } };
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Resolves bearer tokens to identities. Comparison is constant-time (over fixed-length digests). */
export interface Authenticator {
  authenticate(authorizationHeader: string | null | undefined): Credentials | Promise<Credentials>;
}

const ADMIN: Identity = { name: 'admin', scopes: impliedScopes(['admin']) };

export function adminAuthenticator(adminToken: string): Authenticator {
  const expected = digest(adminToken);
  return {
    authenticate(header) {
      const token = bearerToken(header);
      if (token === null) return { kind: 'none' };
      if (token === undefined) return { kind: 'invalid' };
      return timingSafeEqual(digest(token), expected) ? { kind: 'valid', identity: ADMIN } : { kind: 'invalid' };
    },
  };
}

export interface ScopedAuthenticatorOptions {
  adminToken: string;
  runtimeDir: string;
  /** Told when tokens.yaml cannot be read or is invalid (named tokens are then refused: fail closed). */
  warn?: (message: string) => void;
}

/**
 * The admin token plus the named tokens of `<runtimeDir>/tokens.yaml`. The file is checked (stat)
 * whenever a named token is presented and re-read when it changed, so `stratctl token revoke`
 * takes effect on the next request, without a restart.
 */
export function scopedAuthenticator(options: ScopedAuthenticatorOptions): Authenticator {
  const admin = adminAuthenticator(options.adminToken);
  const file = path.join(options.runtimeDir, TOKENS_FILE);
  let seen = '';
  let byDigest = new Map<string, Identity>();
  let loading: Promise<void> | undefined;

  const reload = async () => {
    const stat = await fsp.stat(file).then(
      (s) => `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`,
      (err: { code?: string }) => (err.code === 'ENOENT' ? 'missing' : `error:${err.code}`),
    );
    if (stat === seen) return;
    try {
      const tokens = stat === 'missing' ? [] : await readTokenFile(file);
      byDigest = new Map(tokens.map((t) => [t.sha256, { name: t.name, scopes: impliedScopes([t.scope]) }]));
    } catch (err) {
      byDigest = new Map();
      options.warn?.(`named tokens refused until ${file} is fixed: ${(err as Error).message}`);
    }
    seen = stat;
  };

  return {
    async authenticate(header) {
      const first = admin.authenticate(header) as Credentials;
      if (first.kind !== 'invalid') return first;
      const token = bearerToken(header);
      if (!token) return first;
      // Checks run one after another, each after the request arrived: a revocation that finished
      // before this request is always seen.
      const check = (loading ?? Promise.resolve()).then(reload, reload);
      loading = check;
      await check;
      const identity = byDigest.get(tokenDigest(token));
      return identity ? { kind: 'valid', identity } : { kind: 'invalid' };
    },
  };
}
