import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Document } from 'yaml';
import { AtomicWriteError, removeStrayTempFiles, writeFileAtomic } from '../fs/atomic-write.js';
import { errnoOf, type FileSystem, nodeFileSystem } from '../fs/file-system.js';
import { Mutex } from '../fs/mutex.js';
import { type FileWatch, watchFile } from '../fs/watch.js';
import type { StrategyRegistry } from '../registry/index.js';
import { type AuditEntry, systemAuditEntry } from './audit-entry.js';
import { AuditFile } from './audit-file.js';
import { judgeGroup, MAX_GROUP, type QueuedCommit } from './commit-group.js';
import { ConfigFileError, ConfigFileInvalidError, ConfigWriteError } from './errors.js';
import { DEFAULT_SETTINGS, type RuntimeConfig } from './schema.js';
import type {
  AuditQuery,
  Change,
  CommitOptions,
  CommitResult,
  ConfigSnapshot,
  ConfigStore,
  StoreEvent,
  StoreInfo,
  StoreState,
} from './store.js';
import { parseConfigFile, renderNewConfigFile } from './yaml-document.js';

export const CONFIG_FILE_NAME = 'config.yaml';

export interface FileConfigStoreOptions {
  strategies: StrategyRegistry;
  /** The runtime directory: `config.yaml` and `audit.log` live in it. */
  runtimeDir: string;
  /** The file-system seam (fault injection in tests). */
  fs?: FileSystem;
  /** How often the file is re-checked for hand edits besides fs.watch (default 1000 ms). */
  pollMs?: number;
  now?: () => Date;
  /** Told about what an operator should know but that fails nothing (a directory fsync, a torn audit tail). */
  warn?: (message: string) => void;
}

export function digestOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The file store with its watch exposed (tests pause it to simulate a missed event). */
export interface FileConfigStore extends ConfigStore {
  readonly file: string;
  readonly auditFile: string;
  readonly watch: FileWatch | undefined;
}

interface DiskRead {
  /** The file's text; null when the file is missing. */
  readonly text: string | null;
  readonly doc?: Document;
}

/**
 * Reads `<runtimeDir>/config.yaml` and `audit.log` and returns the store. Writes nothing: a missing
 * file is served from defaults and written by `start()`. Throws ConfigFileError when the file
 * exists but is invalid (it is left exactly as it is).
 */
export async function openFileConfigStore(options: FileConfigStoreOptions): Promise<FileConfigStore> {
  const fs = options.fs ?? nodeFileSystem;
  const now = options.now ?? (() => new Date());
  const file = path.join(options.runtimeDir, CONFIG_FILE_NAME);
  const audit = await AuditFile.open({ runtimeDir: options.runtimeDir, fs, now, warn: options.warn });
  let text: string | null;
  try {
    text = (await fs.readFile(file)).toString('utf8');
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
    text = null;
  }
  if (text === null) {
    const version = audit.lastVersion('CONFIG') + 1;
    const config: RuntimeConfig = { ...DEFAULT_SETTINGS, version, updatedAt: now().toISOString() };
    const snapshot = { config, digest: digestOf(renderNewConfigFile(config)) };
    return new FileStore(options, fs, file, audit, now, snapshot, true, version);
  }
  const parsed = parseConfigFile(options.strategies, file, text);
  return new FileStore(options, fs, file, audit, now, inForce(parsed.config, digestOf(text), audit), false, parsed.config.version);
}

/**
 * The version a stored config is in force as. Versions never go backwards: content the trail
 * already recorded keeps the version recorded for it; new content whose `version` is not above the
 * last audited one (a hand edit that lowered or kept it) counts as last + 1.
 */
function inForce(config: RuntimeConfig, digest: string, audit: AuditFile): ConfigSnapshot {
  const last = audit.last(1, 'CONFIG')[0];
  if (last?.digest === digest) return { config: { ...config, version: last.version }, digest };
  const lastVersion = audit.lastVersion('CONFIG');
  return { config: config.version > lastVersion ? config : { ...config, version: lastVersion + 1 }, digest };
}

class FileStore implements FileConfigStore {
  private readonly mutex = new Mutex();
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  watch: FileWatch | undefined;
  private invalid: { digest: string; error: ConfigFileError } | null = null;
  private closed = false;
  private started = false;
  private queuedRefresh: Promise<void> | null = null;
  private lastContactAt: string | null;
  /** Commits waiting for the next group write (group commit: one config write and one audit append for all of them). */
  private readonly queue: QueuedCommit[] = [];
  private draining = false;
  /** The parsed document of the text this store last wrote: the next group edits it instead of parsing the file again. */
  private written: { digest: string; doc: Document } | null = null;

