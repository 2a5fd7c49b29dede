/** Starts the three peers, each in its own process, on the data this server actually answers. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { RunningServer } from '../lib/control-plane.js';
import { groupFloorDirIn } from '../lib/group-write.js';
import { postGraphQL, QUERIES } from '../lib/http.js';
import { type Child, SERVER_ENV, spawnLogged, waitForLog } from '../lib/processes.js';
import type { PeerData } from '../peers/common.js';

export const PEERS = ['yoga', 'mercurius', 'plain'] as const;
export type PeerName = (typeof PEERS)[number];
export type Target = 'ours' | PeerName;

export interface Peer {
  name: PeerName;
  child: Child;
  url: string;
  /** The plain peer started with `durable`: its `POST /durable` (bench/peers/plain.ts). */
  durableUrl?: string;
}

/** The request bodies the load sends, byte for byte (the plain peer looks its answer up by them). */
export const READ_BODIES = {
  strategies: JSON.stringify({ query: QUERIES.strategies }),
  status: JSON.stringify({ query: QUERIES.status }),
} as const;

/** Calls of startPeers in this process (each start's files are named apart). */
let startsSoFar = 0;

/**
 * @param options.durable the plain peer also answers `POST /durable` (the activation's bytes after
 *   one group commit's disk work in a directory of its own under `tmp`, on a worker thread:
 *   bench/lib/group-write.ts); its URL is the peer's `durableUrl`
 */
export async function startPeers(
  tmp: string,
  ours: RunningServer,
  notes: string[],
  names: readonly PeerName[] = PEERS,
  options: { durable?: boolean } = {},
): Promise<Peer[]> {
  const answers: PeerData['answers'] = [];
  const data: Record<string, any> = {};
  for (const [name, body] of Object.entries(READ_BODIES)) {
    const answer = await postGraphQL(ours.url, JSON.parse(body));
    if (answer.status !== 200 || !answer.body?.data) throw new Error(`${name}: this server answered HTTP ${answer.status}: ${answer.text}`);
    answers.push({ request: body, response: answer.text });
    data[name] = answer.body.data[name];
  }
  const peerData: PeerData = { strategies: data.strategies, status: data.status, answers };
  // Files of their own for each start: a peer's URL is read from its log, and a log appended to by an
  // earlier start (the same server's peers, started again) would give the earlier peer's URL.
  startsSoFar += 1;
  const tag = `${path.basename(ours.runtimeDir)}-${startsSoFar}`;
  const file = path.join(tmp, `peer-data-${tag}.json`);
  await writeFile(file, JSON.stringify(peerData));
  const durableDir = options.durable ? groupFloorDirIn(await mkdtemp(path.join(tmp, `plain-durable-${tag}-`))) : undefined;

  const peers = await Promise.all(
    names.map(async (name) => {
      const durable = name === 'plain' && durableDir ? [durableDir] : [];
      const child = spawnLogged(process.execPath, ['--import', 'tsx', `bench/peers/${name}.ts`, file, ...durable], {
        log: path.join(tmp, `peer-${name}-${tag}.log`),
        env: SERVER_ENV,
      });
      const match = await waitForLog(child, /peer listening on (http:\/\/\S+)/);
      const url = match[1]!;
      return { name, child, url, ...(durable.length > 0 && { durableUrl: url.replace(/\/graphql$/, '/durable') }) };
    }),
  );
  // Same data, checked rather than assumed: every peer's answer to each read equals this server's.
  for (const peer of peers) {
    for (const { request, response } of answers) {
      const answer = await postGraphQL(peer.url, JSON.parse(request));
      const ourData = JSON.parse(response).data;
      if (answer.status !== 200 || !isDeepStrictEqual(answer.body?.data, ourData)) {
        throw new Error(`peer ${peer.name} answers ${request} differently:\n  ours:   ${response}\n  theirs: ${answer.text}`);
      }
      if (answer.text !== response) notes.push(`peer ${peer.name}: same data as ours for ${request}, but not the same bytes`);
    }
  }
  return peers;
}
