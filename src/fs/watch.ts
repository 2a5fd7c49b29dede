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
   * again once `work` has settled. Each event of the write (its temp file made and written, the
   * rename, the audit append) would wake this thread while the write is still under way: three
   * wake-ups of a group write that the receiver then passes over. A change someone else makes in
   * the write's own window is seen by the periodic check instead of by its event. Not nested.
   */
  closedDuring<T>(work: () => Promise<T>): Promise<T>;
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
  return {
    closedDuring: async (work) => {
      const was = watcher;
      was?.close();
      watcher = undefined;
      try {
        return await work();
      } finally {
        if (was && !closed) open();
      }
    },
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
    },
    close: () => {
      closed = true;
      clearInterval(timer);
      watcher?.close();
      watcher = undefined;
    },
  };
}
