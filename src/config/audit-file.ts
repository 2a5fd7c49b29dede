import path from 'node:path';
import { errnoOf, type FileSystem, nodeFileSystem } from '../fs/file-system.js';
import type { RuntimeFileChecks } from '../fs/runtime-file.js';
import { type AuditAppended, appendAuditText } from './audit-append.js';
import { type AuditEntry, type AuditSubject, parseAuditEntry } from './audit-entry.js';

export const AUDIT_FILE = 'audit.log';
/** Entries kept in memory for `auditLog(last:)` and the history; the file keeps everything. */
export const AUDIT_MEMORY = 1000;

/**
 * `<runtimeDir>/audit.log`: one JSON line per accepted change, fsync'd before the change is
 * answered. Opening it sets aside a torn last line (a crash mid-append) instead of failing; an
 * append always starts on a line boundary, even after something else wrote a torn line.
 */
export class AuditFile {
  readonly file: string;
  private entries: AuditEntry[] = [];
  private readonly lastVersions: Record<AuditSubject, number> = { CONFIG: 0, PRESETS: 0 };
  /** Bytes of complete lines in the file as this process wrote or read them: a failed append is cut back to this. */
  private size = 0;
  /** Where the torn tail found at open went, if there was one. */
  setAside: string | null = null;

  /** The server's own append-only log: no size cap, but opened like every runtime file (no link, no FIFO). */
  readonly checks: RuntimeFileChecks;

  private constructor(
    runtimeDir: string,
    private readonly fs: FileSystem,
    private readonly now: () => Date,
    private readonly warn: (message: string) => void,
  ) {
    this.file = path.join(runtimeDir, AUDIT_FILE);
    this.checks = { runtimeDir, maxBytes: Number.POSITIVE_INFINITY };
  }

  /** Reads the file (missing: empty). Writes only when it must set a torn tail aside (see `repair`). */
  static async open(options: { runtimeDir: string; fs?: FileSystem; now?: () => Date; warn?: (m: string) => void }): Promise<AuditFile> {
    const log = new AuditFile(
      options.runtimeDir,
      options.fs ?? nodeFileSystem,
      options.now ?? (() => new Date()),
      options.warn ?? (() => {}),
    );
    await log.load();
    return log;
  }

  private tail: Buffer | null = null;

  private async load(): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await this.fs.readFile(this.file, this.checks);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return;
      throw err;
    }
    const end = bytes.lastIndexOf(0x0a) + 1;
    const lines = bytes.subarray(0, end).toString('utf8').split('\n');
    lines.pop();
    lines.forEach((line, i) => {
      const parsed = line.trim() === '' ? null : parseAuditEntry(line);
      if (parsed) this.remember(parsed);
      else if (line.trim() !== '') this.warn(`${this.file}: line ${i + 1} is not an audit entry; skipped`);
    });
    this.size = end;
    if (end < bytes.length) this.tail = bytes.subarray(end);
  }

  /**
   * Takes in what another process appended since this one last read or wrote the file (a runner
   * beside the API reads the versions the API gave hand edits): complete lines only. A file shorter
   * than known (rotated, truncated) is read again whole. Nothing new: one stat, no read.
   */
  async follow(): Promise<void> {
    let size: number;
    try {
      size = (await this.fs.stat(this.file)).size;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return;
      throw err;
    }
    if (size === this.size && this.tail === null) return;
    const bytes = await this.fs.readFile(this.file, this.checks);
    const from = bytes.length < this.size ? 0 : this.size;
    if (from === 0) {
      this.entries = [];
      this.lastVersions.CONFIG = 0;
      this.lastVersions.PRESETS = 0;
    }
    const end = bytes.lastIndexOf(0x0a) + 1;
    if (end <= from) return;
    for (const line of bytes.subarray(from, end).toString('utf8').split('\n')) {
      const parsed = line.trim() === '' ? null : parseAuditEntry(line);
      if (parsed) this.remember(parsed);
    }
    this.size = end;
    this.tail = end < bytes.length ? bytes.subarray(end) : null;
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
      this.warn(`${this.file}: its last line was torn (a crash during an append); ${tail.length} bytes set aside in ${aside}`);
    } catch (err) {
      // Left in place: the next append sees the file longer than its complete lines and starts on a new line.
      this.warn(`${this.file}: its last line is torn and could not be set aside (${errnoOf(err) ?? String(err)}); left in place`);
    }
  }

  private remember(entry: AuditEntry): void {
    this.entries.push(entry);
    this.lastVersions[entry.subject] = Math.max(this.lastVersions[entry.subject], entry.version);
    if (this.entries.length > AUDIT_MEMORY) this.entries.splice(0, this.entries.length - AUDIT_MEMORY);
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
      );
    }
    this.size = size;
    for (const entry of entries) this.remember(entry);
  }

  /** The last `n` entries, newest first, of one subject or all. */
  last(n: number, subject?: AuditSubject): AuditEntry[] {
    const out: AuditEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0 && out.length < n; i--) {
      const entry = this.entries[i] as AuditEntry;
      if (!subject || entry.subject === subject) out.push(entry);
    }
    return out;
  }

  /** The highest version the trail has recorded for a subject (0: none). */
  lastVersion(subject: AuditSubject): number {
    return this.lastVersions[subject];
  }
}
