import { isIPv4 } from 'node:net';
import { ADMIN_PROOF_CHALLENGE_HEADER, ADMIN_PROOF_HEADER, isAdminProofChallenge } from '../auth/admin-proof.js';
import { clientOfAddress } from './client-key.js';
import { type Exchange, jsonReply } from './exchange.js';
import type { HttpPlane } from './plane.js';
import type { Route } from './router.js';

const PROBE_METHODS = ['GET', 'HEAD'] as const;

const NO_HEADERS: Record<string, string> = {};

/** Headers a proxy adds: a request that carries one came through something in front, whoever it came from. */
const FORWARDED_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip', 'via'] as const;

/** A peer on this machine: 127.0.0.0/8 or ::1 (an IPv4 one as a dual-stack socket reports it, too). */
function loopbackPeer(address: string | undefined): boolean {
  const client = clientOfAddress(address);
  return client === '::1' || (isIPv4(client) && client.startsWith('127.'));
}

/**
 * With a challenge (stratctl's, before it sends the runtime dir's admin token), `/health` proves this
 * process holds the admin token (auth/admin-proof.ts) for the address and port the request came in
 * on. Only to a peer on this machine, straight to this socket: stratctl sends admin.token to loopback
 * URLs only, and to anyone else the proof was an offline guessing oracle for the token that the
 * failed-auth limit never saw. So none behind a TLS proxy (every client arrives from it, so from a
 * loopback address when it runs on this machine), none to a request a proxy forwarded, and none when
 * the admin token is CONTROL_PLANE_TOKEN (the plane's adminTokenProof). Otherwise nothing is added.
 */
async function proofHeaders(plane: HttpPlane, exchange: Exchange, behindTlsProxy: boolean): Promise<Record<string, string>> {
  const { headers, socket } = exchange.req;
  const challenge = headers[ADMIN_PROOF_CHALLENGE_HEADER];
  if (!isAdminProofChallenge(challenge) || behindTlsProxy) return NO_HEADERS;
  if (FORWARDED_HEADERS.some((name) => headers[name] !== undefined)) return NO_HEADERS;
  const { localAddress, localPort, remoteAddress } = socket;
  if (localAddress === undefined || localPort === undefined || !loopbackPeer(remoteAddress)) return NO_HEADERS;
  // Awaited: with admin.token, the token in force after a look at the file (it may have been replaced).
  const proof = await plane.adminTokenProof(challenge, localAddress, localPort);
  // The answer differs by the challenge: never stored by a cache between.
  return proof === null ? NO_HEADERS : { [ADMIN_PROOF_HEADER]: proof, 'cache-control': 'no-store' };
}

/** The probes' paths: no answer of theirs reads a token (the failed-auth limit never refuses them). */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/health', '/ready', '/version']);

/**
 * Probes need no token and do no GraphQL. `/health` (liveness): 200 while the process serves.
 * `/ready` (readiness): 503 while the plane says it should not take traffic. `/version`: what is running.
 */
export function probeRoutes(plane: HttpPlane, now: () => number = Date.now, options: { behindTlsProxy?: boolean } = {}): Route[] {
  const behindTlsProxy = options.behindTlsProxy ?? false;
  return [
    {
      path: '/health',
      methods: PROBE_METHODS,
      handle: async (exchange) =>
        jsonReply(
          200,
          { status: 'ok', uptimeSeconds: Math.round((now() - plane.startedAt) / 1000) },
          await proofHeaders(plane, exchange, behindTlsProxy),
        ),
    },
    {
      path: '/ready',
      methods: PROBE_METHODS,
      handle: async () => {
        const readiness = await plane.readiness();
        return jsonReply(readiness.ready ? 200 : 503, readiness);
      },
    },
    { path: '/version', methods: PROBE_METHODS, handle: async () => jsonReply(200, plane.versionInfo()) },
  ];
}
