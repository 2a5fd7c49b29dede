import path from 'node:path';
import { MessageChannel, type MessagePort, receiveMessageOnPort, type Worker } from 'node:worker_threads';
import {
  AtomicWriteError,
  asidePathFor,
  type FileMark,
  pairedTempPath,
  type ReplaceIf,
  removeTempFile,
  replaceChecked,
  takeTempHex,
  tempNamesFree,
  undonePathFor,
  writeFileAtomic,
} from '../fs/atomic-write.js';
import { errnoOf, type FileSystem, type HeldFile } from '../fs/file-system.js';
import { type RuntimeFileChecks, RuntimeFileRefusedError, readRuntimeFile } from '../fs/runtime-file.js';
import { type LoadListener, loopBusyNow } from '../heap-tuning.js';
import { pollEachRequest } from '../turn-polls.js';
import { startWorkerThread } from '../worker-thread.js';
import { type AuditAppended, appendAuditText } from './audit-append.js';
import { AuditTrimError, type AuditTrimmed, trimAuditFile } from './audit-trim.js';
import { ConfigWriteError } from './errors.js';
import { checkReadBack, type ReadBack, refusedWrite, WrittenTextMismatchError } from './read-back.js';

/** One runtime file a group replaces, with the text it had (to put back if the group fails). */
export interface FileWrite {
  readonly file: string;
  readonly text: string;
  readonly previous: string | null;
  /** Check just before the rename that the file still holds `previous` (the text the change was judged on). */
  readonly unlessChanged?: boolean;
  /**
   * The hex part of this write's temp and aside names (takeTempHex), chosen on the event loop: the
   * I/O thread comes and goes, and a name is reused only if it is handed back (GroupWritten.tempNames).
   */
  readonly tempHex?: string;
}

/** A runtime file as read: its text, null when missing, or the refusal (a FIFO, a directory, a link, too large: never read). */
export type FileRead = string | null | RuntimeFileRefusedError;

/** Reads the store's files under `checks`; a refusal is a value (reported like an invalid file), any other failure throws. */
export function readStoreFiles(fs: FileSystem, files: readonly string[], checks: RuntimeFileChecks): Promise<FileRead[]> {
  return Promise.all(
    files.map(async (file) => {
      try {
        return await readRuntimeFile(fs, file, checks);
      } catch (err) {
        if (err instanceof RuntimeFileRefusedError) return err;
        throw err;
      }
    }),
  );
}

/**
 * A file the group was about to replace is no longer the text the group was judged on (a hand edit
 * landed between the read and the rename): nothing of the group stays, and the store judges it
 * again on the file as it is now.
 */
export class FileChangedError extends Error {
  override name = 'FileChangedError';
  constructor(readonly file: string) {
    super(`${path.basename(file)} changed while a write to it was being prepared`);
  }
}

/** Everything a group commit writes: its files (presets first, then config), then its audit lines. */
export interface GroupWritePlan {
  readonly writes: readonly FileWrite[];
  /** Files the group was judged on but does not replace: checked first to still hold `text` (null: missing). */
  readonly unchanged?: readonly { readonly file: string; readonly text: string | null }[];
  readonly audit: {
    readonly file: string;
    readonly text: string;
    readonly knownSize: number;
    readonly checks?: RuntimeFileChecks;
    /** `--audit-keep`: after the append is durable, count the file's entries and trim it if it holds too many (audit-trim.ts). */
    readonly trim?: { readonly oldFile: string; readonly keep: number };
  };
  /** How the files written are read for the check before each rename (the store's own checks). */
  readonly checks: RuntimeFileChecks;
  /** What the text of one of `writes` must read as (read-back.ts): checked before anything is written. */
  readonly readBack?: ReadBack;
}

export interface GroupWritten {
  /** The audit file's size after the append. */
  readonly auditSize: number;
  /** Lines this process had written were gone before the append (see AuditAppended). */
  readonly auditLost: AuditAppended['lost'];
  /** Files whose directory fsync failed: in place and in force, but the rename may not survive a power loss. */
  readonly notDurable: readonly string[];
  /** Each file put in place, as it was put there (a file whose temp file could not be looked at is not listed). */
  readonly placed: readonly ({ readonly file: string } & FileMark)[];
  /** The writes' temp names free for the next group (reuseTempHex), by file: none of their files is left. */
  readonly tempNames: readonly { readonly file: string; readonly hex: string }[];
  /** The trim the plan asked for: what it counted and moved, or how it failed (the group stands either way). */
  readonly trim?: AuditTrimmed | { readonly failed: { readonly step: string; readonly errno?: string; readonly message: string } };
}

