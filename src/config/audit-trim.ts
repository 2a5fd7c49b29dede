import { AtomicWriteError, writeFileAtomic } from '../fs/atomic-write.js';
import { errnoOf, type FileSystem } from '../fs/file-system.js';
import type { ReadableRuntimeFile, RuntimeFileChecks } from '../fs/runtime-file.js';

// Like audit-append.ts, loaded by the store's I/O worker: nothing here parses entries (no zod), a
// line's subject is told by its text, as AuditFile's start does.

/** Where the lines a trim takes out of `audit.log` go: `<runtime-dir>/audit.log.old`, never read by the server. */
export const AUDIT_OLD_SUFFIX = '.old';

export type TrimSubject = 'CONFIG' | 'PRESETS';
export type AuditCounts = Record<TrimSubject, number>;

/**
 * Entries of a subject `audit.log` may hold beyond `--audit-keep` before it is trimmed back to it:
 * a trim reads the whole file, so it is made rare (once per `slack` changes of a subject), as etcd's
 * trail deletes "at most 1,000 more than it adds".
 */
export function auditSlack(keep: number): number {
  return Math.max(100, Math.floor(keep / 10));
}

/** A trim the file store asks for after a group's audit append (file-io.ts writeGroup). */
export interface AuditTrimPlan {
  readonly file: string;
  /** `<file>.old`: the lines taken out are appended to it first. */
  readonly oldFile: string;
  /** `--audit-keep`: the newest this many entries of each subject stay in `file`. */
  readonly keep: number;
  readonly checks?: RuntimeFileChecks;
  /** Bytes read at a time (tests make it smaller than a line). */
  readonly chunk?: number;
}

export interface AuditTrimmed {
  /** Entries of each subject `file` holds now (counted, whether or not it was trimmed). */
  readonly counts: AuditCounts;
  /** Entries of each subject moved to `oldFile` (both 0: nothing to trim, nothing written). */
  readonly moved: AuditCounts;
  /** The file's size now. */
  readonly size: number;
}

/** A trim that failed: `file` is as it was (the lines moved are in `oldFile` only if the failure came after their fsync). */
export class AuditTrimError extends Error {
  override name = 'AuditTrimError';
  constructor(
    readonly step: string,
    readonly errno: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`${step} failed${errno ? `: ${errno}` : ''}`, options);
  }
}

const PRESETS_TEXT = Buffer.from('"subject":"PRESETS"');
const READ_CHUNK = 256 * 1024;
/** Text handed to a write at a time. */
const WRITE_BATCH = 1024 * 1024;

/** A line's subject as AuditFile's start tells it: a line without `"subject":"PRESETS"` is a config one. */
const subjectOf = (line: Buffer): TrimSubject => (line.includes(PRESETS_TEXT) ? 'PRESETS' : 'CONFIG');

/** The file's complete lines (each with its newline) from its start to `end`. */
async function* linesOf(file: ReadableRuntimeFile, end: number, chunk: number): AsyncGenerator<Buffer> {
  let position = 0;
  let carry = Buffer.alloc(0);
  while (position < end) {
    const part = await file.read(position, Math.min(chunk, end - position));
    if (part.length === 0) break;
    position += part.length;
    const bytes = carry.length === 0 ? part : Buffer.concat([carry, part]);
    let start = 0;
    for (let newline = bytes.indexOf(0x0a); newline !== -1; newline = bytes.indexOf(0x0a, start)) {
      yield bytes.subarray(start, newline + 1);
      start = newline + 1;
    }
    carry = Buffer.from(bytes.subarray(start));
  }
}

/** Where the file's complete lines end: just after its last newline (0: none), found by reading back from its end (AuditFile's start uses it too). */
export async function completeLinesEnd(file: ReadableRuntimeFile, chunk: number): Promise<number> {
  let position = file.size;
  while (position > 0) {
    const from = Math.max(0, position - chunk);
    const newline = (await file.read(from, position - from)).lastIndexOf(0x0a);
    if (newline !== -1) return from + newline + 1;
    position = from;
  }
  return 0;
}

/**
 * The lines `move` says go (`moved`: the oldest `move[subject]` of each subject) or stay (the
 * others, in the file's order), as text in batches; `sink.bytes` counts what was yielded.
 */
async function* select(
  file: ReadableRuntimeFile,
  end: number,
  chunk: number,
  move: AuditCounts,
  moved: boolean,
  sink: { bytes: number },
): AsyncGenerator<string> {
  const seen: AuditCounts = { CONFIG: 0, PRESETS: 0 };
  let batch: Buffer[] = [];
  let batchBytes = 0;
  for await (const line of linesOf(file, end, chunk)) {
    const subject = subjectOf(line);
    const goes = seen[subject] < move[subject];
    seen[subject] += 1;
    if (goes !== moved) continue;
    batch.push(line);
    batchBytes += line.length;
    if (batchBytes >= WRITE_BATCH) {
      const text = Buffer.concat(batch).toString('utf8');
      sink.bytes += Buffer.byteLength(text);
      yield text;
      batch = [];
      batchBytes = 0;
    }
  }
  if (batchBytes > 0) {
    const text = Buffer.concat(batch).toString('utf8');
    sink.bytes += Buffer.byteLength(text);
    yield text;
  }
}

