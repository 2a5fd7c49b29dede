import { type FSWatcher, watch } from 'node:fs';
import path from 'node:path';

export interface FileWatch {
  /**
   * Ignore events (the periodic check too) until resumed: used by tests to simulate a missed event.
   * A hint delivered before the pause may still have work queued (a store refresh): settle it first.
   */
  pause(): void;
  resume(): void;
  close(): void;
  /**
   * Runs `work` (a write of the receiver's own) with the directory's watch closed, and opens it
   * again a timer's turn after `work` has settled. Each event of the write (its temp file made and
   * written, the rename, the audit append) would wake this thread while the write is still under
   * way: three wake-ups of a group write that the receiver then passes over. A change someone else
   * makes while the watch is closed raises no event: the receiver looks when it is open again
   * (`reopened`; the file store stats what it wrote), and the periodic check sees the rest.
   * Opened again later, not as `work` settles: the watch's start took 0.32 ms (p50) of an
   * activation's round trip in the bench's loop, right after the I/O thread's reply, before the
   * answer went out. Now the answers the write settles go out first (they are written at the end of
   * this turn), and a write that follows within that turn finds the watch still closed and keeps it
   * so. Not nested.
   */
  closedDuring<T>(work: () => Promise<T>): Promise<T>;
  /** Settles once the watch is open again after `closedDuring` (at once when it is not waiting to be, or is closed for good). */
  reopened(): Promise<void>;
}

/**
 * Calls `onHint` when `file` (or any of `files`, all in one directory) may have changed: on
 * fs.watch events for the directory (so an atomic rename over it is seen) and on a timer, so a
 * missed event is never a missed change. A hint is only a hint; the receiver re-reads and compares
 * (level-triggered). It names the file an event named, and null for the timer's (or an event that
 * named no file): a receiver may pass over an event of its own write, never the timer's.
 */
export function watchFile(file: string | readonly string[], onHint: (name: string | null) => void, options: { pollMs: number }): FileWatch {
  const files = typeof file === 'string' ? [file] : file;
  const dir = path.dirname(files[0] ?? '.');
  const names = new Set(files.map((f) => path.basename(f)));
  let paused = false;
  let closed = false;
  let watcher: FSWatcher | undefined;
  const hint = (name: string | null) => {
    if (!paused) onHint(name);
  };
  const open = () => {
    try {
      const opened = watch(dir, { persistent: false }, (_event, name) => {
        if (name === null || names.has(name)) hint(name);
      });
      watcher = opened;
      opened.on('error', () => {
        // The directory went away or the watch broke: the timer below still converges.
        opened.close();
        if (watcher === opened) watcher = undefined;
      });
    } catch {
      watcher = undefined; // no inotify here (or out of watches): polling alone still converges
    }
  };
  open();
  const timer = setInterval(() => hint(null), options.pollMs);
  timer.unref();
  /** The watch's opening after a `closedDuring`, due at the next timers phase (null: none due), and who waits for it. */
  let reopen: NodeJS.Timeout | null = null;
  const reopenWaiters: (() => void)[] = [];
  const reopenNow = () => {
    reopen = null;
    if (!closed) open();
    for (const waiter of reopenWaiters.splice(0)) waiter();
  };
  return {
    closedDuring: async (work) => {
      const wanted = watcher !== undefined || reopen !== null;
      if (reopen) clearTimeout(reopen);
      reopen = null;
      watcher?.close();
      watcher = undefined;
      try {
        return await work();
      } finally {
        if (wanted && !closed) {
          reopen = setTimeout(reopenNow, 0);
          reopen.unref();
        } else for (const waiter of reopenWaiters.splice(0)) waiter();
      }
    },
    reopened: () => (reopen === null ? Promise.resolve() : new Promise<void>((resolve) => reopenWaiters.push(resolve))),
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
    },
    close: () => {
      closed = true;
      clearInterval(timer);
      if (reopen) {
        clearTimeout(reopen);
        reopenNow();
      }
      watcher?.close();
      watcher = undefined;
    },
  };
}
