import path from 'node:path';
import { errnoOf, type FileSystem, nodeFileSystem } from '../fs/file-system.js';
import type { ReadableRuntimeFile, RuntimeFileChecks } from '../fs/runtime-file.js';
import type { Say } from '../log.js';
import { type AuditAppended, appendAuditText } from './audit-append.js';
import { AUDIT_SUBJECTS, type AuditEntry, type AuditSubject, parseAuditEntry } from './audit-entry.js';
import { AUDIT_OLD_SUFFIX, type AuditCounts, type AuditTrimmed, auditSlack, completeLinesEnd } from './audit-trim.js';

export const AUDIT_FILE = 'audit.log';
/**
 * Entries of each subject kept in memory for `auditLog(last:)`, the history and rollback; the file
 * keeps everything (or the last `--audit-keep` of each subject: audit-trim.ts). Each subject has its own: a thousand activations do not push the last preset change out.
 */
export const AUDIT_MEMORY = 1000;
/** Bytes read at a time when the file is read from its end. */
const READ_CHUNK = 256 * 1024;
/** How a line of each subject reads (as `JSON.stringify` writes it): a whole part of the file without one is skipped unparsed. */
const SUBJECT_TEXT: Record<AuditSubject, Buffer> = {
  CONFIG: Buffer.from('"subject":"CONFIG"'),
  PRESETS: Buffer.from('"subject":"PRESETS"'),
};
/** Lines named one by one in the warning about lines that are not entries; the rest are counted. */
const BAD_LINES_NAMED = 10;
/** How many of the last bytes already read `follow` checks are still in place (AuditFile's `edge`). */
const EDGE_BYTES = 64;

/** An entry kept in memory, with its place in the file's order (across subjects). */
interface Kept {
  readonly entry: AuditEntry;
  readonly seq: number;
}

/**
 * `<runtimeDir>/audit.log`: one JSON line per accepted change, fsync'd before the change is
 * answered. Opening it sets aside a torn last line (a crash mid-append) instead of failing; an
 * append always starts on a line boundary, even after something else wrote a torn line.
 *
 * The file grows for ever (a line per change), so it is read from its end: only as far back as the
 * newest AUDIT_MEMORY entries of each subject, and the newest entry of each, reach. A start takes
 * the same time and memory with a trail of a hundred lines or of a million.
 */
export class AuditFile {
  readonly file: string;
  private kept: Record<AuditSubject, Kept[]> = { CONFIG: [], PRESETS: [] };
  /** The next entry's place in the file's order. */
  private seq = 0;
  private readonly lastVersions: Record<AuditSubject, number> = { CONFIG: 0, PRESETS: 0 };
  /** Bytes of complete lines in the file as this process wrote or read them: a failed append is cut back to this. */
  private size = 0;
  /** Where the torn tail found at open went, if there was one. */
  setAside: string | null = null;
  /**
   * Entries of each subject in the file, counted by the last trim and kept up with each line since
   * (`--audit-keep`); null: not counted yet, or the file changed under this process (a trim counts it).
   */
  private counts: AuditCounts | null = null;
  /** The file's inode when `follow` last looked: a file replaced (a trim by the API process beside, a migration) is read again. */
  private ino: number | undefined;

  /** The server's own append-only log: no size cap, but opened like every runtime file (no link, no FIFO). */
  readonly checks: RuntimeFileChecks;

  private constructor(
    runtimeDir: string,
    private readonly fs: FileSystem,
    private readonly now: () => Date,
    private readonly warn: Say,
    /** Bytes read at a time (tests make it smaller than a line). */
    private readonly chunk: number,
  ) {
    this.file = path.join(runtimeDir, AUDIT_FILE);
    this.checks = { runtimeDir, maxBytes: Number.POSITIVE_INFINITY };
  }

  /** Reads the file (missing: empty). Writes only when it must set a torn tail aside (see `repair`). */
  static async open(options: {
    runtimeDir: string;
    fs?: FileSystem;
    now?: () => Date;
    warn?: Say;
    readChunk?: number;
  }): Promise<AuditFile> {
    const log = new AuditFile(
      options.runtimeDir,
      options.fs ?? nodeFileSystem,
      options.now ?? (() => new Date()),
      options.warn ?? (() => {}),
      options.readChunk ?? READ_CHUNK,
    );
    const file = await log.openFile();
    if (file) {
      try {
        await log.load(file);
      } finally {
        await file.close();
      }
    }
    return log;
  }

