/** Polls `probe` until it returns a value that passes `accept`, or fails with the last value seen. */
export async function waitUntil<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  { timeoutMs = 10_000, intervalMs = 20, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  // The monotonic clock: this VM's wall clock was seen to step ahead (a wait reported "timed out after
  // 10000 ms" in a test that vitest timed at 3.3 s, CI on 0efd174).
  const deadline = performance.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (accept(last)) return last;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
