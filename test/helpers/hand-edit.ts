/** What the hand-edit tests (written in place, through a missing file) watch while a person writes a file. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { SettleTimes } from '../../src/fs/settle.js';
import type { TestServer } from './server.js';

/**
 * The settle window for an in-process server whose files a test writes in pieces, 30-40 ms apart:
 * wide enough that a test process stalled on a loaded machine (150 ms and more, seen on CI) does not
 * leave a piece still for the window, which the server would rightly take as the edit. Spawned
 * servers keep the default (SETTLE_MS), as do the tests of the window itself.
 */
export const WIDE_SETTLE: Required<SettleTimes> = { ms: 800, maxMs: 4000 };

export interface AuditLine {
  subject: 'CONFIG' | 'PRESETS';
  version: number;
  digest: string;
  operation: string;
}

/** audit.log's lines, parsed, in order. */
export const auditLines = async (dir: string): Promise<AuditLine[]> =>
  (await readFile(path.join(dir, 'audit.log'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as AuditLine);

/** Asks `probe` over and over (`pauseMs` apart) until stopped; the answers it got, in order. */
export function keepAsking<T>(probe: () => Promise<T>, pauseMs = 20): () => Promise<T[]> {
  const seen: T[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      seen.push(await probe());
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return async () => {
    on = false;
    await loop;
    return seen;
  };
}

/** GET /ready's status, as a probe for keepAsking. */
export const readyStatus = (server: TestServer) => async () => (await fetch(`${server.origin}/ready`)).status;

/** A metric's value from GET /metrics (reads are public here). */
export async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.origin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no ${name} in /metrics`);
  return Number(line.split(' ')[1]);
}