  private tail: Buffer | null = null;
  /**
   * The last bytes of the complete lines this process knows (up to EDGE_BYTES, ending at `size`) and
   * the file's mtime when it last looked: what `follow` checks are still there before it reads on
   * from `size`. A file cut short and written past its old end meanwhile (by hand, then the API's
   * next append) was read from the old offset, mid-line: the new entry did not parse, and a runner
   * beside the API waited for an audit line that was there (ERROR, the change not applied).
   */
  private edge: Buffer | null = null;
  private mtimeMs: number | undefined;

  /** The file opened for reading; null when it is missing. */
  private async openFile(): Promise<ReadableRuntimeFile | null> {
    try {
      return await this.fs.openRead(this.file, this.checks);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return null;
      throw err;
    }
  }

  /** Takes in the file from its end: the torn tail, if any, then the complete lines, newest first, as far back as needed. */
  private async load(file: ReadableRuntimeFile): Promise<void> {
    this.counts = null;
    this.kept = { CONFIG: [], PRESETS: [] };
    this.lastVersions.CONFIG = 0;
    this.lastVersions.PRESETS = 0;
    const end = await completeLinesEnd(file, this.chunk);
    this.size = end;
    this.tail = end < file.size ? await file.read(end, file.size - end) : null;
    this.edge = end > 0 ? await file.read(Math.max(0, end - EDGE_BYTES), Math.min(EDGE_BYTES, end)) : null;
    const found: Record<AuditSubject, Kept[]> = { CONFIG: [], PRESETS: [] };
    const full = (subject: AuditSubject) => found[subject].length >= AUDIT_MEMORY;
    const bad: number[] = [];
    const take = (line: Buffer, at: number) => {
      const presets = line.includes(SUBJECT_TEXT.PRESETS);
      // Skipped unparsed: a line of a subject already full (a line without a subject is a config one).
      if (presets ? full('PRESETS') : full('CONFIG')) return;
      const text = line.toString('utf8');
      if (text.trim() === '') return;
      const entry = parseAuditEntry(text);
      if (!entry) bad.push(at);
      else if (!full(entry.subject)) found[entry.subject].push({ entry, seq: at });
    };
    // Lines from the last backwards; `carry` is the rest of a line that began in an earlier part (read next).
    let position = end;
    let carry = Buffer.alloc(0);
    while (position > 0 && !(full('CONFIG') && full('PRESETS'))) {
      const from = Math.max(0, position - this.chunk);
      const part = Buffer.concat([await file.read(from, position - from), carry]);
      position = from;
      // The first line of a part is whole only at the file's start.
      const first = from === 0 ? -1 : part.indexOf(0x0a);
      carry = first === -1 && from > 0 ? part : part.subarray(0, first + 1);
      if (first === -1 && from > 0) continue;
      const whole = part.subarray(first + 1);
      if (full('CONFIG') && !whole.includes(SUBJECT_TEXT.PRESETS)) continue;
      let lineEnd = whole.length;
      while (lineEnd > 0) {
        // (A negative offset would count from the end: the first line starts at 0.)
        const lineStart = lineEnd < 2 ? 0 : whole.lastIndexOf(0x0a, lineEnd - 2) + 1;
        take(whole.subarray(lineStart, lineEnd - 1), from + first + 1 + lineStart);
        lineEnd = lineStart;
      }
    }
    for (const subject of AUDIT_SUBJECTS) {
      this.kept[subject] = found[subject].reverse();
      for (const { entry } of this.kept[subject]) this.lastVersions[subject] = Math.max(this.lastVersions[subject], entry.version);
    }
    this.seq = end;
    if (bad.length > 0) await this.warnBadLines(file, bad);
  }

  /** Names the lines that are not entries by their line numbers (counted in one pass, only when there are some). */
  private async warnBadLines(file: ReadableRuntimeFile, offsets: number[]): Promise<void> {
    offsets.sort((a, b) => a - b);
    const named = offsets.slice(0, BAD_LINES_NAMED);
    const numbers: number[] = [];
    let line = 1;
    let position = 0;
    for (const offset of named) {
      while (position < offset) {
        const part = await file.read(position, Math.min(this.chunk, offset - position));
        for (let i = part.indexOf(0x0a); i !== -1; i = part.indexOf(0x0a, i + 1)) line += 1;
        position += part.length;
        if (part.length === 0) break;
      }
      numbers.push(line);
    }
    for (const n of numbers) this.warn(`${this.file}: line ${n} is not an audit entry; skipped`, { file: this.file, line: n });
    if (offsets.length > named.length)
      this.warn(`${this.file}: ${offsets.length - named.length} more lines are not audit entries; skipped`);
  }

