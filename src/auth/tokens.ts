import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { RuntimeFileRefusedError, readRuntimeBytes } from '../fs/runtime-file.js';
import type { Say } from '../log.js';
import { UsageError } from '../usage-error.js';
import { bearerToken, type Credentials, type Identity } from './identity.js';
import { impliedScopes } from './scopes.js';
import { tokenDigest } from './token-file.js';
import type { TokenStore } from './token-store.js';

export const ADMIN_TOKEN_FILE = 'admin.token';
const MIN_TOKEN_LENGTH = 16;

export interface AdminToken {
  readonly token: string;
  /**
   * Where it came from, for the start-up message (never the token itself); `weakBits`: a token
   * chosen by hand (not generated here) whose rough strength is under WEAK_TOKEN_BITS, said at start.
   */
  readonly source: ({ kind: 'env' } | { kind: 'file'; file: string; created: boolean }) & { weakBits?: number };
  /** Writes a newly generated token to its file (mode 0600); nothing to do otherwise. Called once start may write. */
  save(): Promise<void>;
}

/** Under this many bits (tokenStrengthBits) a hand-chosen admin token is warned about at start. */
export const WEAK_TOKEN_BITS = 80;

/**
 * A rough strength of a token, in bits: its length (counting at most two characters per distinct
 * one, so `aaaa...` or `passwordpassword` count little) times log2 of the pool its character
 * classes span (a-z, A-Z, 0-9, and - . _ ~ + /). A generated token (43 base64url characters) is
 * about 250; 16 random alphanumerics about 95; `passwordpassword` 66. Not a dictionary check: a
 * floor that catches the common hand-chosen ones, for a warning only.
 */
export function tokenStrengthBits(token: string): number {
  const pool = [/[a-z]/, /[A-Z]/, /[0-9]/, /[-._~+/]/].reduce((sum, re, i) => sum + (re.test(token) ? [26, 26, 10, 6][i]! : 0), 0);
  if (pool === 0) return 0;
  return Math.min(token.length, 2 * new Set(token).size) * Math.log2(pool);
}

const weakness = (token: string): { weakBits?: number } => {
  const bits = tokenStrengthBits(token);
  return bits < WEAK_TOKEN_BITS ? { weakBits: Math.round(bits) } : {};
};

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

const nothingToSave = async () => {};

/**
 * The admin token: `CONTROL_PLANE_TOKEN` when set; else `<runtimeDir>/admin.token`, generated on
 * first start. Reads only: a generated token is written by `save()`, after start has bound its port.
 */
