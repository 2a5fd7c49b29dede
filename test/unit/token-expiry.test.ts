import { describe, expect, it } from 'vitest';
import { rotatedExpiry, type StoredToken } from '../../src/auth/token-store.js';
import { expiryFlags } from '../../src/cli/token-expiry.js';

const now = new Date('2026-06-01T00:00:00.000Z');
const token = (createdAt: string, expiresAt?: string): StoredToken => ({
  name: 'ci',
  scope: 'read',
  sha256: 'a'.repeat(64),
  createdAt,
  ...(expiresAt !== undefined && { expiresAt }),
});

describe('the expiry a rotation writes (both stores call rotatedExpiry)', () => {
  it('--no-expiry: none, whatever the old secret had; without a flag the old lifetime, from now', () => {
    const ninetyDays = token('2026-01-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z');
    expect(rotatedExpiry(ninetyDays, now, expiryFlags({ 'no-expiry': true }, now))).toBeUndefined();
    expect(rotatedExpiry(ninetyDays, now, expiryFlags({}, now))).toBe('2026-08-30T00:00:00.000Z');
  });

  it('a hand-written record with no lifetime to keep: refused, naming every way out; --no-expiry is one', () => {
    const broken = token('not a time', '2026-04-01T00:00:00.000Z');
    expect(() => rotatedExpiry(broken, now)).toThrow(/give --expires-in, --expires-at or --no-expiry$/);
    expect(rotatedExpiry(broken, now, expiryFlags({ 'no-expiry': true }, now))).toBeUndefined();
  });

  it('--no-expiry with --expires-in or --expires-at: refused, naming both', () => {
    expect(() => expiryFlags({ 'no-expiry': true, 'expires-in': '1d' }, now)).toThrow('give --expires-in or --no-expiry, not both');
    expect(() => expiryFlags({ 'no-expiry': true, 'expires-at': '2030-01-01T00:00:00Z' }, now)).toThrow(
      'give --expires-at or --no-expiry, not both',
    );
  });
});
