import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Document } from 'yaml';
import { AtomicWriteError, removeStrayTempFiles, writeFileAtomic } from '../fs/atomic-write.js';
import { errnoOf, type FileSystem, nodeFileSystem } from '../fs/file-system.js';
import { Mutex } from '../fs/mutex.js';
import { type FileWatch, watchFile } from '../fs/watch.js';
import type { StrategyRegistry } from '../registry/index.js';
import { type AuditEntry, diffConfigs, systemAuditEntry } from './audit-entry.js';
import { AuditFile } from './audit-file.js';
import { ConfigFileError, ConfigFileInvalidError, ConfigWriteError, VersionConflictError } from './errors.js';
import { changedFields, DEFAULT_SETTINGS, type RuntimeConfig } from './schema.js';
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
import { applyConfigToDocument, parseConfigFile, renderNewConfigFile } from './yaml-document.js';

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
      return needDoc ? { text, doc: parseConfigFile(this.options.strategies, this.file, text).doc } : { text };
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

  commit(change: Change, options: CommitOptions = {}): Promise<CommitResult> {
    if (this.closed) return Promise.reject(new Error('config store is closed'));
    return this.mutex.run(() => this.commitLocked(change, options));
  }

  private async commitLocked(change: Change, options: CommitOptions): Promise<CommitResult> {
    // The file on disk is the base: a hand edit made since the last load is built upon, not lost.
    const disk = this.started ? await this.readDisk(true) : { text: null };
    if (this.invalid && disk.text !== null) throw new ConfigFileInvalidError(this.invalid.error);
    const previous = this.snapshot;
    if (options.expectedVersion !== undefined && options.expectedVersion !== previous.config.version) {
      throw new VersionConflictError(options.expectedVersion, previous.config.version);
    }
    const draft = change.apply(this.state());
    const version = Math.max(previous.config.version, this.auditLog.lastVersion('CONFIG')) + 1;
    const config: RuntimeConfig = { ...draft, version, updatedAt: this.now().toISOString() };
    const fields = changedFields(previous.config, config);
    if (fields.length === 0) return { changed: false, previous, current: previous, changedFields: [], audit: null };

    let text: string;
    if (disk.doc) {
      applyConfigToDocument(disk.doc, previous.config, config);
      text = disk.doc.toString();
    } else {
      text = renderNewConfigFile(config);
    }
    const mode = await this.fs.stat(this.file).then(
      (s) => s.mode & 0o777,
      () => 0o644,
    );
    await this.writeConfig(text, mode);
    const current: ConfigSnapshot = { config, digest: digestOf(text) };
    const entry: AuditEntry = {
      time: config.updatedAt,
      actor: change.actor,
      operation: change.operation,
      subject: 'CONFIG',
      version,
      digest: current.digest,
      changes: diffConfigs(previous.config, config),
      config,
      ...(change.details && { details: change.details }),
    };
    try {
      await this.auditLog.append([entry]);
    } catch (err) {
      await this.restore(disk.text, err);
    }
    this.snapshot = current;
    this.invalid = null;
    this.missing = false;
    const result: CommitResult = { changed: true, previous, current, changedFields: fields, audit: entry };
    this.emit({ type: 'changed', previous, current, audit: entry, source: 'commit' });
    return result;
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
