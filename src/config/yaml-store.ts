import { createHash } from 'node:crypto';
import path from 'node:path';
import type { StrategyRegistry } from '../registry/index.js';
import { ConfigFileError, ConfigFileInvalidError, ConfigValidationError, ConfigWriteError, VersionConflictError } from './errors.js';
import { errnoOf, type FileSystem, nodeFileSystem, removeStrayTempFiles, writeFileAtomic } from './file-system.js';
import { Mutex } from './mutex.js';
import { type ConfigUpdate, DEFAULT_CONFIG, mergeConfigUpdate, type RuntimeConfig } from './schema.js';
import type { CommitHook, ConfigChange, ConfigEvent, ConfigSnapshot, ConfigStore, SaveOptions } from './store.js';
import { type FileWatch, watchFile } from './watch.js';
import { applyConfigToDocument, parseConfigFile, renderNewConfigFile } from './yaml-document.js';

export const CONFIG_FILE_NAME = 'config.yaml';

export interface YamlConfigStoreOptions {
  registry: StrategyRegistry;
  /** The runtime directory; the config is `<runtimeDir>/config.yaml`. */
  runtimeDir: string;
  fs?: FileSystem;
  /** Watch the file for hand edits (fs.watch + a periodic check every `pollMs`). */
  watch?: boolean;
  pollMs?: number;
  commitHooks?: CommitHook[];
  now?: () => Date;
  /** Told about writes that succeeded but whose directory fsync did not. */
  warn?: (message: string) => void;
}

export function digestOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The YAML store, with a handle on its file watch (tests pause it to simulate missed events). */
export interface YamlConfigStore extends ConfigStore {
  readonly watch: FileWatch | undefined;
}

/**
 * Loads `<runtimeDir>/config.yaml` (creating it with defaults when missing) and returns the store.
 * Throws ConfigFileError when the file exists but is invalid: it is left exactly as it is.
 */
export async function openYamlConfigStore(options: YamlConfigStoreOptions): Promise<YamlConfigStore> {
  const fs = options.fs ?? nodeFileSystem;
  const file = path.join(options.runtimeDir, CONFIG_FILE_NAME);
  const now = options.now ?? (() => new Date());
  await fs.mkdir(options.runtimeDir);
  const stray = await removeStrayTempFiles(fs, file);
  if (stray.length > 0) options.warn?.(`removed ${stray.length} temp file(s) left by an interrupted write: ${stray.join(', ')}`);

  let text: string;
  try {
    text = await fs.readFile(file);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
    text = renderNewConfigFile({ ...DEFAULT_CONFIG, version: 1, updatedAt: now().toISOString() });
    await writeFileAtomic(fs, file, text);
  }
  const first = parseConfigFile(options.registry, file, text);
  return new YamlFileConfigStore(options, fs, file, now, { config: first.config, digest: digestOf(text) });
}

class YamlFileConfigStore implements YamlConfigStore {
  private readonly mutex = new Mutex();
  private readonly listeners = new Set<(event: ConfigEvent) => void>();
  readonly watch: FileWatch | undefined;
  private invalid: { digest: string; error: ConfigFileError } | null = null;
  private closed = false;
  private queuedRefresh: Promise<void> | null = null;

  constructor(
    private readonly options: YamlConfigStoreOptions,
    private readonly fs: FileSystem,
    readonly location: string,
    private readonly now: () => Date,
    private snapshot: ConfigSnapshot,
  ) {
    if (options.watch) {
      this.watch = watchFile(location, () => void this.refresh().catch(() => {}), { pollMs: options.pollMs ?? 1000 });
    }
  }

  current(): ConfigSnapshot {
    return this.snapshot;
  }

  fileError(): ConfigFileError | null {
    return this.invalid?.error ?? null;
  }