/**
 * Writes a group durably: each file atomically (temp, fsync, rename, directory fsync, keeping its
 * mode), then the audit lines (one write, one fsync). A failure puts back every file already
 * replaced (so nothing unrecorded stays in force) and throws ConfigWriteError naming the step.
 */
export async function writeGroup(fs: FileSystem, plan: GroupWritePlan): Promise<GroupWritten> {
  const done: Replaced[] = [];
  // Each replaced file's old inode under its aside name until the group is over (see Replaced.aside).
  const asides: string[] = [];
  // Each write's names (taken or not): free for the next group once this one succeeded (tempNamesFree).
  const names: { file: string; hex: string }[] = [];
  const notDurable: string[] = [];
  const placed: ({ file: string } & FileMark)[] = [];
  const holds = async (file: string) => readStoreFiles(fs, [file], plan.checks).then(([read]) => (typeof read === 'string' ? read : null));
  // The files replaced, kept open over their renames and let go after the answer (FileSystem.hold).
  const held: HeldFile[] = [];
  let audit: AuditAppended;
  if (plan.readBack) {
    const { file } = plan.readBack;
    const write = plan.writes.find((w) => w.file === file);
    if (!write) throw refusedWrite(file, 'the group writes no such file');
    checkReadBack(write.text, plan.readBack);
  }
  try {
    for (const { file, text } of plan.unchanged ?? []) if ((await holds(file)) !== text) throw new FileChangedError(file);
    for (const write of plan.writes) {
      const mode = await fs.stat(write.file).then(
        (s) => s.mode & 0o777,
        () => 0o644,
      );
      let durable: boolean;
      let mark: FileMark | undefined;
      // Judged on a missing file: put in place only if it is still missing. The check just before
      // the rename cannot close the moment between it and the rename, and a file a person created
      // in that moment was renamed over; with link(2) it makes the write fail instead (EEXIST).
      const noReplace = write.unlessChanged === true && write.previous === null;
      // Judged on a file: the file in place is judged, taken away, found to be the one judged, and
      // the new one linked into the empty place (replaceChecked). A check, then a rename over it,
      // renamed over a hand edit that landed in between (`mv`, `sed -i`): never in force, never
      // audited. The old file stays under its aside name until the group is over, so a failed group
      // puts it back with a link, which needs no free space (the audit append fails with ENOSPC
      // just when the disk is full).
      let replaceIf: ReplaceIf | undefined;
      let aside: string | null = null;
      const tempHex = write.tempHex ?? takeTempHex(write.file);
      names.push({ file: write.file, hex: tempHex });
      if (write.previous !== null) {
        const old = await fs.hold?.(write.file);
        if (old) held.push(old);
        const name = asidePathFor(write.file, tempHex);
        replaceIf = {
          aside: name,
          check: async (current) => {
            aside = current === null ? null : name;
            // Still the text this group was judged on? A hand edit since is left in place and judged.
            if (write.unlessChanged && (current === null ? null : await holds(current)) !== write.previous)
              throw new FileChangedError(write.file);
          },
          changed: () => new FileChangedError(write.file),
        };
      }
      try {
        durable = await writeFileAtomic(write.file, write.text, {
          fs,
          mode,
          noReplace,
          replaceIf,
          tempHex,
          onPlacing: (m) => {
            mark = m;
          },
        });
      } catch (err) {
        if (err instanceof AtomicWriteError && err.cause instanceof FileChangedError) throw err.cause;
        // A file appeared after all (created in the missing moment): judged again on it, as any hand edit that lands under a write.
        if ((noReplace || replaceIf) && err instanceof AtomicWriteError && err.step === 'rename' && err.errno === 'EEXIST')
          throw new FileChangedError(write.file);
        if (err instanceof AtomicWriteError) throw new ConfigWriteError(err.step, err.errno, { cause: err });
        throw err;
      }
      if (aside !== null) asides.push(aside);
      if (!durable) notDurable.push(write.file);
      if (mark) placed.push({ file: write.file, ...mark });
      done.push({ ...write, aside });
    }
    audit = await appendAuditText(fs, plan.audit.file, plan.audit.text, plan.audit.knownSize, plan.audit.checks);
  } catch (err) {
    // Awaited here, so the finally below lets go of the old files (and their aside names) after it.
    return await restore(fs, done, err, holds);
  } finally {
    // The old files' aside names go before the answer, written or refused, so no temp-named file is
    // in the directory once a change is answered (the held file keeps the inode until the turn after:
    // this unlink frees nothing on the group's path). One put back by the restore is gone already;
    // one that cannot be removed now goes after the next write that succeeds there (removeTempFile).
    for (const aside of asides) await removeTempFile(fs, aside);
    releaseAfterTurn(held);
  }
  // Written: each temp in place (or removed) and each aside removed; one left over is not handed back.
  const tempNames = names.filter(({ file, hex }) => tempNamesFree(file, hex));
  const written = { auditSize: audit.size, auditLost: audit.lost, notDurable, placed, tempNames };
  const trim = plan.audit.trim;
  if (!trim) return written;
  // The group is written and its audit line durable: nothing a trim does may fail or undo it.
  try {
    const trimmed = await trimAuditFile(fs, { file: plan.audit.file, oldFile: trim.oldFile, keep: trim.keep, checks: plan.audit.checks });
    const moved = trimmed.moved.CONFIG + trimmed.moved.PRESETS > 0;
    return { ...written, auditSize: moved ? trimmed.size : written.auditSize, trim: trimmed };
  } catch (err) {
    const failed =
      err instanceof AuditTrimError
        ? { step: err.step, ...(err.errno !== undefined && { errno: err.errno }), message: err.message }
        : { step: 'audit trim', ...(errnoOf(err) !== undefined && { errno: errnoOf(err) }), message: String(err) };
    return { ...written, trim: { failed } };
  }
}

