import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { readTokenFile, renderTokenFile, TOKEN_FILE_WRITE, TOKENS_FILE } from '../auth/token-file.js';
import { AUDIT_FILE } from '../config/audit-file.js';
import { type DumpAuditEntry, dumpAuditEntry, orderAudit, type StoreDump } from '../config/dump.js';
import { CONFIG_FILE_NAME, KEPT_PRESETS_FILE } from '../config/file-store.js';
import { putBackTakenAway, removeStrayTempFiles, writeFileAtomic } from '../fs/atomic-write.js';
import {
  clearRuntimeDirMigrating,
  clearRuntimeDirMoved,
  lockRuntimeDir,
  MIGRATING_FILE,
  markRuntimeDirMigrating,
  markRuntimeDirMoved,
  type RuntimeDirLocks,
} from '../runtime-dir.js';

/** The presets file (issue 12): moved as text. */
export const PRESETS_FILE_NAME = 'strategies.yaml';

/** The files of a runtime directory that hold store data (admin.token and runner-state.json do not). */
const DATA_FILES = [CONFIG_FILE_NAME, PRESETS_FILE_NAME, TOKENS_FILE, AUDIT_FILE] as const;

export class MigrateSourceError extends Error {
  override name = 'MigrateSourceError';
}

async function readText(file: string): Promise<string | null> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * One runtime directory as a side of a migration. It is locked like a running server would lock
 * it (`.lock` and `.runner.lock`) for the whole move: a server still running there would make
 * changes the copy misses (source) or overwrite it (target), so it is refused (exit 75, naming it).
 */
export class FileSide {
  private locks: RuntimeDirLocks | null = null;

  constructor(readonly dir: string) {}

  get description(): string {
    return `file:${this.dir}`;
  }

  /** Takes the directory's locks (a source must exist; a target is created when missing). */
  async open(role: 'source' | 'target'): Promise<void> {
    if (role === 'source') {
      const stat = await fsp.stat(this.dir).catch(() => null);
      if (!stat?.isDirectory()) throw new MigrateSourceError(`${this.description}: no such runtime directory`);
    } else if (!(await fsp.stat(this.dir).catch(() => null))) {
      // A new target directory is made, but not a whole new path: `--to file:/srv/straegy/runtime`
      // (a typo) made /srv/straegy and reported success, where token and runner refuse a mistyped dir.
      const parent = path.dirname(path.resolve(this.dir));
      if (!(await fsp.stat(parent).catch(() => null))?.isDirectory())
        throw new MigrateSourceError(`${this.description}: its parent directory ${parent} does not exist (a typo?); create it first`);
    }
    this.locks = await lockRuntimeDir(this.dir, { serve: true, runner: true });
    // A server killed while a write had config.yaml or strategies.yaml set aside (replaceChecked) left
    // it under its aside name, which the server's next start puts back: put back here too, as that
    // start would, before anything is read or judged. Read by name, a source with its presets set
    // aside was moved as `presets: none` (and marked moved: never put back), and one with its config
    // set aside refused as holding none; a target so was taken for a fresh one. Under the locks: no
    // server writes there now.
    for (const name of [PRESETS_FILE_NAME, CONFIG_FILE_NAME]) await putBackTakenAway(path.join(this.dir, name));
  }

  async close(): Promise<void> {
    await this.locks?.release();
    this.locks = null;
  }

  /** The directory's store data as stored. A torn last audit line (a crash mid-append) is left behind like the store leaves it. */
  async read(): Promise<StoreDump> {
    const [config, strategies, kept, tokens, auditBytes] = await Promise.all([
      readText(path.join(this.dir, CONFIG_FILE_NAME)),
      readText(path.join(this.dir, PRESETS_FILE_NAME)),
      readText(path.join(this.dir, KEPT_PRESETS_FILE)),
      readTokenFile(path.join(this.dir, TOKENS_FILE)),
      fsp.readFile(path.join(this.dir, AUDIT_FILE)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return Buffer.alloc(0);
        throw err;
      }),
    ]);
    const complete = auditBytes.subarray(0, auditBytes.lastIndexOf(0x0a) + 1).toString('utf8');
    const audit: DumpAuditEntry[] = [];
    const skippedAudit: string[] = [];
    complete.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      const entry = dumpAuditEntry(line);
      if (entry) audit.push(entry);
      else skippedAudit.push(`${AUDIT_FILE} line ${i + 1}`);
    });
    if (complete.length < auditBytes.length) skippedAudit.push(`${AUDIT_FILE}: a torn last line (no newline)`);
    const strategiesKept =
      kept === null
        ? null
        : { presetsAt: path.join(this.dir, PRESETS_FILE_NAME), keptAt: path.join(this.dir, KEPT_PRESETS_FILE), text: kept };
    // As the etcd side reads it: an etcd target keeps each subject's newest entries (--audit-keep) by version.
    return { config, strategies, tokens, audit: orderAudit(audit), skippedAudit, strategiesKept };
  }

  /** The data files present (empty: a fresh target). */
  async dataFiles(): Promise<string[]> {
    const present: string[] = [];
    if ((await fsp.stat(path.join(this.dir, MIGRATING_FILE)).catch(() => null)) !== null) present.push('a migration that did not finish');
    for (const name of DATA_FILES) if ((await fsp.stat(path.join(this.dir, name)).catch(() => null)) !== null) present.push(name);
    return present;
  }

  /**
   * Writes the dump, each file atomically and durably, the config last: a server that starts on a
   * half-written directory finds no config (defaults) rather than a config without its trail. Data
   * files the dump does not have are removed, and the kept presets of a deployment that ran here (with
   * --force, the target becomes a copy of the source).
   */
  async write(dump: StoreDump, from: string): Promise<void> {
    const file = (name: string) => path.join(this.dir, name);
    // First: a move cut short from here on leaves the directory marked, refused until one finishes.
    await markRuntimeDirMigrating(this.dir, from, new Date());
    // What a move cut short left half written (the trail's temp file: up to the whole trail).
    for (const name of DATA_FILES) await removeStrayTempFiles(file(name));
    const audit = orderAudit(dump.audit);
    await writeFileAtomic(file(AUDIT_FILE), audit.map((a) => `${a.json}\n`).join(''), { mode: 0o600 });
    if (dump.tokens.length > 0) await writeFileAtomic(file(TOKENS_FILE), renderTokenFile(dump.tokens), TOKEN_FILE_WRITE);
    else await fsp.rm(file(TOKENS_FILE), { force: true });
    if (dump.strategies !== null) await writeFileAtomic(file(PRESETS_FILE_NAME), dump.strategies, { mode: 0o644 });
    else await fsp.rm(file(PRESETS_FILE_NAME), { force: true });
    // The set a deployment that ran here kept in force beside its kept-out presets (a move never
    // copies one): the directory becomes the source's, holding nothing of the deployment replaced
    // (the store reads it only when its digest is the trail's last presets line; stale, it was clutter).
    await fsp.rm(file(KEPT_PRESETS_FILE), { force: true });
    if (dump.config !== null) await writeFileAtomic(file(CONFIG_FILE_NAME), dump.config, { mode: 0o644 });
    // The deployment lives here (again): the mark of an earlier move out goes, then the move's own, last.
    await clearRuntimeDirMoved(this.dir);
    await clearRuntimeDirMigrating(this.dir);
  }

  /** This directory's deployment now lives at `to`: serve, runners and `stratctl token` refuse it from now on. */
  async markMoved(to: string): Promise<void> {
    await markRuntimeDirMoved(this.dir, to, new Date());
  }
}
