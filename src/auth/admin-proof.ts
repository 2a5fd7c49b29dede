import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Proof that a server holds the admin token, without the token crossing the wire. stratctl sends the
 * runtime dir's `admin.token` to loopback URLs only (DESIGN), but any local process may listen on a
 * loopback port: one bound to 8787 while the server was down received the token with the next
 * `stratctl activate`. So before it sends that token, stratctl asks `/health` for a proof: an
 * HMAC-SHA256, keyed with the token, of its random challenge and the port the server's socket is on.
 * A process without the token cannot make one. The port is the server's own (its socket's, not the
 * Host header, which the client writes): a process that passed the challenge on to the real server
 * gets a proof for the real server's port, not for its own, and the client refuses it.
 */
export const ADMIN_PROOF_CHALLENGE_HEADER = 'x-admin-token-challenge';
export const ADMIN_PROOF_HEADER = 'x-admin-token-proof';

/** A challenge: 32 to 128 lowercase hex digits (the client sends 64: 32 random bytes). */
const CHALLENGE = /^[0-9a-f]{32,128}$/;

export const isAdminProofChallenge = (value: unknown): value is string => typeof value === 'string' && CHALLENGE.test(value);

export function newAdminProofChallenge(): string {
  return randomBytes(32).toString('hex');
}

/** The proof for `challenge` on a server listening on `port`, with the admin token `token`. */
export function adminTokenProof(token: string, challenge: string, port: number): string {
  return createHmac('sha256', token).update(`strategy-control-plane admin token proof\n${challenge}\n${port}`).digest('hex');
}

/** `proof` is the one the holder of `token` gives for `challenge` on `port` (compared in constant time). */
export function isAdminTokenProof(proof: string | null, token: string, challenge: string, port: number): boolean {
  if (proof === null || !/^[0-9a-f]{64}$/.test(proof)) return false;
  return timingSafeEqual(Buffer.from(proof, 'hex'), Buffer.from(adminTokenProof(token, challenge, port), 'hex'));
}