/**
 * Lets go of the files a group held over its renames once this turn is over: on the I/O thread the
 * group's reply is posted first (a microtask of this turn), so the inodes are freed while the
 * server answers, not before.
 */
function releaseAfterTurn(held: readonly HeldFile[]): void {
  if (held.length === 0) return;
  setImmediate(() => {
    for (const file of held) file.release().catch(() => {});
  });
}

/** A file the group replaced: what it wrote, and the old file's aside name (null: there was no old file). */
interface Replaced extends FileWrite {
  readonly aside: string | null;
}

/** Puts back the files a failed group replaced (newest first), then throws the failure as ConfigWriteError. */
async function restore(
  fs: FileSystem,
  written: readonly Replaced[],
  cause: unknown,
  holds: (file: string) => Promise<string | null>,
): Promise<never> {
  for (const { file, text, previous, aside } of [...written].reverse()) {
    // Only this write is undone, and only while its file is in place: a file a person put there since
    // (a hand edit landing in that moment) is theirs, left as it is for the next read to judge. So
    // the file judged is taken away and found to be the one judged before it is replaced or removed
    // (replaceChecked): checked, then renamed over or removed, a rename in between was lost.
    // The refused file goes under a name of its own: a kill from here to the link leaves it beside the
    // old file's aside, and a start must put back the old file, never it (putBackTakenAway).
    const away = undonePathFor(file);
    // The old file is linked into place from the temp name paired with its aside: a kill in that
    // moment leaves the pair (the aside and its temp, not yet linked), which a start puts back.
    let back: string | null = null;
    const ours: ReplaceIf = {
      aside: away,
      check: async (current) => {
        if (current === null || (await holds(current)) !== text) throw new FileChangedError(file);
      },
      changed: () => new FileChangedError(file),
    };
    try {
      if (previous !== null && aside === null) await writeFileAtomic(file, previous, { fs, replaceIf: ours });
      else {
        // The old file back from its aside name (one link: no free space needed), or none (a file the group created).
        if (aside !== null)
          back = await fs.link(aside, pairedTempPath(aside)).then(
            () => pairedTempPath(aside as string),
            () => null, // no second name (a file system without hard links): linked from the aside itself
          );
        await replaceChecked(fs, back ?? aside, file, ours);
        await fs.syncDir(path.dirname(file)).catch(() => {});
      }
      await removeTempFile(fs, away); // this write's file, undone
    } catch (restoreError) {
      if (back !== null) await removeTempFile(fs, back);
      const why = restoreError instanceof AtomicWriteError ? restoreError.cause : restoreError;
      // Not ours any more, or a file put there meanwhile (EEXIST): theirs, left as it is.
      if (why instanceof FileChangedError || errnoOf(why) === 'EEXIST') continue;
      // Could not put it back: the new file is on disk, and the next read reports it truthfully.
      const errno = restoreError instanceof AtomicWriteError ? restoreError.errno : errnoOf(restoreError);
      throw new ConfigWriteError('restore after failed audit append', errno, { cause: restoreError });
    }
  }
  if (cause instanceof ConfigWriteError || cause instanceof FileChangedError) throw cause;
  throw new ConfigWriteError('audit append', errnoOf(cause), { cause });
}