  constructor(
    private readonly options: FileConfigStoreOptions,
    private readonly fs: FileSystem,
    readonly file: string,
    private readonly auditLog: AuditFile,
    private readonly now: () => Date,
    private snapshot: ConfigSnapshot,
    private missing: boolean,
    /** The `version` the file itself said when opened (the version in force may be higher: see inForce). */
    private readonly storedVersion: number,
  ) {
    this.lastContactAt = now().toISOString();
  }

  get auditFile(): string {
    return this.auditLog.file;
  }

  readonly info = (): StoreInfo => ({ kind: 'FILE', location: this.file, connected: true, lastContactAt: this.lastContactAt });

  state(): StoreState {
    return { config: this.snapshot, strategies: this.options.strategies };
  }

  problem(): ConfigFileError | null {
    return this.invalid?.error ?? null;
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: StoreEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the store's state is already settled.
      }
    }
  }

  private warn(message: string): void {
    this.options.warn?.(message);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.mutex.run(async () => {
      const stray = await removeStrayTempFiles(this.file, { fs: this.fs });
      if (stray.length > 0) this.warn(`removed ${stray.length} temp file(s) left by an interrupted write: ${stray.join(', ')}`);
      await this.auditLog.repair();
      if (this.missing) {
        await this.writeConfig(renderNewConfigFile(this.snapshot.config), 0o644);
        this.missing = false;
      }
      // Serving changes that cannot be audited would break the trail's promise: refuse to start.
      await this.reconcileAudit().catch((err: unknown) => {
        const errno = err instanceof ConfigWriteError ? err.errno : errnoOf(err);
        throw Object.assign(new Error(`cannot write the audit log ${this.auditLog.file} (${errno ?? String(err)})`, { cause: err }), {
          code: errno,
        });
      });
    });
    this.watch = watchFile(this.file, () => void this.refresh().catch(() => {}), { pollMs: this.options.pollMs ?? 1000 });
  }

  /**
   * At start: a config the trail has no entry for (a crash between the config write and its audit
   * line, or a hand edit while stopped) gets one now, so the trail's last entry matches the file.
   */
  private async reconcileAudit(): Promise<void> {
    const last = this.auditLog.last(1, 'CONFIG')[0];
    const current = this.snapshot;
    if (last?.digest === current.digest) return;
    // A version above the trail's was written by the API (or someone who bumped it): a crash came
    // between the write and its audit line. One at or below it is a hand edit made while stopped.
    const operation = !last ? 'baseline' : this.storedVersion > last.version ? 'recovery' : 'handEdit';
    await this.auditLog.append([systemAuditEntry(operation, current, last, this.now())]);
    if (operation !== 'baseline') this.warn(`config version ${current.config.version} had no audit entry; recorded now as "${operation}"`);
  }

  async audit(query: AuditQuery): Promise<readonly AuditEntry[]> {
    return this.auditLog.last(Math.max(0, query.last), query.subject);
  }

  refresh(): Promise<void> {
    if (this.closed || !this.started) return Promise.resolve();
    // A refresh still waiting for the lock covers every hint that arrives before it starts (it reads
    // the disk when it runs). Without this, under load the poll and watch events queued refreshes
    // faster than they ran, and a save waited behind all of them (seconds, in the load test).
    this.queuedRefresh ??= this.mutex.run(async () => {
      this.queuedRefresh = null;
      await this.readDisk(false);
    });
    return this.queuedRefresh;
  }

  /** Reads the file and brings the state in force level with it (a hand edit is applied and audited). */
  private async readDisk(needDoc: boolean): Promise<DiskRead> {
    let text: string;
    try {
      text = (await this.fs.readFile(this.file)).toString('utf8');
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
      this.markInvalid(
        'missing',
        new ConfigFileError(this.file, [{ message: 'the file is missing; the next change through the API writes it again' }]),
      );
      return { text: null };
    }
    this.lastContactAt = this.now().toISOString();
    const digest = digestOf(text);
    if (digest === this.snapshot.digest && !this.invalid) {
      if (!needDoc) return { text };
      const doc = this.written?.digest === digest ? this.written.doc : parseConfigFile(this.options.strategies, this.file, text).doc;
      return { text, doc };
    }
    let parsed: ReturnType<typeof parseConfigFile>;
    try {
      parsed = parseConfigFile(this.options.strategies, this.file, text);
    } catch (err) {
      if (!(err instanceof ConfigFileError)) throw err;
      this.markInvalid(digest, err);
      return { text };
    }
    const wasInvalid = this.invalid !== null;
    this.invalid = null;
    if (digest !== this.snapshot.digest) await this.applyHandEdit(parsed.config, digest);
    else if (wasInvalid) this.emit({ type: 'valid' });
    return { text, doc: parsed.doc };
  }

  /** A valid hand edit is applied as it stands (never rewritten), numbered so versions never go backwards, and audited. */
  private async applyHandEdit(config: RuntimeConfig, digest: string): Promise<void> {
    const previous = this.snapshot;
    const current = inForce(config, digest, this.auditLog);
    this.snapshot = current;
    let entry: AuditEntry | null = null;
    const last = this.auditLog.last(1, 'CONFIG')[0];
    if (last?.digest !== digest) {
      entry = systemAuditEntry('handEdit', current, last, this.now());
      await this.auditLog.append([entry]).catch((err: unknown) => {
        entry = null;
        this.warn(`could not record a hand edit in the audit trail: ${(err as Error).message}`);
      });
    }
    this.emit({ type: 'changed', previous, current, audit: entry, source: 'handEdit' });
  }

  private markInvalid(digest: string, error: ConfigFileError): void {
    if (this.invalid?.digest === digest) return;
    this.invalid = { digest, error };
    this.emit({ type: 'invalid', error });
  }

  /**
   * Group commit: a change waits for the write in progress (if any), then goes out with every
   * change queued meanwhile: one durable config write and one fsync'd audit append for the group,
   * each change still judged in order with its own version and audit line, and nobody answered
   * before the whole group is durable.
   */
  commit(change: Change, options: CommitOptions = {}): Promise<CommitResult> {
    if (this.closed) return Promise.reject(new Error('config store is closed'));
    return new Promise<CommitResult>((resolve, reject) => {
      this.queue.push({ change, options, resolve, reject });
      if (this.draining) return;
      this.draining = true;
      void this.mutex.run(async () => {
        try {
          while (this.queue.length > 0) await this.commitGroupLocked(this.queue.splice(0, MAX_GROUP));
        } finally {
          this.draining = false;
        }
      });
    });
  }

  private async commitGroupLocked(group: QueuedCommit[]): Promise<void> {
    const refuseAll = (err: unknown) => {
      for (const queued of group) queued.reject(err);
    };
    let disk: DiskRead;
    try {
      // The file on disk is the base: a hand edit made since the last load is built upon, not lost.
      disk = this.started ? await this.readDisk(true) : { text: null };
    } catch (err) {
      return refuseAll(err);
    }
    if (this.invalid && disk.text !== null) return refuseAll(new ConfigFileInvalidError(this.invalid.error));
    let judged: ReturnType<typeof judgeGroup>;
    try {
      judged = judgeGroup(group, {
        inForce: this.snapshot,
        strategies: this.options.strategies,
        lastAuditedVersion: this.auditLog.lastVersion('CONFIG'),
        doc: disk.doc ?? null,
        now: this.now,
        digestOf,
      });
    } catch (err) {
      this.written = null; // the document may be half edited
      return refuseAll(err);
    }
    if (judged.text === null) return judged.settle();

    try {
      const mode = await this.fs.stat(this.file).then(
        (s) => s.mode & 0o777,
        () => 0o644,
      );
      await this.writeConfig(judged.text, mode);
      try {
        await this.auditLog.append(judged.entries);
      } catch (err) {
        await this.restore(disk.text, err);
      }
    } catch (err) {
      // Nothing of the group stays: every writer hears the failure (their judgements built on each other).
      this.written = null;
      return refuseAll(err);
    }
    this.snapshot = judged.final;
    this.written = disk.doc ? { digest: judged.final.digest, doc: disk.doc } : null;
    this.invalid = null;
    this.missing = false;
    // One event per version (readers see the final state: the file as it is now), then the answers.
    for (const step of judged.steps) this.emit({ type: 'changed', ...step, source: 'commit' });
    judged.settle();
  }

  /** Durable atomic write of the config file; a failure leaves the old file and says which step failed. */
  private async writeConfig(text: string, mode: number): Promise<void> {
    let durable: boolean;
    try {
      durable = await writeFileAtomic(this.file, text, { fs: this.fs, mode });
    } catch (err) {
      if (err instanceof AtomicWriteError) throw new ConfigWriteError(err.step, err.errno, { cause: err });
      throw err;
    }
    this.lastContactAt = this.now().toISOString();
    // The renamed file is already visible (the runner may act on it): report the change, warn about durability.
    if (!durable) this.warn(`config saved, but fsync of ${path.dirname(this.file)} failed: the rename may not survive a power loss`);
  }

  /** The audit entry could not be written: put the previous file back so nothing unrecorded stays in force. */
  private async restore(previousText: string | null, cause: unknown): Promise<never> {
    try {
      if (previousText !== null) await writeFileAtomic(this.file, previousText, { fs: this.fs });
      else await this.fs.unlink(this.file);
    } catch (restoreError) {
      // Could not put it back: the new config is on disk, and the next read reports it truthfully.
      throw new ConfigWriteError('restore after failed audit append', errnoOf(restoreError), { cause: restoreError });
    }
    if (cause instanceof ConfigWriteError) throw cause;
    throw new ConfigWriteError('audit append', errnoOf(cause), { cause });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watch?.close();
    await this.mutex.idle();
    this.listeners.clear();
  }
}
