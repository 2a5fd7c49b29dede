import { randomBytes } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type RunnerState, type RunnerStateChannel, type RunnerStatePublisher, runnerStateSchema } from './state.js';

export const RUNNER_STATE_FILE = 'runner-state.json';

/**
 * Publishes runner state to `<runtimeDir>/runner-state.json` by write-then-rename, so a reader sees
 * a whole state or the previous one. No fsync: the state is rewritten every heartbeat, and after a
 * crash a stale heartbeat is exactly what a reader should see. Publishes are coalesced: the latest wins.
 */
export function fileRunnerStatePublisher(runtimeDir: string): RunnerStatePublisher {
  const file = path.join(runtimeDir, RUNNER_STATE_FILE);
  let draining = false;
  let pending: { state: RunnerState; waiters: (() => void)[] } | null = null;

  const writeOnce = async (state: RunnerState) => {
    const temp = path.join(runtimeDir, `.${RUNNER_STATE_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await writeFile(temp, `${JSON.stringify(state)}\n`, { mode: 0o644 });
      await rename(temp, file);
    } catch {
      // The runtime dir is unwritable or gone: readers will see the heartbeat go stale, which is the truth.
      await unlink(temp).catch(() => {});
    }
  };
  const drain = async () => {
    while (pending) {
      const { state, waiters } = pending;
      pending = null;
      await writeOnce(state);
      for (const w of waiters) w();
    }
    draining = false;
  };
  return {
    publish(state) {
      return new Promise<void>((resolve) => {
        if (pending) {
          pending.state = state;
          pending.waiters.push(resolve);
        } else pending = { state, waiters: [resolve] };
        if (!draining) {
          draining = true;
          void drain();
        }
      });
    },
  };
}

/** Reads a state file; null when it is missing or unreadable (a reader treats both as no runner). */
export async function readRunnerStateFile(runtimeDir: string): Promise<RunnerState | null> {
  try {
    const parsed = runnerStateSchema.safeParse(JSON.parse(await readFile(path.join(runtimeDir, RUNNER_STATE_FILE), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * Follows a runner's state file from another process: fs.watch on the directory is the fast path,
 * a periodic re-read catches missed events. Listeners hear every new state (heartbeats included).
 */
export async function watchRunnerStateFile(runtimeDir: string, options: { pollMs?: number } = {}): Promise<RunnerStateChannel> {
  const listeners = new Set<(state: RunnerState | null) => void>();
  let latest = await readRunnerStateFile(runtimeDir);
  let lastText = JSON.stringify(latest);
  let reading = false;
  let again = false;
  let closed = false;
  const reread = async () => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    do {
      again = false;
      const state = await readRunnerStateFile(runtimeDir);
      const text = JSON.stringify(state);
      if (text !== lastText && !closed) {
        lastText = text;
        latest = state;
        for (const listener of listeners) listener(state);
      }
    } while (again);
    reading = false;
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(runtimeDir, { persistent: false }, (_event, name) => {
      if (name === null || name === RUNNER_STATE_FILE) void reread();
    });
    watcher.on('error', () => {
      watcher?.close();
      watcher = undefined;
    });
  } catch {
    watcher = undefined; // polling alone still converges
  }
  const timer = setInterval(() => void reread(), options.pollMs ?? 500);
  timer.unref();
  return {
    latest: () => latest,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      clearInterval(timer);
      watcher?.close();
      listeners.clear();
    },
  };
}
