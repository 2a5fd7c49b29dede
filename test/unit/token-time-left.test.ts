import { describe, expect, it } from 'vitest';
import { tokenDigest } from '../../src/auth/token-file.js';
import type { StoredToken, TokenStore } from '../../src/auth/token-store.js';
import { scopedAuthenticator, timeLeft } from '../../src/auth/tokens.js';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;

describe('the expiry warning says the time left in a unit that fits (it was hours rounded up: 14 s read "in 1 h")', () => {
  it('seconds under a minute, minutes under an hour, hours under two days, days above; rounded down', () => {
    const cases: [number, string][] = [
      [200, '1 s'],
      [14 * S, '14 s'],
      [59.9 * S, '59 s'],
      [MIN, '1 min'],
      [59 * MIN + 59 * S, '59 min'],
      [H, '1 h'],
      [47 * H + 59 * MIN, '47 h'],
      [2 * D, '2 d'],
      [6.9 * D, '6 d'],
      [7 * D, '7 d'],
    ];
    expect(cases.map(([ms]) => timeLeft(ms))).toEqual(cases.map(([, said]) => said));
  });

  it('in the log line of a token used 14 s before its expiry (the server clock injected)', async () => {
    const token = 'ci-token-0123456789abcdefghijklmnop';
    const expiresAt = '2030-01-01T00:00:00.000Z';
    const stored: StoredToken = { name: 'ci', scope: 'read', sha256: tokenDigest(token), createdAt: '2029-01-01T00:00:00.000Z', expiresAt };
    const tokens: TokenStore = {
      list: async () => [stored],
      create: async () => {
        throw new Error('not used');
      },
      revoke: async () => false,
      rotate: async () => null,
      restore: async () => false,
      find: async (sha256) => (sha256 === stored.sha256 ? stored : undefined),
      close: async () => {},
    };
    const said: string[] = [];
    const now = Date.parse(expiresAt) - 14 * S;
    const auth = scopedAuthenticator({ adminToken: 'admin-token-0123456789abcdef', tokens, now: () => now, warn: (m) => said.push(m) });
    expect(await auth.authenticate(`Bearer ${token}`)).toMatchObject({ kind: 'valid', identity: { name: 'ci' } });
    expect(said).toEqual([
      `named token "ci" expires at ${expiresAt} (in 14 s): rotate it ("stratctl token rotate ci") and give the new secret to whoever uses it`,
    ]);
  });
});