  subscribe(listener: (event: ConfigEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: ConfigEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the store's state is already settled.
      }
    }
  }

  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    // A refresh still waiting for the lock covers every hint that arrives before it starts (it reads
    // the disk when it runs). Without this, under load the poll and watch events queued refreshes
    // faster than they ran, and a save waited behind all of them (seconds, in the load test).
    this.queuedRefresh ??= this.mutex.run(async () => {
      this.queuedRefresh = null;
      await this.readDisk(false);
    });
    return this.queuedRefresh;
  }

  /** Reads the file and brings the in-memory state level with it. Returns the file's text (null: missing). */
  private async readDisk(needDoc: boolean): Promise<{ text: string | null; doc?: ReturnType<typeof parseConfigFile>['doc'] }> {
    let text: string;
    try {
      text = await this.fs.readFile(this.location);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
      this.markInvalid(
        'missing',
        new ConfigFileError(this.location, [{ message: 'the file is missing; the next change through the API writes it again' }]),
      );
      return { text: null };
    }
    const digest = digestOf(text);
    if (digest === this.snapshot.digest && !this.invalid) {
      return needDoc ? { text, doc: parseConfigFile(this.options.registry, this.location, text).doc } : { text };
    }
    try {
      const parsed = parseConfigFile(this.options.registry, this.location, text);
      const previous = this.snapshot;
      const wasInvalid = this.invalid !== null;
      this.invalid = null;
      if (digest !== previous.digest) {
        this.snapshot = { config: parsed.config, digest };
        this.emit({ type: 'reloaded', previous, current: this.snapshot });
      } else if (wasInvalid) {
        this.emit({ type: 'recovered', current: this.snapshot });
      }
      return { text, doc: parsed.doc };
    } catch (err) {
      if (!(err instanceof ConfigFileError)) throw err;
      this.markInvalid(digest, err);
      return { text };
    }
  }

  private markInvalid(digest: string, error: ConfigFileError): void {
    if (this.invalid?.digest === digest) return;
    this.invalid = { digest, error };
    this.emit({ type: 'invalid', error });
  }

  save(update: ConfigUpdate, options: SaveOptions = {}): Promise<ConfigChange> {
    if (this.closed) return Promise.reject(new Error('config store is closed'));
    return this.mutex.run(() => this.saveLocked(update, options));
  }

  private async saveLocked(update: ConfigUpdate, options: SaveOptions): Promise<ConfigChange> {
    // The file on disk is the base: a hand edit made since the last load is built upon, not lost.
    const disk = await this.readDisk(true);
    if (this.invalid && disk.text !== null) throw new ConfigFileInvalidError(this.invalid.error);
    const previous = this.snapshot;
    const base = previous.config;
    if (options.expectedVersion !== undefined && options.expectedVersion !== base.version) {
      throw new VersionConflictError(options.expectedVersion, base.version);
    }
    const merged = mergeConfigUpdate(this.options.registry, base, update);
    if (!merged.ok) throw new ConfigValidationError(merged.issues);

    const config: RuntimeConfig = { ...merged.config, version: base.version + 1, updatedAt: this.now().toISOString() };
    let text: string;
    if (disk.doc) {
      applyConfigToDocument(disk.doc, base, config);
      text = disk.doc.toString();
    } else {
      text = renderNewConfigFile(config);
    }
    const mode = await this.fs.stat(this.location).then(
      (s) => s.mode & 0o777,
      () => 0o644,
    );
    const durable = await writeFileAtomic(this.fs, this.location, text, mode);
    if (!durable)
      this.options.warn?.(`config saved, but fsync of ${path.dirname(this.location)} failed: the rename may not survive a power loss`);
    this.snapshot = { config, digest: digestOf(text) };
    this.invalid = null;
    const change: ConfigChange = {
      operation: options.operation ?? 'updateConfig',
      actor: options.actor ?? 'unknown',
      previous,
      current: this.snapshot,
      changed: merged.changed,
      ...(options.details && { details: options.details }),
    };
    try {
      for (const hook of this.options.commitHooks ?? []) await hook(change);
    } catch (err) {
      await this.restore(previous, disk.text, err);
    }
    this.emit({ type: 'saved', change });
    return change;
  }

  /** A commit hook failed after the write: put the previous file back so nothing unrecorded stays in force. */
  private async restore(previous: ConfigSnapshot, previousText: string | null, cause: unknown): Promise<never> {
    try {
      if (previousText !== null) await writeFileAtomic(this.fs, this.location, previousText);
      else await this.fs.unlink(this.location);
      this.snapshot = previous;
    } catch (restoreError) {
      // Could not put it back: the new config is in force, so keep reporting it truthfully.
      throw new ConfigWriteError('restore after failed commit', errnoOf(restoreError), { cause: restoreError });
    }
    if (cause instanceof ConfigWriteError) throw cause;
    throw new ConfigWriteError('commit', errnoOf(cause), { cause });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watch?.close();
    await this.mutex.idle();
    this.listeners.clear();
  }
}
