/**
 * Hands out event-loop turns one at a time, first come first served: each waiter resumes in a turn
 * of its own, with I/O polled in between (a `setImmediate` chain: one scheduled from inside the
 * check phase runs in the next iteration). Work that would otherwise run back to back in one turn
 * (a fan-out of events, a batch of requests that arrived together) takes turns, and a cheap request
 * such as `/health` is answered between them instead of after all of them.
 */
export function turns(): () => Promise<void> {
  const waiting: (() => void)[] = [];
  let scheduled = false;
  const pump = () => {
    const next = waiting.shift();
    if (waiting.length > 0) setImmediate(pump);
    else scheduled = false;
    next?.();
  };
  return () =>
    new Promise((resolve) => {
      waiting.push(resolve);
      if (!scheduled) {
        scheduled = true;
        setImmediate(pump);
      }
    });
}
