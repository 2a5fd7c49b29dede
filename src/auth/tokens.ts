import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import {
  lstatRuntimeFile,
  lstatRuntimeFileSync,
  RuntimeFileRefusedError,
  type RuntimeFileStat,
  readRuntimeBytes,
} from '../fs/runtime-file.js';
import type { Say } from '../log.js';
import { UsageError } from '../usage-error.js';
import { bearerToken, type Credentials, type Identity } from './identity.js';
import { impliedScopes } from './scopes.js';
import { tokenDigest } from './token-file.js';
import type { TokenStore } from './token-store.js';

export const ADMIN_TOKEN_FILE = 'admin.token';
const MIN_TOKEN_LENGTH = 16;

/** The admin token in force, for a source that may change it while the server runs (admin.token). */
export interface FollowedToken {
  /** The token in force as of the last refresh. */
  current(): string;
  /** Looks at the source again (a stat; a read only when it changed); never rejects. */
  refresh(): Promise<void>;
  /**
   * Whether `current()` may be used as it is, without waiting for `refresh()`: the source looked at
   * (a synchronous stat, once per turn of the event loop, shared by the requests of that turn) and
   * unchanged since it was last read. False: it changed (or a read is under way), refresh() first.
   */
  unchanged(): boolean;
}

export interface AdminToken {
  /** The token read (or generated) at start; `follow.current()` is the one in force now. */
  readonly token: string;
  /**
   * admin.token followed while the server runs; null for CONTROL_PLANE_TOKEN, which cannot change
   * under a running process: its requests are then answered without a look at any file (a promise
   * per request there took every admin-token request off the synchronous path: reads with it cost
   * 50 µs of CPU each instead of 36, a third more, in the bench).
   */
  readonly follow: FollowedToken | null;
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
 * A rough strength of a token, in bits: the characters a guesser has to guess (see
 * `unpredictableLength`; at most two per distinct one, so `aaaa...` counts little) times log2 of the
 * pool its character classes span (a-z, A-Z, 0-9, and - . _ ~ + /). A generated token (43 base64url
 * characters) is about 250; 16 random alphanumerics about 95; `passwordpassword` 42 and
 * `passwordpassword1` 52 (a word said twice, a digit added). Not a dictionary check: a floor that
 * catches the common hand-chosen ones, for a warning only.
 */
export function tokenStrengthBits(token: string): number {
  const pool = [/[a-z]/, /[A-Z]/, /[0-9]/, /[-._~+/]/].reduce((sum, re, i) => sum + (re.test(token) ? [26, 26, 10, 6][i]! : 0), 0);
  if (pool === 0) return 0;
  return Math.min(unpredictableLength(token), 2 * new Set(token).size) * Math.log2(pool);
}

/** Tokens are looked through up to this length (the look is quadratic); characters past it count each. */
const LOOKED_THROUGH = 256;

/**
 * How many characters of `token` a guesser has to guess: a stretch of 3 or more that repeats an
 * earlier one (`passwordpassword`'s second word) counts as one, and a run going up, down or
 * staying by one code point (`abcd`, `4321`, `zzzz`) counts its first two only.
 */
export function unpredictableLength(token: string): number {
  const chars = [...token.slice(0, LOOKED_THROUGH)].map((c) => c.codePointAt(0)!);
  let count = Math.max(0, token.length - LOOKED_THROUGH);
  for (let i = 0; i < chars.length; ) {
    let repeat = 0;
    for (let j = 0; j < i; j++) {
      let n = 0;
      while (i + n < chars.length && chars[j + n] === chars[i + n]) n++;
      repeat = Math.max(repeat, n);
    }
    if (repeat >= 3) {
      count++;
      i += repeat;
      continue;
    }
    const step = chars[i]! - chars[i - 1]!;
    if (i >= 2 && Math.abs(step) <= 1 && chars[i - 1]! - chars[i - 2]! === step) {
      i++;
      continue;
    }
    count++;
    i++;
  }
  return count;
}

const weakness = (token: string): { weakBits?: number } => {
  const bits = tokenStrengthBits(token);
  return bits < WEAK_TOKEN_BITS ? { weakBits: Math.round(bits) } : {};
};

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

const nothingToSave = async () => {};

const unusableToken = (file: string) =>
  new RuntimeFileRefusedError(
    file,
    'unusable',
    `does not hold a usable token (at least ${MIN_TOKEN_LENGTH} characters of A-Z a-z 0-9 - . _ ~ + /); write one, or delete the file to have a new one generated`,
  );

const usable = (token: string) => bearerToken(`Bearer ${token}`) === token && token.length >= MIN_TOKEN_LENGTH;

/** Whoever can write this file can become admin: only this user (or root) may, checked before it is read. */
async function readAdminTokenFile(file: string, runtimeDir: string): Promise<string> {
  const token = (await readRuntimeBytes(file, { secret: true, runtimeDir })).bytes.toString('utf8').trim();
  if (!usable(token)) throw unusableToken(file);
  return token;
}

const statKey = (s: RuntimeFileStat | null) => (s ? `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}:${s.mode}:${s.uid}` : 'missing');

/**
 * admin.token followed while the server runs, as tokens.yaml is: an operator replacing a leaked admin
 * secret expects the old one refused, and it was accepted until a restart (while `stratctl`, reading
 * the new file, was refused). Each refresh stats the file; a change is read with the same checks as at
 * start, and a usable token is in force from that request on (the old one gets 401, and its open
 * streams end as a revoked named token's do: token-recheck.ts asks again). A file that became unusable
 * (gone, too short, writable by others, a link) keeps the token in force, said once per change: a
 * start would refuse it or generate a new token, but a running server must not lock the operator out.
 * `baseline` null: the generated token is not written yet (save), and there is nothing to follow.
 */
function followAdminTokenFile(
  file: string,
  runtimeDir: string,
  token: string,
  baseline: RuntimeFileStat | null,
  say: { warn?: Say; info?: Say },
): FollowedToken & { written(): Promise<void> } {
  let inForce = token;
  let seen: string | null = baseline ? statKey(baseline) : null;
  /** A problem was said and the file has not been read usable since. */
  let troubled = false;
  const reload = async () => {
    if (seen === null) return;
    // lstat is the cheap "has it changed?"; a chmod or chown changes ctime, so the checks run again then.
    const looked = await lstatRuntimeFile(file).catch((err: { code?: string }) => `error:${err.code}`);
    const key = typeof looked === 'string' ? looked : statKey(looked);
    if (key === seen) return;
    seen = key;
    let next: string;
    try {
      if (looked === null) throw new RuntimeFileRefusedError(file, 'unusable', 'is gone');
      next = await readAdminTokenFile(file, runtimeDir);
    } catch (err) {
      troubled = true;
      const reason =
        err instanceof RuntimeFileRefusedError ? err.message : `${path.basename(file)} cannot be read: ${(err as Error).message}`;
      say.warn?.(
        `admin token not replaced: ${reason}; the admin token in force stays in force until ${file} holds a usable one (a restart would refuse to start, or generate a new token if the file is missing)`,
        { file, reason },
      );
      return;
    }
    if (next === inForce) {
      if (troubled) say.info?.(`${file} is usable again; the admin token in force is unchanged`, { file });
      troubled = false;
      return;
    }
    inForce = next;
    troubled = false;
    say.info?.(
      `admin token replaced: ${file} holds a new one, in force from now on; the previous one is refused (401) and its open streams end`,
      {
        file,
      },
    );
  };
  // One stat at a time: a request arriving while one runs waits for the next, which starts after it arrived
  // (so a replacement finished before a request is always seen), shared by every request arriving meanwhile.
  let running: Promise<void> | undefined;
  // The turn's look (unchanged()): taken by the turn's first request with a token, forgotten at the
  // turn's check phase. A stat per request, or a promise per request with the thread pool's stat,
  // cost reads carrying the token a fifth of their CPU (35.6 against 29.9 µs an answer, 0.90x the
  // requests a second of the same token from CONTROL_PLANE_TOKEN); once a turn it is a few µs shared
  // by every request the turn read. What it gives up: a request read later in the same turn than the
  // look, whose bytes came after a replacement that itself finished after the look, is still answered
  // with the token the look found; the next turn's look sees the replacement (a turn is a few ms at
  // most, under load).
  let lookedThisTurn = false;
  let unchangedThisTurn = false;
  const turnOver = () => {
    lookedThisTurn = false;
  };
  let queued: Promise<void> | undefined;
  const run = () => {
    running = reload()
      .catch(() => {})
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  return {
    current: () => inForce,
    unchanged() {
      if (seen === null) return true;
      if (running || queued) return false;
      if (!lookedThisTurn) {
        lookedThisTurn = true;
        setImmediate(turnOver);
        let key: string;
        try {
          key = statKey(lstatRuntimeFileSync(file));
        } catch (err) {
          key = `error:${(err as { code?: string }).code}`;
        }
        unchangedThisTurn = key === seen;
      }
      return unchangedThisTurn;
    },
    refresh() {
      if (queued) return queued;
      if (!running) return run();
      queued = running.then(() => {
        queued = undefined;
        return run();
      });
      return queued;
    },
    async written() {
      seen = statKey(await lstatRuntimeFile(file).catch(() => null));
    },
  };
}

/**
 * The admin token: `CONTROL_PLANE_TOKEN` when set; else `<runtimeDir>/admin.token`, generated on
 * first start, and followed while the server runs (followAdminTokenFile). Reads only: a generated
 * token is written by `save()`, after start has bound its port.
 */
export async function loadAdminToken(
  runtimeDir: string,
  envToken: string | undefined,
  say: { warn?: Say; info?: Say } = {},
): Promise<AdminToken> {
  if (envToken !== undefined && envToken !== '') {
    if (!usable(envToken)) {
      // A setting the operator typed: a usage error (serve exits 2, which a service manager does not restart).
      throw new UsageError(`CONTROL_PLANE_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters of A-Z a-z 0-9 - . _ ~ + /`);
    }
    return {
      token: envToken,
      source: { kind: 'env', ...weakness(envToken) },
      save: nothingToSave,
      follow: null,
    };
  }
  const file = path.join(runtimeDir, ADMIN_TOKEN_FILE);
  try {
    // Refused like any runtime file (serve exits 78 with one line, as for a writable admin.token), not a crash with a stack.
    const baseline = await lstatRuntimeFile(file);
    const token = await readAdminTokenFile(file, runtimeDir);
    const followed = followAdminTokenFile(file, runtimeDir, token, baseline, say);
    return {
      token,
      source: { kind: 'file', file, created: false, ...weakness(token) },
      save: nothingToSave,
      follow: { current: followed.current, refresh: followed.refresh, unchanged: followed.unchanged },
    };
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
  }
  const token = generateToken();
  const followed = followAdminTokenFile(file, runtimeDir, token, null, say);
  const save = async () => {
    const handle = await fsp.open(file, 'wx', 0o600);
    try {
      await handle.writeFile(`${token}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await followed.written();
  };
  return {
    token,
    source: { kind: 'file', file, created: true },
    save,
    follow: { current: followed.current, refresh: followed.refresh, unchanged: followed.unchanged },
  };
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

/**
 * How long is left, for the expiry warning: seconds under a minute, minutes under an hour, hours under
 * two days, days above, each rounded down (never more time than there is; under a second says 1 s).
 * Was hours rounded up: 14 s before expiry read "in 1 h", 6.9 days "in 166 h". (src/page/dom.ts `ago`
 * is the page's, for times past, with other bounds.)
 */
export function timeLeft(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${Math.max(1, seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 2 * 86_400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} d`;
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
export function scopedAuthenticator(options: {
  /** A followed token (admin.token) is refreshed before any request with a token is answered. */
  adminToken: string | FollowedToken;
  tokens: TokenStore;
  now?: () => number;
  warn?: Say;
}): Authenticator {
  const followed = typeof options.adminToken === 'string' ? null : options.adminToken;
  let adminToken = followed ? followed.current() : (options.adminToken as string);
  let admin = adminAuthenticator(adminToken);
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
            `named token "${stored.name}" expires at ${stored.expiresAt} (in ${timeLeft(left)}): rotate it ("stratctl token rotate ${stored.name}") and give the new secret to whoever uses it`,
            { tokenName: stored.name, expiresAt: stored.expiresAt },
          ),
        );
    }
    return { kind: 'valid', identity: { name: stored.name, scopes: impliedScopes([stored.scope]) } };
  };
  const answer = (header: string | null | undefined): Credentials | Promise<Credentials> => {
    if (followed && followed.current() !== adminToken) {
      adminToken = followed.current();
      admin = adminAuthenticator(adminToken);
    }
    const first = admin.authenticate(header) as Credentials;
    if (first.kind !== 'invalid') return first;
    const token = bearerToken(header);
    if (!token) return first;
    return named(token);
  };
  return {
    // Synchronous unless the token store must be asked (a named token) or admin.token changed: a token
    // is answered after the turn's look at admin.token (FollowedToken.unchanged), and after the file is
    // read again when it changed, so the one it replaced is refused from the next turn's requests on.
    authenticate(header) {
      if (!followed || !header || followed.unchanged()) return answer(header);
      return followed.refresh().then(() => answer(header));
    },
  };
}
