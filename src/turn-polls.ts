/**
 * Replies that should not wait for the event loop's next turn (issue 10, item 4: writes first).
 *
 * A thread's reply (the file store's I/O thread answering a write) is delivered by the event loop
 * in its poll phase, so it waits for the turn in progress to end and the next one to reach it.
 * Under a read storm a turn answers every connection that has a request waiting: 200 readers make
 * it ~4 ms, and the reply of a write that took the I/O thread 2 ms was handled two turns, ~8 ms,
 * after it was asked for. An activation during the storm took ~15 ms (median) for ~2 ms of work.
 *
 * So a source with a reply due registers a poll here, and the HTTP adapter runs the polls as each
 * request arrives (`runTurnPolls`): a reply that is there is handled between two requests of the
 * same turn, and the answer it lets go is written as soon as the request being read returns. With
 * nothing due, the cost per request is one comparison.
 */

const polls = new Set<() => void>();

/** Runs `poll` as each request arrives until `stop` is called (idempotent). */
export function pollEachRequest(poll: () => void): () => void {
  polls.add(poll);
  return () => {
    polls.delete(poll);
  };
}

/** Whether any poll is registered (a read of a size: the adapter checks it before every request). */
export function turnPollsDue(): boolean {
  return polls.size > 0;
}

/** Runs every registered poll; a poll's own failure is its own to handle (it must not throw). */
export function runTurnPolls(): void {
  for (const poll of polls) poll();
}