export async function loadAdminToken(runtimeDir: string, envToken: string | undefined): Promise<AdminToken> {
  if (envToken !== undefined && envToken !== '') {
    if (bearerToken(`Bearer ${envToken}`) !== envToken || envToken.length < MIN_TOKEN_LENGTH) {
      // A setting the operator typed: a usage error (serve exits 2, which a service manager does not restart).
      throw new UsageError(`CONTROL_PLANE_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters of A-Z a-z 0-9 - . _ ~ + /`);
    }
    return { token: envToken, source: { kind: 'env', ...weakness(envToken) }, save: nothingToSave };
  }
  const file = path.join(runtimeDir, ADMIN_TOKEN_FILE);
  try {
    // Whoever can write this file can become admin: only this user (or root) may, checked before it is read.
    const token = (await readRuntimeBytes(file, { secret: true, runtimeDir })).bytes.toString('utf8').trim();
    if (bearerToken(`Bearer ${token}`) !== token || token.length < MIN_TOKEN_LENGTH) {
      // Said like any refused runtime file (serve exits 78 with one line, as for a writable admin.token), not a crash with a stack.
      throw new RuntimeFileRefusedError(
        file,
        'unusable',
        `does not hold a usable token (at least ${MIN_TOKEN_LENGTH} characters of A-Z a-z 0-9 - . _ ~ + /); write one, or delete the file to have a new one generated`,
      );
    }
    return { token, source: { kind: 'file', file, created: false, ...weakness(token) }, save: nothingToSave };
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
  }
  const token = generateToken();
  const save = async () => {
    const handle = await fsp.open(file, 'wx', 0o600);
    try {
      await handle.writeFile(`${token}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  };
  return { token, source: { kind: 'file', file, created: true }, save };
}

/** Resolves bearer tokens to identities. The admin token is compared in constant time (sameSecret). */
export interface Authenticator {
  authenticate(authorizationHeader: string | null | undefined): Credentials | Promise<Credentials>;
}

const ADMIN: Identity = { name: 'admin', scopes: impliedScopes(['admin']) };
const VALID_ADMIN: Credentials = Object.freeze({ kind: 'valid', identity: ADMIN });
const INVALID: Credentials = Object.freeze({ kind: 'invalid' });

/**
 * `candidate` equals `expected`, in time that depends on `expected`'s length only: every character
 * of `expected` is compared whatever the candidate holds (a character past its end reads as 0,
 * which no token character is), and a length difference counts as a difference.
 */
function sameSecret(candidate: string, expected: string): boolean {
  let difference = candidate.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) difference |= (candidate.charCodeAt(i) | 0) ^ expected.charCodeAt(i);
  return difference === 0;
}

export function adminAuthenticator(adminToken: string): Authenticator {
  // The usual header, `Bearer <token>` as clients send it, is compared whole first: no parse, no
  // digest on every request (a sha256 was ~0.5 us of a cached read). Any other spelling is parsed.
  const usualHeader = `Bearer ${adminToken}`;
  return {
    authenticate(header) {
      if (header !== null && header !== undefined && sameSecret(header, usualHeader)) return VALID_ADMIN;
      const token = bearerToken(header);
      if (token === null) return { kind: 'none' };
      if (token === undefined) return { kind: 'invalid' };
      return sameSecret(token, adminToken) ? VALID_ADMIN : INVALID;
    },
  };
}

/** A named token that expires within this is warned about in the server log when it is used (once a day). */
export const EXPIRY_WARNING_MS = 7 * 24 * 3600_000;
const WARN_AGAIN_MS = 24 * 3600_000;

/**
 * The admin token plus the named tokens of a TokenStore (tokens.yaml, or etcd's `tokens/` keys).
 * The store is asked on every request that presents a named token, so a revocation is seen at once;
 * and its expiry is checked then against `now` (the server's clock; tests move it): an expired
 * token is refused from that request on (`invalid`, with when it expired). A token used within
 * EXPIRY_WARNING_MS of its expiry is said in the log through `warn`, once a day per token.
 */
export function scopedAuthenticator(options: { adminToken: string; tokens: TokenStore; now?: () => number; warn?: Say }): Authenticator {
  const admin = adminAuthenticator(options.adminToken);
  const now = options.now ?? Date.now;
  /** What was said in the log (`expiring|expired <name> <expires_at>`) -> when: a new expiry is a new key. Bounded by the token count. */
  const warned = new Map<string, number>();
  const sayOnce = (key: string, at: number, everyMs: number, say: () => void) => {
    const last = warned.get(key);
    if (last !== undefined && at - last < everyMs) return;
    if (warned.size >= 10_000) warned.clear();
    warned.set(key, at);
    say();
  };
  const named = async (token: string): Promise<Credentials> => {
    const stored = await options.tokens.find(tokenDigest(token));
    if (!stored) return INVALID;
    if (stored.expiresAt !== undefined) {
      const at = now();
      const left = Date.parse(stored.expiresAt) - at;
      if (!(left > 0)) {
        // Still in use after its expiry (a CI job nobody told): said once an hour per token, not per request.
        sayOnce(`expired ${stored.name} ${stored.expiresAt}`, at, 3600_000, () =>
          options.warn?.(
            `named token "${stored.name}" expired at ${stored.expiresAt} and is still being used: answered 401 (not counted toward the failed-auth limit); "stratctl token rotate ${stored.name}" gives it a new secret`,
            { tokenName: stored.name, expiresAt: stored.expiresAt },
          ),
        );
        return { kind: 'invalid', expiredAt: stored.expiresAt };
      }
      if (left <= EXPIRY_WARNING_MS)
        sayOnce(`expiring ${stored.name} ${stored.expiresAt}`, at, WARN_AGAIN_MS, () =>
          options.warn?.(
            `named token "${stored.name}" expires at ${stored.expiresAt} (in ${Math.ceil(left / 3600_000)} h): rotate it ("stratctl token rotate ${stored.name}") and give the new secret to whoever uses it`,
            { tokenName: stored.name, expiresAt: stored.expiresAt },
          ),
        );
    }
    return { kind: 'valid', identity: { name: stored.name, scopes: impliedScopes([stored.scope]) } };
  };
  return {
    // Synchronous unless the token store must be asked (no token, or the admin token: answered at once).
    authenticate(header) {
      const first = admin.authenticate(header) as Credentials;
      if (first.kind !== 'invalid') return first;
      const token = bearerToken(header);
      if (!token) return first;
      return named(token);
    },
  };
}
