import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { removeStrayTempFiles, writeFileAtomic } from '../fs/atomic-write.js';
import { watchFile } from '../fs/watch.js';
import { type RunnerState, type RunnerStatePublisher, type RunnerStateSource, runnerStateSchema } from './state.js';

export const RUNNER_STATE_FILE = 'runner-state.json';

/**
 * Publishes runner state to `<runtimeDir>/runner-state.json` by write-then-rename, so a reader sees
 * a whole state or the previous one. Not fsync'd: the state is rewritten every heartbeat, and after
 * a crash a stale heartbeat is exactly what a reader should see. Publishes are coalesced: the latest
 * wins. The file store has one runner per runtime dir (the runner lock sees to that).
 */
export function fileRunnerStatePublisher(runtimeDir: string): RunnerStatePublisher {
  const file = path.join(runtimeDir, RUNNER_STATE_FILE);
  let draining: Promise<void> | null = null;
  let pending: { state: RunnerState; waiters: (() => void)[] } | null = null;
  // Temp files of a killed runner (a kill between write and rename) go before the first publish.
  let cleaned: Promise<unknown> | null = null;

  const drain = async () => {
    cleaned ??= removeStrayTempFiles(file).catch(() => []);
    await cleaned;
    while (pending) {
      const { state, waiters } = pending;
      pending = null;
      // The runtime dir unwritable or gone: readers will see the heartbeat go stale, which is the truth.
      await writeFileAtomic(file, `${JSON.stringify(state)}\n`, { durable: false }).catch(() => {});
      for (const w of waiters) w();
    }
    draining = null;
  };
  return {
    publish(state) {
      return new Promise<void>((resolve) => {
        if (pending) {
          pending.state = state;
          pending.waiters.push(resolve);
        } else pending = { state, waiters: [resolve] };
        draining ??= drain();
      });
    },
    async close() {
      await draining;
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
 * Follows the state file a runner in another process publishes (`stratctl runner`): fs.watch on the
 * directory is the fast path, a periodic re-read catches missed events. Listeners hear every new
 * state (heartbeats included).
 */
export async function fileRunnerStateSource(runtimeDir: string, options: { pollMs?: number } = {}): Promise<RunnerStateSource> {
  const listeners = new Set<() => void>();
  let latest = await readRunnerStateFile(runtimeDir);
  let lastText = JSON.stringify(latest);
  let reading: Promise<void> | null = null;
  let again = false;
  let closed = false;
  const reread = async () => {
    do {
      again = false;
      const state = await readRunnerStateFile(runtimeDir);
      const text = JSON.stringify(state);
      if (text !== lastText && !closed) {
        lastText = text;
        latest = state;
        for (const listener of listeners) listener();
      }
    } while (again);
    reading = null;
  };
  const watch = watchFile(
    path.join(runtimeDir, RUNNER_STATE_FILE),
    () => {
      if (reading) again = true;
      else reading = reread();
    },
    { pollMs: options.pollMs ?? 500 },
  );
  return {
    list: () => (latest ? [latest] : []),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      watch.close();
      listeners.clear();
    },
  };
}
