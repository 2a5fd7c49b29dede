import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Proof that a server holds the admin token, without the token crossing the wire. stratctl sends the
 * runtime dir's `admin.token` to loopback URLs only (DESIGN), but any local process may listen on a
 * loopback port: one bound to 8787 while the server was down received the token with the next
 * `stratctl activate`. So before it sends that token, stratctl asks `/health` for a proof: an
 * HMAC-SHA256 of its random challenge and the address and port the server's socket is on, keyed
 * with a key derived from the token.
 *
 * What it binds. The address and port are the server's own (its socket's, not the Host header, which
 * the client writes), and the client compares them with the address and port its own socket reached:
 * a process that passed the challenge on to the real server gets a proof for the real server's
 * address, not its own. The port alone was not enough: a program on `[::1]:8787` or `127.0.0.2:8787`
 * while the server held `127.0.0.1:8787` relayed the challenge and got the token (`--url
 * http://localhost:8787` reaches `::1` first on a dual-stack host). The client then sends the token
 * to that same address, without resolving the name again.
 *
 * What a proof costs a guesser. A proof is an oracle for the token: for a hand-chosen one, guesses
 * checked offline. So the server answers it to loopback peers only (http/probes.ts), and the key is
 * scrypt of the token (~45 ms and 16 MiB a guess, on a core of this machine, against ~1 µs for an
 * HMAC), with a random salt the server picks when the token comes into force and sends with each
 * proof: the server derives the key once per token, the client once per proof it checks.
 */
export const ADMIN_PROOF_CHALLENGE_HEADER = 'x-admin-token-challenge';
export const ADMIN_PROOF_HEADER = 'x-admin-token-proof';

/** A challenge: 32 to 128 lowercase hex digits (the client sends 64: 32 random bytes). */
const CHALLENGE = /^[0-9a-f]{32,128}$/;

/** The proof header: `<salt: 32 hex digits>.<HMAC-SHA256: 64 hex digits>`. */
const PROOF = /^([0-9a-f]{32})\.([0-9a-f]{64})$/;

/** scrypt's cost: N=2^14, r=8 (16 MiB), as for interactive logins; ~45 ms a derivation here. */
const KDF = { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

export const isAdminProofChallenge = (value: unknown): value is string => typeof value === 'string' && CHALLENGE.test(value);

export function newAdminProofChallenge(): string {
  return randomBytes(32).toString('hex');
}

/** A salt for the key derived from one admin token (chosen by the server when the token comes into force). */
export function newAdminProofSalt(): string {
  return randomBytes(16).toString('hex');
}

/** The key a proof is made with: scrypt of the admin token and the salt (slow on purpose: each guess costs as much). */
export function adminProofKey(token: string, salt: string): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(token, `strategy-control-plane admin token proof\n${salt}`, 32, KDF, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/**
 * An address as both ends name it: an IPv4 address a dual-stack socket reports mapped into IPv6
 * (`::ffff:127.0.0.1`, the server's local address when it listens on `::`) is the IPv4 address the
 * client connected to.
 */
export function proofAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? (mapped[1] as string) : address.toLowerCase();
}

const mac = (key: Buffer, challenge: string, address: string, port: number) =>
  createHmac('sha256', key)
    .update(`strategy-control-plane admin token proof v2\n${challenge}\n${proofAddress(address)}\n${port}`)
    .digest('hex');

/** The proof for `challenge` on a server whose socket is `address`:`port`, with the key (adminProofKey) of `salt`. */
export function adminTokenProof(key: Buffer, salt: string, challenge: string, address: string, port: number): string {
  return `${salt}.${mac(key, challenge, address, port)}`;
}

/**
 * `proof` is the one the holder of `token` gives for `challenge` on `address`:`port` (compared in
 * constant time). Anything but a well-formed proof is refused before the key is derived.
 */
export async function isAdminTokenProof(
  proof: string | null,
  token: string,
  challenge: string,
  address: string,
  port: number,
): Promise<boolean> {
  const parts = proof === null ? null : PROOF.exec(proof);
  if (parts === null) return false;
  const [, salt = '', given = ''] = parts;
  const expected = mac(await adminProofKey(token, salt), challenge, address, port);
  return timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(expected, 'hex'));
}
