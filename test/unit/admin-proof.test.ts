import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  adminProofKey,
  adminTokenProof,
  isAdminProofChallenge,
  isAdminTokenProof,
  newAdminProofChallenge,
  newAdminProofSalt,
  proofAddress,
} from '../../src/auth/admin-proof.js';

const TOKEN = 'the-admin-token-0123456789abcdef';

describe('the admin-token proof (auth/admin-proof.ts)', () => {
  it('the holder of the token proves it for a challenge, an address and a port; nothing else passes', async () => {
    const challenge = newAdminProofChallenge();
    expect(isAdminProofChallenge(challenge)).toBe(true);
    const salt = newAdminProofSalt();
    const proof = adminTokenProof(await adminProofKey(TOKEN, salt), salt, challenge, '127.0.0.1', 8787);
    expect(proof).toMatch(/^[0-9a-f]{32}\.[0-9a-f]{64}$/);
    expect(proof.startsWith(`${salt}.`)).toBe(true);
    expect(proof).not.toContain(TOKEN);
    expect(await isAdminTokenProof(proof, TOKEN, challenge, '127.0.0.1', 8787)).toBe(true);
    // The address a dual-stack server's socket reports for an IPv4 client is that IPv4 address.
    expect(await isAdminTokenProof(proof, TOKEN, challenge, '::ffff:127.0.0.1', 8787)).toBe(true);
    // Another address with the same port (a relay on [::1]:8787 or 127.0.0.2:8787), another port,
    // another token, another challenge (a replay), or nothing at all.
    for (const address of ['127.0.0.2', '::1', '::ffff:127.0.0.2']) {
      expect(await isAdminTokenProof(proof, TOKEN, challenge, address, 8787), address).toBe(false);
    }
    expect(await isAdminTokenProof(proof, TOKEN, challenge, '127.0.0.1', 8788)).toBe(false);
    expect(await isAdminTokenProof(proof, `${TOKEN}x`, challenge, '127.0.0.1', 8787)).toBe(false);
    expect(await isAdminTokenProof(proof, TOKEN, newAdminProofChallenge(), '127.0.0.1', 8787)).toBe(false);
    expect(await isAdminTokenProof(null, TOKEN, challenge, '127.0.0.1', 8787)).toBe(false);
    expect(await isAdminTokenProof(proof.toUpperCase(), TOKEN, challenge, '127.0.0.1', 8787)).toBe(false);
    expect(await isAdminTokenProof(`${proof}00`, TOKEN, challenge, '127.0.0.1', 8787)).toBe(false);
    expect(await isAdminTokenProof(proof.slice(33), TOKEN, challenge, '127.0.0.1', 8787)).toBe(false);
    expect(await isAdminTokenProof(TOKEN, TOKEN, challenge, '127.0.0.1', 8787)).toBe(false);
  });

  it('a guess costs a key derivation (scrypt), not one HMAC keyed with the token; each salt gives another key', async () => {
    const challenge = newAdminProofChallenge();
    const salt = newAdminProofSalt();
    const key = await adminProofKey(TOKEN, salt);
    const proof = adminTokenProof(key, salt, challenge, '127.0.0.1', 8787);
    const mac = proof.slice(33);
    // The proof of before (HMAC-SHA256 keyed with the token itself, ~1 µs a guess), with and without the address.
    for (const message of [
      `strategy-control-plane admin token proof\n${challenge}\n8787`,
      `strategy-control-plane admin token proof v2\n${challenge}\n127.0.0.1\n8787`,
    ]) {
      expect(createHmac('sha256', TOKEN).update(message).digest('hex')).not.toBe(mac);
    }
    expect(key).toHaveLength(32);
    expect(key.equals(await adminProofKey(TOKEN, salt))).toBe(true);
    expect(key.equals(await adminProofKey(TOKEN, newAdminProofSalt()))).toBe(false);
    expect(key.equals(Buffer.from(TOKEN))).toBe(false);
  });

  it('addresses as both ends name them', () => {
    expect(proofAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(proofAddress('::FFFF:127.0.0.2')).toBe('127.0.0.2');
    expect(proofAddress('127.0.0.1')).toBe('127.0.0.1');
    expect(proofAddress('::1')).toBe('::1');
  });

  it('challenges are fresh, and only lowercase hex of 32 to 128 digits is one', () => {
    expect(newAdminProofChallenge()).not.toBe(newAdminProofChallenge());
    expect(newAdminProofSalt()).not.toBe(newAdminProofSalt());
    expect(isAdminProofChallenge('a'.repeat(32))).toBe(true);
    expect(isAdminProofChallenge('a'.repeat(128))).toBe(true);
    for (const bad of ['a'.repeat(31), 'a'.repeat(129), 'A'.repeat(64), `${'a'.repeat(63)}g`, '', undefined, ['a'.repeat(64)]]) {
      expect(isAdminProofChallenge(bad), String(bad)).toBe(false);
    }
  });
});