/**
 * Where the file store's reads and group writes run. In process, each file-system call is a trip
 * through the event loop, and under a read storm each trip waits behind hundreds of requests (a
 * write took ~25 of them: 130 ms). The worker runs the same functions on its own event loop, so a
 * group read or write is one trip for the store, however busy the server is.
 */
export interface RuntimeFilesIo {
  /** Where the work runs now: the worker thread, or in process (a worker that stopped falls back). */
  readonly kind: 'worker' | 'in-process';
  /** A worker thread exists now (one let go while the process is quiet is started again by load, a write on a busy loop, or 100 ms after a write made in process). */
  readonly threadRunning: boolean;
  /** That thread has said it listens: a group write goes to it (until then, on a quiet loop, in process). */
  readonly threadListening: boolean;
  read(files: readonly string[], checks: RuntimeFileChecks): Promise<FileRead[]>;
  writeGroup(plan: GroupWritePlan): Promise<GroupWritten>;
  close(): Promise<void>;
}

export function inProcessIo(fs: FileSystem): RuntimeFilesIo {
  return {
    kind: 'in-process',
    threadRunning: false,
    threadListening: false,
    read: (files, checks) => readStoreFiles(fs, files, checks),
    writeGroup: (plan) => writeGroup(fs, plan),
    close: async () => {},
  };
}

/** A failure as it crosses the thread boundary. */
export interface SentError {
  readonly name: string;
  readonly message: string;
  readonly step?: string;
  readonly errno?: string;
  readonly code?: string;
  readonly file?: string;
  /** A ConfigWriteError's WrittenTextMismatchError: its message (what was meant, what the text reads). */
  readonly mismatch?: string;
}

type IoAsk =
  | { readonly op: 'read'; readonly files: readonly string[]; readonly checks: RuntimeFileChecks }
  | { readonly op: 'write'; readonly plan: GroupWritePlan };

/** A file read as it crosses the thread boundary (a refusal as its parts). */
export type SentRead =
  | string
  | null
  | { readonly refused: { readonly file: string; readonly problem: RuntimeFileRefusedError['problem']; readonly detail: string } };

export const sentRead = (read: FileRead): SentRead =>
  read instanceof RuntimeFileRefusedError ? { refused: { file: read.file, problem: read.problem, detail: read.detail } } : read;

const receivedRead = (read: SentRead): FileRead =>
  read !== null && typeof read === 'object'
    ? new RuntimeFileRefusedError(read.refused.file, read.refused.problem, read.refused.detail)
    : read;

export type IoRequest = IoAsk & { readonly id: number };

export type IoReply =
  | { readonly id: number; readonly value: unknown }
  | { readonly id: number; readonly error: SentError }
  /** The worker's first message: it has loaded and listens. */
  | { readonly listening: true };

/** How the worker-backed I/O hears of the process's load (heap-tuning's followLoad). */
export type FollowLoad = (listener: LoadListener) => () => void;

/** How long after a write made in process (no thread ready, a quiet loop) a let-go thread is started again. */
const RESTART_AFTER_WRITE_MS = 100;

