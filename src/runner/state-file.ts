import path from 'node:path';
import { removeStrayTempFiles, writeFileAtomic } from '../fs/atomic-write.js';
import { RuntimeFileRefusedError, readRuntimeBytes } from '../fs/runtime-file.js';
import { watchFile } from '../fs/watch.js';
import { Listeners } from '../listeners.js';
import type { Say } from '../log.js';
import { parseRunnerStateText, type RunnerState, type RunnerStatePublisher, type RunnerStateSource } from './state.js';

export const RUNNER_STATE_FILE = 'runner-state.json';
/** A runner's state is a few KiB; anything far larger is not one (and is not parsed). */
const MAX_RUNNER_STATE_BYTES = 256 * 1024;

export interface FileRunnerStatePublisherOptions {
  /**
   * At most one write per this many ms: the first state after a quiet spell is written at once,
   * later ones wait for the interval and only the latest of them is written (default 0: every
   * state as it comes). For a runner inside the API process, whose readers are in process: the
   * file is a record for people and tools there, not the channel, and two writes per activation
   * (applied, then the scan) were a fifth of the server's CPU on an activation's path.
   */
  minIntervalMs?: number;
  /**
   * Told when a write fails (once, until one succeeds again). Readers then see the heartbeat go
   * stale, which is the truth; without a line in the runner's log, the one running the runner (which
   * scans on, fine) had nothing to say why.
   */
  warn?: Say;
  /** Told when writing works again after `warn`: the end of the spell, at INFO (an end said at WARN kept the alert firing). */
  info?: Say;
  /**
   * The API of this process reads the runner's state in process (serve's embedded runner): it shows
   * the runner as it is whatever the file holds, so a failed write leaves only the file (and whoever
   * reads it directly) behind. Its warning said "the API will show this runner STALE", while the
   * API showed it RUNNING and /ready stayed 200.
   */
  readInProcess?: boolean;
}

/**
 * Publishes runner state to `<runtimeDir>/runner-state.json` by write-then-rename, so a reader sees
 * a whole state or the previous one. Not fsync'd: the state is rewritten every heartbeat, and after
 * a crash a stale heartbeat is exactly what a reader should see. Publishes are coalesced: the latest
 * wins. The file store has one runner per runtime dir (the runner lock sees to that). `close()`, or
 * a stopped state, writes what still waits for its interval at once.
 */
export function fileRunnerStatePublisher(runtimeDir: string, options: FileRunnerStatePublisherOptions = {}): RunnerStatePublisher {
  const file = path.join(runtimeDir, RUNNER_STATE_FILE);
  const minIntervalMs = options.minIntervalMs ?? 0;
  let draining: Promise<void> | null = null;
  let pending: { state: RunnerState; waiters: (() => void)[] } | null = null;
  // Temp files of a killed runner (a kill between write and rename) go before the first publish.
  let cleaned: Promise<unknown> | null = null;
  let lastWriteAt = Number.NEGATIVE_INFINITY;
  let closing = false;
  let failing = false;
  let wake: (() => void) | null = null;

  const interval = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      timer.unref();
      wake = () => {
        clearTimeout(timer);
        wake = null;
        resolve();
      };
    });

  const drain = async () => {
    cleaned ??= removeStrayTempFiles(file).catch(() => []);
    await cleaned;
    while (pending) {
      const wait = lastWriteAt + minIntervalMs - performance.now();
      // The final state (stopped) never waits: the runner publishes it, then closes.
      if (wait > 0 && !closing && !pending.state.stopped) await interval(wait);
      const { state, waiters } = pending;
      pending = null;
      // The runtime dir unwritable or gone: readers will see the heartbeat go stale, which is the truth.
      try {
        await writeFileAtomic(file, `${JSON.stringify(state)}\n`, { durable: false });
        if (failing) options.info?.(`runner state is written to ${file} again`, { file, runnerId: state.id });
        failing = false;
      } catch (err) {
        if (!failing)
          options.warn?.(
            `runner state could not be written to ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ${
              options.readInProcess
                ? "this process's API reads the runner directly and shows it as it is; only the file, and whoever reads it directly, is behind until it can be written"
                : 'the API will show this runner STALE until it can'
            }; the runner scans on`,
            { file, runnerId: state.id, errno: (err as NodeJS.ErrnoException).code },
          );
        failing = true;
      }
      lastWriteAt = performance.now();
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
        if (state.stopped) wake?.();
        draining ??= drain();
      });
    },
    async close() {
      closing = true;
      wake?.();
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
  const read = await readStateWhy(runtimeDir);
  return 'refused' in read ? 'refused' : 'state' in read ? read.state : null;
}

