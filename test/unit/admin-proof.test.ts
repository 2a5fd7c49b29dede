import { describe, expect, it } from 'vitest';
import { adminTokenProof, isAdminProofChallenge, isAdminTokenProof, newAdminProofChallenge } from '../../src/auth/admin-proof.js';

const TOKEN = 'the-admin-token-0123456789abcdef';

describe('the admin-token proof (auth/admin-proof.ts)', () => {
  it('the holder of the token proves it for a challenge and a port; nothing else passes', () => {
    const challenge = newAdminProofChallenge();
    expect(isAdminProofChallenge(challenge)).toBe(true);
    const proof = adminTokenProof(TOKEN, challenge, 8787);
    expect(proof).toMatch(/^[0-9a-f]{64}$/);
    expect(proof).not.toContain(TOKEN);
    expect(isAdminTokenProof(proof, TOKEN, challenge, 8787)).toBe(true);
    // Another port (a relay), another token, another challenge (a replay), or nothing at all.
    expect(isAdminTokenProof(proof, TOKEN, challenge, 8788)).toBe(false);
    expect(isAdminTokenProof(proof, `${TOKEN}x`, challenge, 8787)).toBe(false);
    expect(isAdminTokenProof(proof, TOKEN, newAdminProofChallenge(), 8787)).toBe(false);
    expect(isAdminTokenProof(null, TOKEN, challenge, 8787)).toBe(false);
    expect(isAdminTokenProof(proof.toUpperCase(), TOKEN, challenge, 8787)).toBe(false);
    expect(isAdminTokenProof(`${proof}00`, TOKEN, challenge, 8787)).toBe(false);
    expect(isAdminTokenProof(TOKEN, TOKEN, challenge, 8787)).toBe(false);
  });

  it('challenges are fresh, and only lowercase hex of 32 to 128 digits is one', () => {
    expect(newAdminProofChallenge()).not.toBe(newAdminProofChallenge());
    expect(isAdminProofChallenge('a'.repeat(32))).toBe(true);
    expect(isAdminProofChallenge('a'.repeat(128))).toBe(true);
    for (const bad of ['a'.repeat(31), 'a'.repeat(129), 'A'.repeat(64), `${'a'.repeat(63)}g`, '', undefined, ['a'.repeat(64)]]) {
      expect(isAdminProofChallenge(bad), String(bad)).toBe(false);
    }
  });
});
