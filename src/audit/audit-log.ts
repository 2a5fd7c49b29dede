import path from 'node:path';
import { z } from 'zod';
import { errnoOf } from '../config/file-system.js';
import { Mutex } from '../config/mutex.js';
import { FILE_KEYS, type RuntimeConfig } from '../config/schema.js';
import type { ConfigChange, ConfigSnapshot } from '../config/store.js';
import { AuditWriteError } from './errors.js';
import { type AuditFileSystem, nodeAuditFileSystem } from './file-system.js';

export const AUDIT_FILE = 'audit.log';
/** Entries kept in memory for `auditLog(last:)` and the history; the file keeps everything. */
export const AUDIT_MEMORY = 1000;

/** One line of audit.log: who changed what, and the whole config that resulted (the history). */
export interface AuditEntry {
  readonly time: string;
  readonly actor: string;
  /** activateStrategy | updateConfig | rollbackConfig | recovery | baseline | handEdit */
  readonly operation: string;
  readonly version: number;
  readonly digest: string;
  /** Fields that changed: `{ field: { before, after } }`. */
  readonly changes: Readonly<Record<string, { before: unknown; after: unknown }>>;
  readonly config: RuntimeConfig;
  readonly details?: Readonly<Record<string, unknown>>;
}

const entrySchema = z.object({
  time: z.string(),
  actor: z.string(),
  operation: z.string(),
  version: z.number().int().min(1),
  digest: z.string(),
  changes: z.record(z.string(), z.object({ before: z.unknown(), after: z.unknown() })),
  config: z.object({
    activeStrategyKey: z.string(),
    tradingEnabled: z.boolean(),
    scanIntervalSeconds: z.number(),
    tunableOverrides: z.record(z.string(), z.record(z.string(), z.union([z.number(), z.boolean()]))),
    version: z.number(),
    updatedAt: z.string(),
  }),
  details: z.record(z.string(), z.unknown()).optional(),
});

export interface AuditLogOptions {
  runtimeDir: string;
  fs?: AuditFileSystem;
  now?: () => Date;
  warn?: (message: string) => void;
}

/** `{ field: { before, after } }` for the fields (other than version and time) that differ. */
export function diffConfigs(before: RuntimeConfig | undefined, after: RuntimeConfig): AuditEntry['changes'] {
  const changes: Record<string, { before: unknown; after: unknown }> = {};
  for (const key of Object.keys(FILE_KEYS) as (keyof RuntimeConfig)[]) {
    if (key === 'version' || key === 'updatedAt') continue;
    const was = before?.[key] ?? null;
    if (JSON.stringify(was) !== JSON.stringify(after[key])) changes[key] = { before: was, after: after[key] };
  }
  return changes;
}

/**
 * `<runtimeDir>/audit.log`: one JSON line per accepted change, fsync'd before the change is
 * answered. Opening it sets aside a torn last line (a crash mid-append) instead of failing.
 */
export class AuditLog {
  readonly file: string;
  private readonly fs: AuditFileSystem;
  private readonly now: () => Date;
  private readonly mutex = new Mutex();
  private entries: AuditEntry[] = [];
  /** Bytes of complete lines in the file: an append that fails is cut back to this. */
  private size = 0;
  /** The file does not end in a newline we could cut back to: start the next line on a new one. */
  private needsNewline = false;
  /** Where the torn tail found at open went, if there was one. */
  setAside: string | null = null;

  private constructor(private readonly options: AuditLogOptions) {
    this.file = path.join(options.runtimeDir, AUDIT_FILE);
    this.fs = options.fs ?? nodeAuditFileSystem;
    this.now = options.now ?? (() => new Date());
  }

  static async open(options: AuditLogOptions): Promise<AuditLog> {
    const log = new AuditLog(options);
    await log.load();
    return log;
  }

  private warn(message: string): void {
    this.options.warn?.(message);
  }

