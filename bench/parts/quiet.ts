/**
 * An activation after a quiet spell, as an operator makes one by hand: the server has had a burst
 * of load and then nothing for long enough that it gave memory back (its compacting collection and
 * the file store's I/O thread let go, six quiet seconds after a busy one). Each activation on a new
 * connection, like `stratctl activate`; the second right after the first.
 */
import { startServer } from '../lib/control-plane.js';
import { activationOf, keyCycle, postGraphQL, QUERIES } from '../lib/http.js';
import { runLoad } from '../lib/load.js';
import { stop } from '../lib/processes.js';
import type { Row } from '../lib/report.js';
import { formatMs } from '../lib/stats.js';
import { READ_BODIES } from './peers.js';

/** The burst before each quiet spell (reads, s) and the spell itself (s): past the six quiet seconds after which the thread is let go. */
export const QUIET = { burstSeconds: 3, quietSeconds: 9 } as const;

export interface QuietFigures {
  first: number[];
  second: number[];
}

export async function activationAfterQuiet(tmp: string, rounds: number): Promise<QuietFigures> {
  const server = await startServer(tmp, 'quiet');
  const first: number[] = [];
  const second: number[] = [];
  const next = keyCycle();
  const activate = async () => {
    const answer = await postGraphQL(server.url, { query: QUERIES.activate, variables: { k: next() } });
    const a = activationOf(answer);
    if (!a.ok) throw new Error(`activation refused: ${a.reason}`);
    return answer.ms;
  };
  try {
    for (let i = 0; i < rounds; i++) {
      await runLoad({ url: server.url, connections: 50, duration: QUIET.burstSeconds, body: READ_BODIES.strategies });
      await new Promise((r) => setTimeout(r, QUIET.quietSeconds * 1000));
      first.push(await activate());
      second.push(await activate());
    }
  } finally {
    await stop(server.child);
  }
  return { first, second };
}

export function quietRows(f: QuietFigures): Row[] {
  const list = (xs: number[]) => xs.map(formatMs).join(', ');
  return [
    {
      figure: `activation after a quiet spell (${QUIET.burstSeconds} s of reads, then ${QUIET.quietSeconds} s idle: memory given back, the I/O thread let go), new connection each`,
      ours: `first: ${list(f.first)} ms; the one right after it: ${list(f.second)} ms (${f.first.length} spells)`,
      verdict: 'no target',
    },
  ];
}
