import { ADMIN_PROOF_CHALLENGE_HEADER, ADMIN_PROOF_HEADER, isAdminProofChallenge } from '../auth/admin-proof.js';
import { type Exchange, jsonReply } from './exchange.js';
import type { HttpPlane } from './plane.js';
import type { Route } from './router.js';

const PROBE_METHODS = ['GET', 'HEAD'] as const;

const NO_HEADERS: Record<string, string> = {};

/**
 * With a challenge (stratctl's, before it sends the runtime dir's admin token), `/health` proves this
 * process holds the admin token (auth/admin-proof.ts) for the port the request came in on. Without
 * one, or from a process with no admin token, nothing is added.
 */
async function proofHeaders(plane: HttpPlane, exchange: Exchange): Promise<Record<string, string>> {
  const challenge = exchange.req.headers[ADMIN_PROOF_CHALLENGE_HEADER];
  const port = exchange.req.socket.localPort;
  if (!isAdminProofChallenge(challenge) || port === undefined) return NO_HEADERS;
  // Awaited: with admin.token, the token in force after a look at the file (it may have been replaced).
  const proof = await plane.adminTokenProof(challenge, port);
  // The answer differs by the challenge: never stored by a cache between.
  return proof === null ? NO_HEADERS : { [ADMIN_PROOF_HEADER]: proof, 'cache-control': 'no-store' };
}

/** The probes' paths: no answer of theirs reads a token (the failed-auth limit never refuses them). */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/health', '/ready', '/version']);

/**
 * Probes need no token and do no GraphQL. `/health` (liveness): 200 while the process serves.
 * `/ready` (readiness): 503 while the plane says it should not take traffic. `/version`: what is running.
 */
export function probeRoutes(plane: HttpPlane, now: () => number = Date.now): Route[] {
  return [
    {
      path: '/health',
      methods: PROBE_METHODS,
      handle: async (exchange) =>
        jsonReply(200, { status: 'ok', uptimeSeconds: Math.round((now() - plane.startedAt) / 1000) }, await proofHeaders(plane, exchange)),
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