  private async load(): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await this.fs.readFile(this.file);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return;
      throw err;
    }
    const end = bytes.lastIndexOf(0x0a) + 1;
    const lines = bytes.subarray(0, end).toString('utf8').split('\n');
    lines.pop();
    lines.forEach((line, i) => {
      const parsed = line.trim() === '' ? null : this.parseLine(line);
      if (parsed) this.remember(parsed);
      else if (line.trim() !== '') this.warn(`${this.file}: line ${i + 1} is not an audit entry; skipped`);
    });
    this.size = end;
    if (end < bytes.length) await this.setAsideTail(bytes.subarray(end));
  }

  private parseLine(line: string): AuditEntry | null {
    try {
      const parsed = entrySchema.safeParse(JSON.parse(line));
      return parsed.success ? (parsed.data as AuditEntry) : null;
    } catch {
      return null;
    }
  }

  /** A last line without its newline is an append a crash cut short: move it aside, never fail. */
  private async setAsideTail(tail: Buffer): Promise<void> {
    const aside = `${this.file}.torn-${this.now().toISOString().replace(/[:.]/g, '-')}`;
    try {
      const handle = await this.fs.open(aside, 'wx');
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
      this.needsNewline = true;
      this.warn(`${this.file}: its last line is torn and could not be set aside (${errnoOf(err) ?? String(err)}); left in place`);
    }
  }

  private remember(entry: AuditEntry): void {
    this.entries.push(entry);
    if (this.entries.length > AUDIT_MEMORY) this.entries.splice(0, this.entries.length - AUDIT_MEMORY);
  }

  /** Appends one line and fsyncs it; on failure cuts the file back so no half line stays. */
  append(entry: AuditEntry): Promise<void> {
    return this.mutex.run(async () => {
      const line = `${this.needsNewline ? '\n' : ''}${JSON.stringify(entry)}\n`;
      let step = 'open';
      try {
        const handle = await this.fs.open(this.file, 'a');
        try {
          step = 'append';
          await handle.write(line);
          step = 'fsync';
          await handle.sync();
        } finally {
          await handle.close().catch(() => {});
        }
      } catch (err) {
        await this.fs.truncate(this.file, this.size).catch(() => {
          this.needsNewline = true;
        });
        throw new AuditWriteError(step, errnoOf(err), { cause: err });
      }
      this.needsNewline = false;
      this.size += Buffer.byteLength(line);
      this.remember(entry);
    });
  }

  /** The store's commit hook: the change's audit line, durable before the change is answered. */
  readonly record = async (change: ConfigChange): Promise<void> => {
    await this.append({
      time: this.now().toISOString(),
      actor: change.actor,
      operation: change.operation,
      version: change.current.config.version,
      digest: change.current.digest,
      changes: Object.fromEntries(change.changed.map((k) => [k, { before: change.previous.config[k], after: change.current.config[k] }])),
      config: change.current.config,
      ...(change.details && { details: change.details }),
    });
  };

  /** A valid hand edit of the file took effect: record it (actor `file`), though nobody answered for it. */
  async recordHandEdit(current: ConfigSnapshot): Promise<void> {
    const last = this.entries.at(-1);
    if (last?.digest === current.digest) return;
    await this.append(this.entryFor(current, 'handEdit', 'file', last));
  }

  /**
   * At start: a config the log has no line for (a crash between the config write and its audit
   * line, or a hand edit while stopped) gets one now, so the log's last line matches the file.
   */
  async reconcile(current: ConfigSnapshot): Promise<AuditEntry | null> {
    const last = this.entries.at(-1);
    if (last?.digest === current.digest && last.version === current.config.version) return null;
    const operation = !last ? 'baseline' : current.config.version > last.version ? 'recovery' : 'handEdit';
    const entry = this.entryFor(current, operation, 'system', last);
    await this.append(entry);
    return entry;
  }

  private entryFor(current: ConfigSnapshot, operation: string, actor: string, last: AuditEntry | undefined): AuditEntry {
    const note =
      operation === 'recovery'
        ? 'this version was written but not audited (a crash between the two): who made it is unknown'
        : operation === 'baseline'
          ? 'the config as found when the audit log started'
          : 'the config file was edited by hand';
    return {
      time: this.now().toISOString(),
      actor,
      operation,
      version: current.config.version,
      digest: current.digest,
      changes: diffConfigs(last?.config, current.config),
      config: current.config,
      details: { note, ...(last && { previousAuditedVersion: last.version }) },
    };
  }

  /** The last `n` entries, oldest first. */
  last(n: number): AuditEntry[] {
    return n <= 0 ? [] : this.entries.slice(-n);
  }

  /** Resolves once pending appends are done. */
  idle(): Promise<void> {
    return this.mutex.idle();
  }
}