/**
 * `--audit-keep` for the file store: when `audit.log` holds more than keep + auditSlack(keep)
 * entries of a subject, its oldest entries of that subject beyond `keep` are appended to
 * `audit.log.old` (O_APPEND, 0600, fsync'd; a failed append is cut back), then `audit.log` is
 * replaced by the lines that stay (temp, fsync, rename, directory fsync), in the file's order; the
 * other subject's lines are not touched. A crash between the two leaves those lines in both files.
 * Callers hold the store's write lock (nothing appends meanwhile). Throws AuditTrimError naming the
 * step; `audit.log` is then as it was.
 */
export async function trimAuditFile(fs: FileSystem, plan: AuditTrimPlan): Promise<AuditTrimmed> {
  const chunk = plan.chunk ?? READ_CHUNK;
  const checks = plan.checks ?? { maxBytes: Number.POSITIVE_INFINITY };
  let step = 'audit trim read';
  let file: ReadableRuntimeFile;
  try {
    file = await fs.openRead(plan.file, checks);
  } catch (err) {
    throw new AuditTrimError(step, errnoOf(err), { cause: err });
  }
  try {
    const end = await completeLinesEnd(file, chunk);
    const counts: AuditCounts = { CONFIG: 0, PRESETS: 0 };
    for await (const line of linesOf(file, end, chunk)) counts[subjectOf(line)] += 1;
    const limit = plan.keep + auditSlack(plan.keep);
    const over = (n: number) => (n > limit ? n - plan.keep : 0);
    const move: AuditCounts = { CONFIG: over(counts.CONFIG), PRESETS: over(counts.PRESETS) };
    if (move.CONFIG === 0 && move.PRESETS === 0) return { counts, moved: move, size: file.size };

    step = 'audit trim append';
    await appendStream(fs, plan.oldFile, select(file, end, chunk, move, true, { bytes: 0 }), checks);

    step = 'audit trim replace';
    const mode = await fs.stat(plan.file).then(
      (s) => s.mode & 0o777,
      () => 0o600,
    );
    const kept = { bytes: 0 };
    // A torn last line (someone else's append cut short) stays last, as it was.
    const tail = end < file.size ? (await file.read(end, file.size - end)).toString('utf8') : '';
    async function* keptText(): AsyncGenerator<string> {
      yield* select(file, end, chunk, move, false, kept);
      if (tail !== '') {
        kept.bytes += Buffer.byteLength(tail);
        yield tail;
      }
    }
    try {
      await writeFileAtomic(plan.file, keptText(), { fs, mode });
    } catch (err) {
      if (err instanceof AtomicWriteError) throw new AuditTrimError(`${step} (${err.step})`, err.errno, { cause: err });
      throw err;
    }
    return { counts: { CONFIG: counts.CONFIG - move.CONFIG, PRESETS: counts.PRESETS - move.PRESETS }, moved: move, size: kept.bytes };
  } catch (err) {
    if (err instanceof AuditTrimError) throw err;
    throw new AuditTrimError(step, errnoOf(err), { cause: err });
  } finally {
    await file.close().catch(() => {});
  }
}

/**
 * Appends the text to `file` (created 0600, opened by name with O_APPEND as the audit log is) and
 * fsyncs it, starting on a line boundary; on failure cuts it back to the size it had, so a retry
 * does not leave the lines twice.
 */
async function appendStream(fs: FileSystem, file: string, text: AsyncIterable<string>, checks: RuntimeFileChecks): Promise<void> {
  const before = await fs.stat(file).then(
    (s) => s.size,
    (err: unknown) => {
      if (errnoOf(err) === 'ENOENT') return 0;
      throw err;
    },
  );
  const handle = await fs.open(file, 'a', 0o600);
  try {
    if (before > 0 && !(await endsWithNewline(fs, file, checks))) await handle.write('\n');
    for await (const part of text) await handle.write(part);
    await handle.sync();
  } catch (err) {
    await fs.truncate(file, before).catch(() => {});
    throw err;
  } finally {
    await handle.close().catch(() => {});
  }
}

async function endsWithNewline(fs: FileSystem, file: string, checks: RuntimeFileChecks): Promise<boolean> {
  const opened = await fs.openRead(file, checks);
  try {
    return opened.size === 0 || (await opened.read(opened.size - 1, 1))[0] === 0x0a;
  } finally {
    await opened.close();
  }
}