  /**
   * Takes in what another process appended since this one last read or wrote the file (a runner
   * beside the API reads the versions the API gave hand edits): complete lines only. A file shorter
   * than known (rotated, truncated) is read again from its end. Nothing new: one stat, no read.
   */
  async follow(): Promise<void> {
    let size: number;
    let ino: number;
    let mtimeMs: number;
    try {
      ({ size, ino, mtimeMs } = await this.fs.stat(this.file));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return;
      throw err;
    }
    const replaced = this.ino !== undefined && ino !== this.ino;
    this.ino = ino;
    const touched = this.mtimeMs !== undefined && mtimeMs !== this.mtimeMs;
    this.mtimeMs = mtimeMs;
    if (size === this.size && this.tail === null && !replaced && !touched) return;
    const file = await this.openFile();
    if (!file) return;
    try {
      // Replaced by rename (a trim keeps the newest lines: the new file may be longer than the part this process read).
      if (replaced || file.size < this.size) return await this.load(file);
      // Read from the end of what this process knows, with its last bytes before it: changed, the
      // file was cut short and written again meanwhile (see `edge`), and is read again from its end.
      const known = this.edge?.length ?? 0;
      const bytes = await file.read(this.size - known, file.size - this.size + known);
      if (known > 0 && (bytes.length < known || !bytes.subarray(0, known).equals(this.edge as Buffer))) return await this.load(file);
      const added = bytes.subarray(known);
      const end = added.lastIndexOf(0x0a) + 1;
      this.tail = end < added.length ? added.subarray(end) : null;
      if (end === 0) return;
      for (const line of added.subarray(0, end).toString('utf8').split('\n')) {
        const parsed = line.trim() === '' ? null : parseAuditEntry(line);
        if (parsed) this.remember(parsed);
      }
      this.size += end;
      this.edge = Buffer.from(bytes.subarray(Math.max(0, known + end - EDGE_BYTES), known + end));
    } finally {
      await file.close();
    }
  }