/**
 * readState, with why a refused file was refused (`runner-state.json cannot be read by this process
 * (EACCES): ...`), and why a file read is not a runner's state (`invalid`: a hand-written time the API
 * cannot serve, ...), which is taken as no state, as before.
 */
async function readStateWhy(runtimeDir: string): Promise<{ state: RunnerState | null } | { refused: string } | { invalid: string }> {
  let text: string;
  try {
    const { bytes } = await readRuntimeBytes(path.join(runtimeDir, RUNNER_STATE_FILE), { runtimeDir, maxBytes: MAX_RUNNER_STATE_BYTES });
    text = bytes.toString('utf8');
  } catch (err) {
    return err instanceof RuntimeFileRefusedError ? { refused: err.message } : { state: null };
  }
  const parsed = parseRunnerStateText(text);
  return 'state' in parsed ? parsed : { invalid: parsed.problem };
}

/**
 * Follows the state file a runner in another process publishes (`stratctl runner`): fs.watch on the
 * directory is the fast path, a periodic re-read catches missed events. Listeners hear every new
 * state (heartbeats included).
 */
export async function fileRunnerStateSource(
  runtimeDir: string,
  options: { pollMs?: number; warn?: Say; info?: Say } = {},
): Promise<RunnerStateSource> {
  const listeners = new Listeners();
  const file = path.join(runtimeDir, RUNNER_STATE_FILE);
  // Why the file read is not a runner's state (said once per problem): it counts as no runner, as
  // before, but without a word a hand-written state the API cannot serve only showed as the runner gone.
  let invalidBecause: string | undefined;
  const sayInvalid = (read: Awaited<ReturnType<typeof readStateWhy>>) => {
    const invalid = 'invalid' in read ? read.invalid : undefined;
    if (invalid !== undefined && invalid !== invalidBecause && !closed)
      options.warn?.(`runner state ${file} is not a runner's state (${invalid}); no runner is shown from it until it is`, {
        file,
        reason: invalid,
      });
    invalidBecause = invalid;
  };
  let closed = false;
  const first = await readStateWhy(runtimeDir);
  sayInvalid(first);
  let latest = 'state' in first ? first.state : null;
  let lastText = JSON.stringify(latest);
  let reading: Promise<void> | null = null;
  let again = false;
  // Why the file is refused now (said once, and once when it is read again): without it, a state file
  // this process may not read (chmod 000) showed only as the runner going STALE, with no reason anywhere.
  let refusedBecause: string | undefined;
  const reread = async () => {
    do {
      again = false;
      const read = await readStateWhy(runtimeDir);
      const refused = 'refused' in read ? read.refused : undefined;
      sayInvalid(read);
      if (refused !== undefined && refused !== refusedBecause && !closed)
        options.warn?.(
          `runner state ${path.join(runtimeDir, RUNNER_STATE_FILE)} refused: ${refused}; the runner's last state read stays (it shows STALE once its heartbeats are 3 intervals old)`,
          { file: path.join(runtimeDir, RUNNER_STATE_FILE), reason: refused },
        );
      else if (refused === undefined && refusedBecause !== undefined && !closed)
        options.info?.(`runner state ${path.join(runtimeDir, RUNNER_STATE_FILE)} is read again`, {
          file: path.join(runtimeDir, RUNNER_STATE_FILE),
        });
      refusedBecause = refused;
      // A file refused before it was read changes nothing: the last state seen stays.
      const state = refused !== undefined ? latest : 'state' in read ? read.state : null;
      const text = JSON.stringify(state);
      if (text !== lastText && !closed) {
        lastText = text;
        latest = state;
        listeners.emit();
      }
    } while (again);
    reading = null;
  };
  // A read in progress may have opened the file before the change asked about: it reads once more.
  const readAgain = (): Promise<void> => {
    if (reading) again = true;
    else reading = reread();
    return reading;
  };
  const watch = watchFile(path.join(runtimeDir, RUNNER_STATE_FILE), () => void readAgain(), { pollMs: options.pollMs ?? 500 });
  return {
    list: () => (latest ? [latest] : []),
    refresh: readAgain,
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
