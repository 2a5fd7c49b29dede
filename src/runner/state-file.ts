import path from 'node:path';
import { removeStrayTempFiles, writeFileAtomic } from '../fs/atomic-write.js';
import { RuntimeFileRefusedError, readRuntimeBytes } from '../fs/runtime-file.js';
import { watchFile } from '../fs/watch.js';
import { Listeners } from '../listeners.js';
import { type RunnerState, type RunnerStatePublisher, type RunnerStateSource, runnerStateSchema } from './state.js';

export const RUNNER_STATE_FILE = 'runner-state.json';
/** A runner's state is a few KiB; anything far larger is not one (and is not parsed). */
const MAX_RUNNER_STATE_BYTES = 256 * 1024;

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
  const read = await readState(runtimeDir);
  return read === 'refused' ? null : read;
}

/** The state, null when there is none, or 'refused' when what is there is not a runner's state file (a FIFO, a directory, too large). */
async function readState(runtimeDir: string): Promise<RunnerState | null | 'refused'> {
  try {
    const { bytes } = await readRuntimeBytes(path.join(runtimeDir, RUNNER_STATE_FILE), { runtimeDir, maxBytes: MAX_RUNNER_STATE_BYTES });
    const parsed = runnerStateSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch (err) {
    return err instanceof RuntimeFileRefusedError ? 'refused' : null;
  }
}

/**
 * Follows the state file a runner in another process publishes (`stratctl runner`): fs.watch on the
 * directory is the fast path, a periodic re-read catches missed events. Listeners hear every new
 * state (heartbeats included).
 */
export async function fileRunnerStateSource(runtimeDir: string, options: { pollMs?: number } = {}): Promise<RunnerStateSource> {
  const listeners = new Listeners();
  let latest = await readRunnerStateFile(runtimeDir);
  let lastText = JSON.stringify(latest);
  let reading: Promise<void> | null = null;
  let again = false;
  let closed = false;
  const reread = async () => {
    do {
      again = false;
      const read = await readState(runtimeDir);
      // A file refused before it was read changes nothing: the last state seen stays.
      const state = read === 'refused' ? latest : read;
      const text = JSON.stringify(state);
      if (text !== lastText && !closed) {
        lastText = text;
        latest = state;
        listeners.emit();
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
      return listeners.add(listener);
    },
    close() {
      closed = true;
      watch.close();
      listeners.clear();
    },
  };
}