  /** At start (allowed to write): a last line without its newline is an append a crash cut short; move it aside. */
  async repair(): Promise<void> {
    const tail = this.tail;
    if (!tail) return;
    this.tail = null;
    const aside = `${this.file}.torn-${this.now().toISOString().replace(/[:.]/g, '-')}`;
    try {
      const handle = await this.fs.open(aside, 'wx', 0o600);
      try {
        await handle.write(tail.toString('utf8'));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await this.fs.truncate(this.file, this.size);
      this.setAside = aside;
      this.warn(`${this.file}: its last line was torn (a crash during an append); ${tail.length} bytes set aside in ${aside}`, {
        file: this.file,
        bytes: tail.length,
        setAside: aside,
      });
    } catch (err) {
      // Left in place: the next append sees the file longer than its complete lines and starts on a new line.
      this.warn(`${this.file}: its last line is torn and could not be set aside (${errnoOf(err) ?? String(err)}); left in place`, {
        file: this.file,
        bytes: tail.length,
        errno: errnoOf(err),
      });
    }
  }

  private remember(entry: AuditEntry): void {
    const kept = this.kept[entry.subject];
    kept.push({ entry, seq: this.seq++ });
    if (this.counts) this.counts[entry.subject] += 1;
    this.lastVersions[entry.subject] = Math.max(this.lastVersions[entry.subject], entry.version);
    // One in, one out: shift() drops the oldest in place (V8 moves the array's start), where
    // splice(0, 1) copied the other 999 entries on every write (~7-9 µs against ~0.2).
    while (kept.length > AUDIT_MEMORY) kept.shift();
  }

  /**
   * Appends the entries as lines in one write and one fsync; on failure cuts the file back so no
   * half line stays. Callers serialise appends (the store's write lock).
   */
  async append(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const done = await appendAuditText(this.fs, this.file, AuditFile.textOf(entries), this.size, this.checks);
    this.appended(entries, done.size, done.lost);
  }

  /** The lines `entries` are appended as. */
  static textOf(entries: readonly AuditEntry[]): string {
    return entries.map((e) => `${JSON.stringify(e)}\n`).join('');
  }

  /** Bytes of complete lines this process knows the file to have (what an append starts from). */
  get knownSize(): number {
    return this.size;
  }

  /**
   * Records entries appended elsewhere (the store's I/O worker) with `appendAuditText`, and the
   * file's size after them. Lines written before that had gone are worth a warning: the file is
   * the history, and nothing else keeps it.
   */
  appended(entries: readonly AuditEntry[], size: number, lost: AuditAppended['lost'] = null): void {
    if (lost) {
      const what =
        lost === 'missing'
          ? 'was missing (removed or rotated away since this process last wrote it): a new one was started'
          : 'was shorter than this process had written it (truncated, or replaced by another file): appended to what is there';
      this.warn(
        `${this.file} ${what}. The changes recorded in the lines that went are gone from the file; history and rollback answer from the entries this process still holds in memory until it restarts. Keep a copy of an audit log you rotate.`,
        { file: this.file, reason: lost },
      );
    }
    if (lost) this.counts = null;
    this.size = size;
    // The last line alone (an entry's line is longer than EDGE_BYTES): the group's text is not built twice.
    const last = Buffer.from(AuditFile.textOf(entries.slice(-1)));
    this.edge = last.length >= EDGE_BYTES ? last.subarray(last.length - EDGE_BYTES) : null;
    for (const entry of entries) this.remember(entry);
  }

  /** `audit.log.old` beside the file: where a trim moves the oldest lines. */
  get oldFile(): string {
    return `${this.file}${AUDIT_OLD_SUFFIX}`;
  }

  /**
   * Whether the next append of `entries` should count the file's entries, trimming it if it holds
   * more than `keep` + auditSlack(keep) of a subject: when it was never counted (the first write
   * after a start), or the count says so. Trims are rare: `slack` changes of a subject apart.
   */
  trimDue(keep: number, entries: readonly AuditEntry[]): boolean {
    if (!this.counts) return true;
    const after = { ...this.counts };
    for (const entry of entries) after[entry.subject] += 1;
    const limit = keep + auditSlack(keep);
    return after.CONFIG > limit || after.PRESETS > limit;
  }

  /**
   * A trim's outcome (after `appended` recorded the group's lines and the size the trim left): the
   * entries the file holds now. Those kept in memory stay (history answers from them); the size is
   * the new file's, so the next append does not take the trim for the file cut short.
   */
  trimmed(result: AuditTrimmed): void {
    this.counts = { ...result.counts };
  }

  /** The last `n` entries, newest first, of one subject or all (at most AUDIT_MEMORY of each subject). */
  last(n: number, subject?: AuditSubject): AuditEntry[] {
    const out: AuditEntry[] = [];
    const config = subject === 'PRESETS' ? [] : this.kept.CONFIG;
    const presets = subject === 'CONFIG' ? [] : this.kept.PRESETS;
    let c = config.length - 1;
    let p = presets.length - 1;
    while (out.length < n && (c >= 0 || p >= 0)) {
      const fromConfig = p < 0 || (c >= 0 && (config[c] as Kept).seq > (presets[p] as Kept).seq);
      out.push(fromConfig ? (config[c--] as Kept).entry : (presets[p--] as Kept).entry);
    }
    return out;
  }

  /**
   * The newest entry of `subject` this process holds that records content `digest` at a version above
   * `above` (the version in force): the version that content has. A runner beside the API reads the
   * file after the API has already recorded later changes; only the trail's last entry was looked at,
   * so such content was numbered last + 1, a version that belonged to a later change (and a --wait
   * for that later version could be told it was applied). Not above: content seen again (an exact
   * revert) is a new change, numbered by the caller.
   */
  recorded(subject: AuditSubject, digest: string, above: number): AuditEntry | undefined {
    const kept = this.kept[subject];
    for (let i = kept.length - 1; i >= 0; i--) {
      const { entry } = kept[i] as Kept;
      if (entry.digest === digest && entry.version > above) return entry;
    }
    return undefined;
  }

  /** The highest version the trail has recorded for a subject (0: none). */
  lastVersion(subject: AuditSubject): number {
    return this.lastVersions[subject];
  }
}
