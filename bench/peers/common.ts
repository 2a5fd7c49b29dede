/**
 * What every peer serves: the data captured from this server's own answers (same strategies,
 * same status values), on the schema this server prints (schema.graphql), with a trivial
 * in-memory activateStrategy so the peers can answer the mutation too (nothing durable).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphQLError } from 'graphql';

export interface PeerData {
  strategies: { key: string }[];
  status: { activeStrategyKey: string; configVersion: number; runner: { state: string } };
  /** Exact request body -> exact response body, as this server answered (plain node:http serves these). */
  answers: { request: string; response: string }[];
}

export const SCHEMA_SDL = readFileSync(fileURLToPath(new URL('../../schema.graphql', import.meta.url)), 'utf8');

export function loadPeerData(): PeerData {
  const file = process.argv[2];
  if (!file) throw new Error(`usage: ${path.basename(process.argv[1] ?? 'peer')} <peer-data.json>`);
  return JSON.parse(readFileSync(file, 'utf8')) as PeerData;
}

/** The in-memory state behind status and the mutation: a key and a version, nothing written. */
export function inMemoryControlPlane(data: PeerData) {
  const keys = new Set(data.strategies.map((s) => s.key));
  let active = data.status.activeStrategyKey;
  let version = data.status.configVersion;
  return {
    status: () => ({ activeStrategyKey: active, configVersion: version, runner: data.status.runner }),
    activate(key: string) {
      if (!keys.has(key)) throw new GraphQLError(`Invalid strategy key: ${key}`, { extensions: { code: 'BAD_USER_INPUT' } });
      const previous = active;
      active = key;
      version += 1;
      return { activeStrategyKey: active, previousStrategyKey: previous, configVersion: version };
    },
  };
}

/** Resolvers in the shape both graphql-tools (yoga's createSchema) and mercurius take. */
export function resolversFor(data: PeerData) {
  const plane = inMemoryControlPlane(data);
  return {
    Query: {
      strategies: () => data.strategies,
      status: () => plane.status(),
    },
    Mutation: {
      activateStrategy: (_root: unknown, args: { strategyKey: string }) => plane.activate(args.strategyKey),
    },
  };
}

/** The one line the bench waits for. */
export function announce(port: number): void {
  process.stdout.write(`peer listening on http://127.0.0.1:${port}/graphql\n`);
}
