import { expiresAtTime } from '../auth/token-file.js';
import { MAX_EXPIRES_IN_DAYS, type TokenExpiryRequest } from '../auth/token-store.js';
import { UsageError } from '../usage-error.js';
import type { Flags } from './program.js';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000 } as const;

/**
 * `--expires-in <n>d|h|m`, `--expires-at <ISO time with zone>` or `--no-expiry` -> the expiry asked
 * for; none of them: none asked (create: no expiry; rotate: the old lifetime, from now).
 * `--no-expiry` asks for none (rotate: drops the old expiry; create: what it does anyway, accepted
 * so that a script may always say which it wants). Nonsense is a UsageError (exit 2) in one line:
 * two of the three flags, zero, a negative or unparseable duration, a time without its zone or not
 * in the future.
 */
export function expiryFlags(flags: Flags, now: Date = new Date()): TokenExpiryRequest {
  const inFlag = flags['expires-in'];
  const atFlag = flags['expires-at'];
  if (inFlag !== undefined && atFlag !== undefined) throw new UsageError('give --expires-in or --expires-at, not both');
  if (flags['no-expiry'] !== undefined) {
    const other = inFlag !== undefined ? '--expires-in' : atFlag !== undefined ? '--expires-at' : undefined;
    if (other) throw new UsageError(`give ${other} or --no-expiry, not both`);
    return { never: true };
  }
  if (typeof inFlag === 'string') {
    const match = /^(\d+)([dhm])$/.exec(inFlag.trim());
    if (!match)
      throw new UsageError(`--expires-in must be a whole number of days, hours or minutes (90d, 12h, 30m), not "${inFlag.slice(0, 40)}"`);
    const amount = Number(match[1]);
    const ms = amount * UNIT_MS[match[2] as keyof typeof UNIT_MS];
    if (amount === 0)
      throw new UsageError(`--expires-in must be more than zero, not "${inFlag}" (leave it out for a token that does not expire)`);
    if (ms > MAX_EXPIRES_IN_DAYS * UNIT_MS.d)
      throw new UsageError(
        `--expires-in must be at most ${MAX_EXPIRES_IN_DAYS}d, not "${inFlag}" (leave it out for a token that does not expire)`,
      );
    return { expiresInMs: ms };
  }
  if (typeof atFlag === 'string') {
    const text = atFlag.trim();
    const at = expiresAtTime(text);
    if (at === null)
      throw new UsageError(`--expires-at must be an ISO 8601 time with its zone, e.g. 2026-01-31T00:00:00Z, not "${atFlag.slice(0, 40)}"`);
    if (at <= now.getTime())
      throw new UsageError(`--expires-at must be in the future, not ${new Date(at).toISOString()} (now ${now.toISOString()})`);
    if (at - now.getTime() > MAX_EXPIRES_IN_DAYS * UNIT_MS.d)
      throw new UsageError(`--expires-at must be within ${MAX_EXPIRES_IN_DAYS} days, not ${new Date(at).toISOString()}`);
    return { expiresAt: new Date(at) };
  }
  return {};
}