/**
 * The worker-backed I/O: one worker thread, requests answered in order. Reads that fail are done
 * again in process (their errors keep their classes and messages); a write failure arrives as the
 * ConfigWriteError it was. If the worker is gone (it failed), everything runs in process.
 *
 * The thread is let go once a burst of load is over (`followLoad`: the same quiet seconds after
 * which the heap is compacted), with nothing waiting on it: an idle isolate holds ~10 MB resident,
 * a tenth of what the whole server may hold between bursts (issue 10). Meanwhile reads run in
 * process, and so do writes while the event loop is quiet (`loopBusy`, heap-tuning's
 * `loopBusyNow`): the promise API, where nothing waits in a quiet loop and nothing blocks it. The
 * first write after a quiet spell is typically an operator's, and the thread's start made it
 * 36-53 ms where in process it takes 8-13. The thread is started again a little after such a
 * write, for the writes that may follow; when load begins (the first busy second); or by a write
 * that finds the loop busy, which then waits for its start: in process, each of the write's ~15
 * file-system calls would wait its turn behind the load (100 ms into a read storm, a write took
 * 186-241 ms so, against 28-109 with the thread running: 6 storms, and four runs of 5-6).
 */
export function workerIo(
  fallback: RuntimeFilesIo,
  options: {
    followLoad?: FollowLoad;
    loopBusy?: () => boolean;
    /** Runs `start` after `ms` (the restart after a write made in process); returns its cancel. The tests fire it themselves. */
    later?: (start: () => void, ms: number) => () => void;
  } = {},
): RuntimeFilesIo {
  let worker: Worker | null = null;
  /** The worker that has said it listens: until then (a thread starting: ~25 ms) work may run in process instead of waiting. */
  let listening: Worker | null = null;
  /** It failed (or the store closed): everything runs in process from then on. */
  let gone = false;
  let nextId = 0;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  /**
   * While a reply is due: its end. Meanwhile the HTTP adapter polls for it as each request arrives
   * (turn-polls.ts), and its port is ref'd, so a process stopping waits for it (an unref'd one let
   * the event loop end first).
   */
  let due: (() => void) | null = null;
  const awaitReplies = (): (() => void) => {
    const port = replies?.port;
    port?.ref();
    const stopPolling = pollEachRequest(poll);
    return () => {
      stopPolling();
      port?.unref();
    };
  };
  const settled = () => {
    if (pending.size > 0) return;
    due?.();
    due = null;
  };
  const lost = (which: Worker) => {
    // A worker let go on purpose exits too: only the current one's end is a loss.
    if (which !== worker) return;
    worker = null;
    gone = true;
    for (const { reject } of pending.values()) reject(new Error('the file I/O worker stopped'));
    pending.clear();
    settled();
  };
  const receive = (from: Worker, reply: IoReply) => {
    if ('listening' in reply) {
      listening = from;
      return;
    }
    const waiting = pending.get(reply.id);
    pending.delete(reply.id);
    settled();
    if (!waiting) return;
    if ('error' in reply) waiting.reject(reply.error);
    else waiting.resolve(reply.value);
  };
  /** Every reply `from` has sent that the event loop has not delivered yet, taken now. */
  const drain = (from: Worker, port: MessagePort) => {
    for (let taken = receiveMessageOnPort(port); taken !== undefined; taken = receiveMessageOnPort(port)) {
      receive(from, taken.message as IoReply);
    }
  };
  /** The current worker's replies: delivered by the event loop, or taken by a poll between two requests. */
  let replies: { from: Worker; port: MessagePort } | null = null;
  const poll = () => {
    if (replies !== null) drain(replies.from, replies.port);
  };
  const started = (): Worker => {
    const channel = new MessageChannel();
    const fresh = startWorker(channel.port2);
    fresh.unref();
    const port = channel.port1;
    port.on('message', (reply: IoReply) => receive(fresh, reply));
    port.unref();
    replies = { from: fresh, port };
    const ended = () => {
      // As Node does for a thread's own port before its 'exit': replies it sent before it ended
      // are delivered (a write it finished is answered as done, not refused as lost).
      drain(fresh, port);
      if (replies?.from === fresh) replies = null;
      port.close();
      lost(fresh);
    };
    fresh.on('error', ended);
    fresh.on('exit', ended);
    return fresh;
  };
  worker = started();
  /** A thread being let go: load that begins meanwhile starts another once its exit is handled. */
  let stopping: Promise<unknown> | null = null;
  const letGo = () => {
    if (!worker || pending.size > 0) return;
    const idle = worker;
    worker = null;
    const ended: Promise<unknown> = idle.terminate().finally(() => {
      if (stopping === ended) stopping = null;
    });
    stopping = ended;
  };
  const start = () => {
    if (!gone && !worker) worker = started();
  };
  const startSoon = () => {
    if (stopping) void stopping.then(start);
    else start();
  };
  const unfollow = options.followLoad?.({ begun: startSoon, over: letGo });
  /** A start due after a write made in process: its cancel. */
  let restart: (() => void) | undefined;
  const later = options.later ?? unrefTimeout;
  /** The thread, if it is there and listens. */
  const ready = () => (worker !== null && worker === listening ? worker : null);
  const loopBusy = options.loopBusy ?? loopBusyNow;
  const ask = (thread: Worker, request: IoAsk): Promise<unknown> =>
    new Promise<unknown>((resolve, reject) => {
      nextId += 1;
      pending.set(nextId, { resolve, reject });
      due ??= awaitReplies();
      thread.postMessage({ ...request, id: nextId });
    });
  return {
    get kind() {
      return gone ? 'in-process' : 'worker';
    },
    get threadRunning() {
      return worker !== null;
    },
    get threadListening() {
      return ready() !== null;
    },
    async read(files, checks) {
      // Let go (a quiet process) or still starting: in process. A read is a few calls; the store's
      // check for hand edits, once a second, would otherwise start the thread again at once.
      const thread = ready();
      if (gone || !thread) return fallback.read(files, checks);
      try {
        return ((await ask(thread, { op: 'read', files, checks })) as SentRead[]).map(receivedRead);
      } catch {
        return fallback.read(files, checks);
      }
    },
    async writeGroup(plan) {
      if (gone) return fallback.writeGroup(plan);
      if (!ready() && !loopBusy()) {
        // No thread ready (let go, or still starting) and a quiet loop: in process, with nothing to
        // wait behind. A let-go thread is started a little after it, for the writes that may follow
        // (a read storm's among them), as a write used to start it; they run in process until it
        // listens. Not at once: its start (~25 ms of a core) slowed this write's answer and the
        // next write of a script 2-5x.
        try {
          return await fallback.writeGroup(plan);
        } finally {
          restart ??= later(() => {
            restart = undefined;
            startSoon();
          }, RESTART_AFTER_WRITE_MS);
        }
      }
      // On a busy loop each call in process would wait its turn behind the load: the thread is
      // started if it was let go, and waited for.
      if (stopping) await stopping;
      start();
      const thread = worker;
      if (gone || !thread) return fallback.writeGroup(plan);
      try {
        return (await ask(thread, { op: 'write', plan })) as GroupWritten;
      } catch (sent) {
        const error = sent as SentError;
        if (error.name === 'ConfigWriteError')
          throw new ConfigWriteError(
            error.step ?? 'write',
            error.errno,
            error.mismatch === undefined ? undefined : { cause: new WrittenTextMismatchError(error.mismatch) },
          );
        if (error.name === 'FileChangedError') throw new FileChangedError(error.file ?? '');
        throw Object.assign(new Error(error.message), { code: error.code });
      }
    },
    async close() {
      unfollow?.();
      restart?.();
      restart = undefined;
      gone = true;
      const last = worker;
      worker = null;
      due?.();
      due = null;
      await Promise.all([last?.terminate(), stopping]);
    },
  };
}

/** setTimeout that does not keep the process alive; returns its cancel. */
function unrefTimeout(run: () => void, ms: number): () => void {
  const timer = setTimeout(run, ms).unref();
  return () => clearTimeout(timer);
}

/**
 * The I/O thread allocates little (a file's text, an audit line, a reply) and briefly: a young
 * generation of a few MB serves it, where V8's default lets it grow to tens of MB that a quiet
 * thread keeps resident.
 */
const IO_WORKER_LIMITS = { maxYoungGenerationSizeMb: 3 } as const;

/**
 * Starts the I/O thread; it answers on `replies` (workerData), whose other end the caller keeps:
 * file-io-worker.js beside the bundle, or the .ts from sources (src/worker-thread.ts).
 */
function startWorker(replies: MessagePort): Worker {
  const options = { resourceLimits: IO_WORKER_LIMITS, workerData: { replies }, transferList: [replies] };
  return startWorkerThread('file-io-worker', new URL('./file-io-worker.ts', import.meta.url), options);
}
