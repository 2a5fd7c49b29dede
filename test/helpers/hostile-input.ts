import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { parseConfigFile } from '../../src/config/yaml-document.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { type HostileRequest, hostileRequest } from './hostile-arbitraries.js';
import type { TestServer } from './server.js';

export interface HostileStats {
  tried: number;
  accepted: number;
  refused: number;
  byStatus: Record<number, number>;
  /** Accepted changes per path (/graphql, /api/config, /api/strategy/activate). */
  acceptedByPath: Record<string, number>;
  /** 5xx answers other than the masked internal error (must stay 0). */
  unexpected5xx: number;
  maskedInternal: number;
  /** Refused requests that changed the file, or accepted ones that left it invalid (must stay 0). */
  filesCorrupted: number;
}

export function newStats(): HostileStats {
  return { tried: 0, accepted: 0, refused: 0, byStatus: {}, acceptedByPath: {}, unexpected5xx: 0, maskedInternal: 0, filesCorrupted: 0 };
}

const STACK_LINE = /\n\s+at \S|\(\/[^)]*:\d+:\d+\)|node_modules|file:\/\//;

/**
 * Sends one hostile request and checks the invariants: an answer (no crash), no 5xx but the masked
 * internal error, nothing secret or internal in it, and the config file byte-identical (refused) or
 * valid and at the version answered (accepted). Throws on a violation; counts into `stats`.
 */
export async function sendHostile(server: TestServer, req: HostileRequest, stats: HostileStats): Promise<void> {
  const file = path.join(server.runtimeDir, 'config.yaml');
  const before = await readFile(file);
  const headers: Record<string, string> = { accept: 'application/graphql-response+json, application/json' };
  if (req.contentType) headers['content-type'] = req.contentType;
  if (req.auth === 'admin') headers.authorization = `Bearer ${server.token}`;
  else if (req.auth === 'wrong') headers.authorization = 'Bearer wrong-token-0123456789abcdef';
  else if (req.auth !== 'none') headers.authorization = req.auth.header;
  const res = await fetch(server.origin + req.path + req.search, { method: req.method, headers, body: req.body });
  const text = await res.text();
  stats.tried += 1;
  stats.byStatus[res.status] = (stats.byStatus[res.status] ?? 0) + 1;

  const where = `HTTP ${res.status} for ${JSON.stringify(req).slice(0, 400)}: ${text.slice(0, 400)}`;
  if (text.includes(server.token) || text.includes(server.runtimeDir) || STACK_LINE.test(text)) throw new Error(`leak: ${where}`);
  let answer:
    | {
        data?: Record<string, { config?: { version: number }; configVersion?: number } | null> | null;
        errors?: unknown[];
        // REST answers: the whole config, or the activation, or {"detail"}
        version?: number;
        config_version?: number;
        detail?: string;
      }
    | undefined;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new Error(`not JSON: ${where}`);
  }
  if (text.includes('originalError')) throw new Error(`originalError echoed: ${where}`);
  if (res.status >= 500) {
    const masked =
      JSON.stringify(answer?.errors) ===
        JSON.stringify([{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }]) ||
      JSON.stringify(answer) === JSON.stringify({ detail: 'Unexpected error.' });
    if (masked && res.status === 500) stats.maskedInternal += 1;
    else {
      stats.unexpected5xx += 1;
      throw new Error(`5xx: ${where}`);
    }
  }

  const after = await readFile(file);
  const result = answer?.data?.updateConfig ?? answer?.data?.activateStrategy;
  const answered = result ? (result.config?.version ?? result.configVersion) : (answer?.version ?? answer?.config_version);
  if (res.status === 200 && typeof answered === 'number' && !answer?.errors) {
    stats.accepted += 1;
    stats.acceptedByPath[req.path] = (stats.acceptedByPath[req.path] ?? 0) + 1;
    try {
      const { config } = parseConfigFile(defaultRegistry, file, after.toString('utf8'));
      const version = answered;
      if (config.version !== version) throw new Error(`file at version ${config.version}, answer says ${version}`);
    } catch (err) {
      stats.filesCorrupted += 1;
      throw new Error(`accepted change left the file invalid (${(err as Error).message}): ${where}`);
    }
  } else {
    stats.refused += 1;
    if (!after.equals(before)) {
      stats.filesCorrupted += 1;
      throw new Error(`refused request changed config.yaml: ${where}`);
    }
  }
}

/** Runs `numRuns` hostile requests (fixed seed) against `server`; then checks the server still serves. */
export async function runHostileInput(server: TestServer, options: { numRuns: number; seed: number }): Promise<HostileStats> {
  const stats = newStats();
  await fc.assert(
    fc.asyncProperty(hostileRequest, (req) => sendHostile(server, req, stats)),
    { numRuns: options.numRuns, seed: options.seed, endOnFailure: true },
  );
  const health = await fetch(`${server.origin}/health`);
  if (health.status !== 200) throw new Error(`server unhealthy after the run: ${health.status}`);
  return stats;
}
