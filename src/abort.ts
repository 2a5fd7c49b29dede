/**
 * A start that waits (a runtime-dir lock held by a process that cannot be checked by its pid, an
 * etcd that does not answer) gives up at once when a stop signal comes, instead of finishing the
 * start and then stopping: Ctrl-C during such a wait took up to 10 s and wrote the files a start
 * writes (admin token, default config) before the process stopped.
 */
export class StartAbortedError extends Error {
  override name = 'StartAbortedError';
  constructor(readonly reason: string) {
    super(`start-up stopped (${reason}) before it finished`);
  }
}

/** Throws StartAbortedError if `signal` is aborted (its reason names the signal). */
export function throwIfStartAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new StartAbortedError(String(signal.reason ?? 'aborted'));
}

/** Waits `ms`, or less if `signal` is aborted meanwhile (then resolves at once; the caller checks). */
export function pauseUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * `work`'s outcome, or StartAbortedError as soon as `signal` is aborted; then `abandon` runs (it
 * closes what `work` opened, whenever that settles).
 */
export function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined, abandon: () => void): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      abandon();
      reject(new StartAbortedError(String(signal.reason ?? 'aborted')));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
