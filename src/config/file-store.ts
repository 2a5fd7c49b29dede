import path from 'node:path';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import type { Document } from 'yaml';
import { TOKENS_FILE } from '../auth/token-file.js';
import {
  AtomicWriteError,
  type FileMark,
  putBackTakenAway,
  removeStrayTempFiles,
  reuseTempHex,
  takeTempHex,
  writeFileAtomic,
} from '../fs/atomic-write.js';
import { errnoOf, type FileSystem, nodeFileSystem } from '../fs/file-system.js';
import { Mutex } from '../fs/mutex.js';
import { lstatRuntimeFile, type RuntimeFileChecks, RuntimeFileRefusedError, readRuntimeFile } from '../fs/runtime-file.js';
import {
  dirChangedAt,
  type FileLook,
  newSettleSpell,
  readSettledFiles,
  renamedAfterWritten,
  SETTLE_MS,
  type SettleEntry,
  type SettleTimes,
  systemSettleClock,
} from '../fs/settle.js';
import { type FileWatch, watchFile } from '../fs/watch.js';
import { followLoad } from '../heap-tuning.js';
import { MAX_RUNTIME_FILE_BYTES } from '../limit-defaults.js';
import { Listeners } from '../listeners.js';
import type { Say } from '../log.js';
import { type PresetDefinition, type StrategyRegistry, strategySetOf } from '../registry/index.js';
import { sharedYamlParser, type YamlParser } from '../yaml/off-thread.js';
import { type AuditEntry, type AuditSubject, SYSTEM_OPERATIONS, systemAuditEntry } from './audit-entry.js';
import { AuditFile } from './audit-file.js';
import { judgeGroup, MAX_GROUP, type QueuedCommit } from './commit-group.js';
import { digestOf } from './digest.js';
import {
  ConfigFileError,
  ConfigMissingError,
  ConfigWriteError,
  MAX_VERSION,
  unnumberedHandEditError,
  VersionBoundError,
} from './errors.js';
import {
  FileChangedError,
  type FileRead,
  type FollowLoad,
  type GroupWritePlan,
  type GroupWritten,
  inProcessIo,
  type RuntimeFilesIo,
  readStoreFiles,
  workerIo,
} from './file-io.js';
import { type DiskRead, judgeConfigRead, judgePresetsRead, type PresetsNotInForce } from './file-read.js';
import { PRESETS_FILE_NAME, type PresetsContent, parsePresetsFile } from './presets-file.js';
import { judgeContent, NO_PRESETS_DIGEST, presetsInForce, presetsSystemEntry } from './presets-judge.js';
import { DEFAULT_SETTINGS, type RuntimeConfig } from './schema.js';
import type {
  AuditQuery,
  Change,
  CommitOptions,
  CommitResult,
  ConfigChange,
  ConfigSnapshot,
  ConfigStore,
  PresetsChange,
  PresetsCommitResult,
  PresetsSnapshot,
  StoreEvent,
  StoreInfo,
  StoreState,
} from './store.js';
import { StoreAnswers } from './store.js';
import { inForceConfigDocument, parseConfigFile, parseOffThread, renderNewConfigFile } from './yaml-document.js';

export { digestOf } from './digest.js';

export const CONFIG_FILE_NAME = 'config.yaml';

/**
 * Times a group is judged and written when hand edits keep landing under it (each is applied and
 * audited in between), before its writers hear that the file kept changing.
 */
const MAX_ATTEMPTS = 20;

export interface FileConfigStoreOptions {
  /** The static strategies; presets from `strategies.yaml` are added to them. */
  strategies: StrategyRegistry;
  /** The runtime directory: `config.yaml`, `strategies.yaml` and `audit.log` live in it. */
  runtimeDir: string;
  /** The file-system seam (fault injection in tests). */
  fs?: FileSystem;
  /** How often the files are re-checked for hand edits besides fs.watch (default 1000 ms). */
  pollMs?: number;
  now?: () => Date;
  /** Told about what an operator should know but that fails nothing (a directory fsync, a torn audit tail), with its facts as fields. */
  warn?: Say;
  /**
   * Reads and group writes on a worker thread (default: yes, unless `fs` is given): under a read
   * storm each file-system call made in process waited behind the requests in the event loop.
   */
  ioWorker?: boolean;
  /** How the I/O worker hears of the process's load, to be let go between bursts (default: heap-tuning's followLoad; tests inject one). */
  followLoad?: FollowLoad;
  /**
   * Record hand edits in the audit trail (default true). False for a runner-only process: the API
   * process beside it reads the same files and records them; a second recorder, whose view of the
   * trail is as old as its start, took every change the API made for a hand edit and recorded it again.
   */
  auditHandEdits?: boolean;
  /**
   * For a process that does not audit (auditHandEdits false): the API process serving this runtime
   * directory, if one runs (a live holder of its `.lock`: lockHolderLook), or null. While one runs,
   * new content that no audit line records stays out of force past UNAUDITED_GRACE_MS, until the API
   * records it: the API keeps out a hand edit whose line it cannot write, and a runner that took it
   * after the grace ran a version the trail never held. Unset: nobody is asked (the grace alone).
   */
  apiProcess?: () => Promise<{ pid: number; host: string } | null>;
  /**
   * `--audit-keep`: `audit.log` keeps the newest this many entries of each subject, older ones moved
   * to `audit.log.old` once there are auditSlack(keep) more (audit-trim.ts). Unset: it keeps everything.
   */
  auditKeep?: number;
  /**
   * The monotonic clock (ms) a failed trim's back-off and a runner's hold on unaudited content
   * (UNAUDITED_GRACE_MS) run on (default performance.now; tests inject one): after a failure the next
   * try comes no sooner than AUDIT_TRIM_RETRY_MS later.
   */
  monotonicNow?: () => number;
  /** Where YAML is parsed (default: the process's parse worker). */
  yaml?: YamlParser;
  /** How long one parse of a file may take (default 2 s); past it the file is reported invalid. */
  parseDeadlineMs?: number;
  /** The largest config or presets file read (default 1 MiB); a larger one is refused like an invalid file. */
  maxFileBytes?: number;
  /** How long a hand edit must have stopped changing before it is taken (src/fs/settle.ts; tests shorten it). */
  settle?: SettleTimes;
}

/** After a failed `--audit-keep` trim, how long before the next is tried (at the first change from then on). */
export const AUDIT_TRIM_RETRY_MS = 60_000;

/** How the store's files are checked before they are read (src/fs/runtime-file.ts). */
function fileChecks(options: FileConfigStoreOptions): RuntimeFileChecks {
  return { runtimeDir: options.runtimeDir, maxBytes: options.maxFileBytes ?? MAX_RUNTIME_FILE_BYTES };
}

/** A file refused before it was read (a directory, a FIFO, a link, too large) is reported like an invalid one. */
function refusedFile(file: string, err: RuntimeFileRefusedError, subject: 'config' | 'presets'): ConfigFileError {
  return new ConfigFileError(file, [{ message: err.message }], subject, err);
}

/** A store file as `openFileConfigStore` reads it: its text, or null when missing; a refused one fails the open like an invalid one. */
async function readAtOpen(
  fs: FileSystem,
  file: string,
  options: FileConfigStoreOptions,
  subject: 'config' | 'presets',
): Promise<string | null> {
  const [read = null] = await readStoreFiles(fs, [file], fileChecks(options));
  if (read instanceof RuntimeFileRefusedError) throw refusedFile(file, read, subject);
  return read;
}

/** The file store with its watch exposed (tests pause it to simulate a missed event). */
export interface FileConfigStore extends ConfigStore {
  readonly file: string;
  readonly presetsFile: string;
  readonly auditFile: string;
  readonly watch: FileWatch | undefined;
  /** Where reads and group writes run (diagnostics, tests): the I/O worker once started, else in process. */
  readonly ioKind: 'worker' | 'in-process';
  /** Where the next group write goes: 'thread' (the I/O thread listens), 'starting' (started, not listening yet) or 'none' (let go, or in process only). */
  readonly ioThread: 'thread' | 'starting' | 'none';
}

/** What the store was opened with. */
interface Opened {
  readonly file: string;
  readonly presetsFile: string;
  readonly audit: AuditFile;
  readonly config: ConfigSnapshot;
  /** config.yaml was missing: start() writes it. */
  readonly missing: boolean;
  /** Missing, with an audit trail: what the config in force was made from (the audit line says so). */
  readonly missingNote?: string;
  /** The `version` config.yaml itself said (the version in force may be higher: see inForce). */
  readonly storedVersion: number;
  readonly presets: PresetsSnapshot;
  /** The `version` strategies.yaml itself said (0 when there is none). */
  readonly presetsStoredVersion: number;
  readonly strategies: StrategyRegistry;
  /** The text of the presets in force (null: none stored). */
  readonly presetsText: string | null;
  /** strategies.yaml kept out at open (the kept presets are in force), or null. */
  readonly presetsInvalid: PresetsNotInForce | null;
}

/** Why an audit append failed, with its step and errno where it says them (ConfigWriteError). */
function unrecordedWhy(err: unknown): string {
  const step = err instanceof ConfigWriteError ? ` (${[err.step, err.errno].filter(Boolean).join(', ')})` : '';
  return `it could not be recorded in audit.log${step}: ${(err as Error).message}; it goes in force once its line can be written`;
}

/**
 * A store file as a start takes it: readAtOpen, once a write in place has stopped, by the rule a
 * running store applies to a hand edit (readSettled, src/fs/settle.ts). A start used to take the
 * file as it stood: a config.yaml that a tool was writing in pieces as `serve` started was read
 * half written (invalid: exit 78; or a valid part of it put in force). A file renamed into place
 * (its ctime after its mtime) is whole, and one last changed at least the settle window before the
 * read is still: both taken at once, so a normal start costs one lstat per file. Otherwise read
 * again once still, for at most the bound, then taken as it stands (from a read between two writes,
 * if one comes within another bound), and said. A file found there, then missing while it is waited
 * for (vim's write: renamed away, then created anew) is taken as missing only once it has stayed
 * missing for the window: taken at once, a config.yaml was written again from the defaults or the
 * trail (trading turned back on), a strategies.yaml recorded as a set of no presets.
 */
async function readSettledAtOpen(
  fs: FileSystem,
  file: string,
  options: FileConfigStoreOptions,
  subject: 'config' | 'presets',
): Promise<string | null> {
  const clock = systemSettleClock;
  /**
   * A look of this start found the file there: missing now, it is an edit under way (vim's write:
   * renamed away, then created anew). A runner beside the API takes a file missing at its first look
   * so too: the API's write takes the file away for a moment (replaceChecked), and a runner starting
   * then reported config.yaml missing (or took no presets) until its next look.
   */
  let found = options.auditHandEdits === false;
  const { value } = await readSettledFiles({
    times: options.settle,
    clock,
    read: async () => {
      const readAt = clock.wall();
      const text = await readAtOpen(fs, file, options, subject);
      // Missing at the first look: missing (a first start). Gone since a look found it (or a runner's
      // first look): taken as missing only once it stayed missing for the window (missingWait), as a
      // running store does; at once when the directory has not changed for the window.
      if (text === null)
        return { value: text, files: [found ? { missing: { readAt, dirChangedAt: await dirChangedAt(file) } } : undefined] };
      found = true;
      const stat = await lstatRuntimeFile(file).catch(() => null);
      const look: FileLook = { stat, readAt, at: clock.now() };
      return { value: text, files: [{ look, whole: stat !== null && renamedAfterWritten(stat) }] };
    },
    keptChanging: (_files, maxMs) => {
      const name = path.basename(file);
      options.warn?.(`${name} kept changing for ${maxMs} ms: taken as it stands; write a hand edit whole (a temp file, then a rename)`, {
        files: [name],
      });
    },
  });
  return value;
}

/**
 * Reads `<runtimeDir>/strategies.yaml`, `config.yaml` and `audit.log` and returns the store. Writes
 * nothing: a missing config is served from defaults and written by `start()`; a missing presets
 * file means no presets (it is written with the first preset change). Throws ConfigFileError when
 * either file exists but is invalid (it is left exactly as it is).
 */
export async function openFileConfigStore(options: FileConfigStoreOptions): Promise<FileConfigStore> {
  const fs = options.fs ?? nodeFileSystem;
  const now = options.now ?? (() => new Date());
  const file = path.join(options.runtimeDir, CONFIG_FILE_NAME);
  const presetsFile = path.join(options.runtimeDir, PRESETS_FILE_NAME);
  const audit = await AuditFile.open({ runtimeDir: options.runtimeDir, fs, now, warn: options.warn });

  const yaml = options.yaml ?? sharedYamlParser();
  // A write killed in the moment it had taken a file away (replaceChecked) left it under its aside
  // name, beside its new file not yet linked: put back before anything reads it, as if the write had
  // stopped before it. An aside of a write that was done is clutter (the file missing now was removed
  // on purpose since) and goes, as every aside does here, whatever its pid (the API process only: it
  // holds the runtime dir's lock, so no write of another is under way). See putBackTakenAway.
  if (options.auditHandEdits !== false)
    for (const taken of [presetsFile, file]) {
      const aside = await putBackTakenAway(taken, { fs });
      if (aside) options.warn?.(`${taken}: put back from ${aside}, where a write stopped midway had set it aside`, { file: taken, aside });
    }
  const presetsText = await readSettledAtOpen(fs, presetsFile, options, 'presets');
  if (presetsText !== null) await parseOffThread(presetsText, yaml, options.parseDeadlineMs);
  const content = parsePresetsFile(options.strategies, presetsFile, presetsText);
  const presetsDigest = presetsText === null ? NO_PRESETS_DIGEST : digestOf(presetsText);
  // At open nothing is in force yet: only the trail's newest entry numbers the file (see inForceAtOpen).
  const presets = presetsInForce(content, presetsDigest, audit.last(1, 'PRESETS')[0], audit.lastVersion('PRESETS'));
  const presetsUnnumbered = presetsBeyondLastVersion(presetsFile, presets);
  if (presetsUnnumbered) throw presetsUnnumbered;
  const strategies = strategySetOf(options.strategies, content.presets);
  const withPresets = { presetsFile, presets, presetsStoredVersion: content.version, strategies };

  const text = await readSettledAtOpen(fs, file, options, 'config');
  // A runner-only process writes nothing (the API process beside it does): a missing config is
  // reported like an invalid one, and waited for. Written here from the defaults or the trail, with
  // an audit line, it was taken by the API for a hand edit and numbered again (two lines for one version).
  if (text === null && options.auditHandEdits === false) throw new ConfigFileError(file, [{ message: MISSING_FOR_RUNNER }]);
  if (text === null) {
    const lastVersion = audit.lastVersion('CONFIG');
    if (lastVersion >= MAX_VERSION)
      throw new VersionBoundError(
        file,
        `the file is missing and cannot be written again: version ${MAX_VERSION}, the last a config may have, is already recorded in audit.log`,
        'config',
        'audit.log',
        audit.last(1, 'CONFIG')[0]?.config,
      );
    const version = lastVersion + 1;
    // With a trail, config.yaml was lost (deleted, moved away): the last config it recorded comes
    // back, as the etcd store brings back a missing key's; the defaults would turn trading back on
    // and drop the overrides. No trail (a first start): the defaults. A recorded config no longer
    // valid (a preset it names is gone): the defaults with trading off, so that nothing trades a
    // strategy nobody chose until an operator activates one (they turned trading on, with
    // `trading_enabled: false` recorded, for an operator who moved config.yaml away as exit 78 says).
    const last = audit.last(1, 'CONFIG')[0];
    const restored = last ? restorableConfig(last.config, strategies, file) : null;
    const settings = restored ?? (last ? { ...DEFAULT_SETTINGS, tradingEnabled: false } : DEFAULT_SETTINGS);
    const config: RuntimeConfig = { ...settings, version, updatedAt: now().toISOString() };
    const snapshot = { config, digest: digestOf(renderNewConfigFile(config)) };
    const missingNote = !last
      ? undefined
      : restored
        ? `config.yaml was missing at start: written again from the audit trail's last config (version ${last.version})`
        : `config.yaml was missing at start, and the audit trail's last config (version ${last.version}) is not valid with the strategies in force: written with the defaults and trading disabled: choose a strategy, then turn trading on (stratctl config set trading_enabled=true)`;
    if (missingNote) options.warn?.(`${file}: ${missingNote}`, { file });
    return new FileStore(options, fs, yaml, now, {
      file,
      audit,
      config: snapshot,
      missing: true,
      ...(missingNote && { missingNote }),
      storedVersion: version,
      presetsText,
      presetsInvalid: null,
      ...withPresets,
    });
  }
  await parseOffThread(text, yaml, options.parseDeadlineMs);
  let parsed: ReturnType<typeof parseConfigFile>;
  try {
    parsed = parseConfigFile(strategies, file, text);
  } catch (err) {
    // The config names what only the presets kept out before the restart have: those stay in force.
    const kept =
      err instanceof ConfigFileError ? await keptPresetsAtOpen(options, fs, audit, presetsFile, presetsText, content, text) : null;
    if (!kept) throw err;
    return new FileStore(options, fs, yaml, now, {
      file,
      audit,
      config: inForceAtOpen(kept.parsed.config, digestOf(text), audit),
      missing: false,
      storedVersion: kept.parsed.config.version,
      presetsFile,
      presets: kept.presets,
      presetsStoredVersion: kept.presetsStoredVersion,
      strategies: kept.strategies,
      presetsText: kept.text,
      presetsInvalid: kept.presetsInvalid,
    });
  }
  const snapshot = inForceAtOpen(parsed.config, digestOf(text), audit);
  const unnumbered = beyondLastVersion(file, snapshot);
  if (unnumbered) throw unnumbered;
  return new FileStore(options, fs, yaml, now, {
    file,
    audit,
    config: snapshot,
    missing: false,
    storedVersion: parsed.config.version,
    presetsText,
    presetsInvalid: null,
    ...withPresets,
  });
}

/** Why a runner-only process does not start on a missing config.yaml (it waits for it). */
export const MISSING_FOR_RUNNER =
  'the file is missing; a runner does not write it: the API process beside it writes it (at its start, or with the next change through the API)';

/** An audited config's settings, if they are still valid with `strategies` (a preset it names may be gone). */
function restorableConfig(
  config: AuditEntry['config'],
  strategies: StrategyRegistry,
  file: string,
): Omit<RuntimeConfig, 'version' | 'updatedAt'> | null {
  try {
    // Rendered and read back as the file would be: the same checks as any config.yaml.
    const {
      version: _version,
      updatedAt: _updatedAt,
      ...settings
    } = parseConfigFile(strategies, file, renderNewConfigFile(config as RuntimeConfig)).config;
    return settings;
  } catch {
    return null;
  }
}

/**
 * The presets in force when a hand edit of strategies.yaml was kept out (it would break the config),
 * saved beside it so that a restart keeps them in force too: kept out only in memory, the edit made
 * the next start fail (serve: exit 78; a runner: "config invalid", never scanning). Written by the
 * API process when an edit is kept out, removed once strategies.yaml is in force again.
 */
export const KEPT_PRESETS_FILE = '.strategies.kept.yaml';

/**
 * How long a runner beside the API holds back new content no audit line records (holdBackUnaudited):
 * far longer than the API takes to undo a write whose audit append failed, short beside a scan.
 */
export const UNAUDITED_GRACE_MS = 2000;
/** What a runner beside a running API says of a hand edit the API has not recorded (holdBackUnaudited). */
export const WAITING_FOR_API = 'waiting for the API to record this hand edit';

/** Which new content (config.yaml, strategies.yaml) no audit line records yet (holdBackUnaudited). */
interface Unaudited {
  config: boolean;
  presets: boolean;
}

/** At open, with config.yaml invalid against strategies.yaml: the kept presets, if they make it valid. */
async function keptPresetsAtOpen(
  options: FileConfigStoreOptions,
  fs: FileSystem,
  audit: AuditFile,
  presetsFile: string,
  presetsText: string | null,
  content: PresetsContent,
  configText: string,
) {
  const keptFile = path.join(options.runtimeDir, KEPT_PRESETS_FILE);
  let text: string | null;
  try {
    text = await readAtOpen(fs, keptFile, options, 'presets');
  } catch {
    return null;
  }
  if (text === null) return null;
  // Only the set last in force: the one the trail recorded last (a kept-out edit is not audited).
  if (audit.last(1, 'PRESETS')[0]?.digest !== digestOf(text)) return null;
  try {
    const kept = parsePresetsFile(options.strategies, keptFile, text);
    const strategies = strategySetOf(options.strategies, kept.presets);
    const parsed = parseConfigFile(strategies, path.join(options.runtimeDir, CONFIG_FILE_NAME), configText);
    const digest = digestOf(text);
    const presets = presetsInForce(kept, digest, audit.last(1, 'PRESETS')[0], audit.lastVersion('PRESETS'));
    // strategies.yaml as the running process saw it: kept out, with the same words.
    const judged = judgeContent(options.strategies, presetsFile, presetsText, content, () => parsed.config);
    if (judged.ok) return null;
    const presetsInvalid: PresetsNotInForce = {
      digest: presetsText === null ? NO_PRESETS_DIGEST : digestOf(presetsText),
      error: judged.error,
      content,
    };
    options.warn?.(
      `${presetsFile} is kept out (it would leave the config invalid); the presets kept in ${keptFile} stay in force until the config stops using what the edit removes`,
    );
    return { parsed, presets, presetsStoredVersion: kept.version, strategies, text, presetsInvalid };
  } catch {
    return null;
  }
}

/**
 * The version a stored config is in force as. Versions never go backwards: content the trail
 * already recorded keeps the version recorded for it; new content whose `version` is not above the
 * last audited one (a hand edit that lowered or kept it) counts as last + 1.
 */
function inForce(config: RuntimeConfig, digest: string, audit: AuditFile, current: number): ConfigSnapshot {
  return numbered(config, digest, audit, audit.recorded('CONFIG', digest, current));
}

/**
 * inForce at open, when no version is in force yet: content keeps a recorded version only when the
 * trail's newest entry records it (the file as the last run left it). An older entry with the same
 * content is a file put back from before later changes (a backup restored while stopped): a new
 * change, numbered last + 1 and audited as a hand edit. Matched against any entry (as a running
 * store matches above the version in force, with 0 for it), it came back in force as its old
 * version: status and the runner went back to it, and the trail recorded that version twice.
 */
function inForceAtOpen(config: RuntimeConfig, digest: string, audit: AuditFile): ConfigSnapshot {
  const newest = audit.last(1, 'CONFIG')[0];
  return numbered(config, digest, audit, newest?.digest === digest ? newest : undefined);
}

function numbered(config: RuntimeConfig, digest: string, audit: AuditFile, recorded: AuditEntry | undefined): ConfigSnapshot {
  if (recorded) return { config: { ...config, version: recorded.version }, digest };
  const lastVersion = audit.lastVersion('CONFIG');
  return { config: config.version > lastVersion ? config : { ...config, version: lastVersion + 1 }, digest };
}

/**
 * Content that would be in force past MAX_VERSION (see unnumberedHandEditError): a hand edit
 * numbered last + 1 with the last recorded version at the bound.
 */
function beyondLastVersion(file: string, snapshot: ConfigSnapshot): ConfigFileError | null {
  return snapshot.config.version <= MAX_VERSION ? null : unnumberedHandEditError(file, 'config', 'audit.log');
}

/** beyondLastVersion for a preset set. */
function presetsBeyondLastVersion(file: string, snapshot: PresetsSnapshot): ConfigFileError | null {
  return snapshot.version <= MAX_VERSION ? null : unnumberedHandEditError(file, 'presets', 'audit.log');
}

class FileStore implements FileConfigStore {
  private readonly mutex = new Mutex();
  private readonly listeners = new Listeners<StoreEvent>();
  watch: FileWatch | undefined;
  readonly file: string;
  readonly presetsFile: string;
  private readonly auditLog: AuditFile;
  private snapshot: ConfigSnapshot;
  private missing: boolean;
  private readonly storedVersion: number;
  private presets: PresetsSnapshot;
  private readonly presetsStoredVersion: number;
  private strategies: StrategyRegistry;
  /** `strategies`: what an invalid config.yaml was judged against (a preset commit may change them before it is judged again). */
  private invalid: { digest: string; error: ConfigFileError; strategies?: StrategyRegistry } | null = null;
  /** The presets on disk are not in force: invalid (no content), or kept out (content that would break the config). */
  private presetsInvalid: PresetsNotInForce | null = null;
  /** The text of the presets in force (null: none stored), what KEPT_PRESETS_FILE holds while an edit is kept out. */
  private presetsText: string | null;
  /** The digest KEPT_PRESETS_FILE was written with (null: there is none, as far as this process knows). */
  private keptWritten: string | null = null;
  /** Whether KEPT_PRESETS_FILE may be there: unknown at open (one from before this process), then only after a save. */
  private keptMayExist = true;
  /** New content held back until the trail records it (holdBackUnaudited): its digests, since when (monotonic ms), the re-check. */
  private held: { key: string; since: number; timer: NodeJS.Timeout } | null = null;
  /** config.yaml was missing at open, with a trail: what was written instead (the recovery line's note). */
  private readonly missingNote: string | null;
  private closed = false;
  private started = false;
  private queuedRefresh: Promise<void> | null = null;
  private lastContactAt: string | null;
  /** Commits waiting for the next group write (group commit: one write per file and one audit append for all of them). */
  private readonly queue: QueuedCommit[] = [];
  private draining = false;
  /** The parsed document of the config text this store last wrote: the next group edits it instead of parsing the file again. */
  private written: { digest: string; doc: Document } | null = null;
  /**
   * Both files as this store last read or wrote them, while exactly what they hold is in force (null:
   * not known, e.g. a file invalid, refused or missing, or a write that failed). A group is judged on
   * these texts without reading the disk first; its write checks, just before the rename, that each
   * file still holds them, so a hand edit made since is caught there, then read, applied and built upon.
   */
  private known: DiskRead | null = null;
  /** Where reads and group writes run: in process until start() moves them to the worker. */
  private io: RuntimeFilesIo;
  /** Since when the files have been found still changing, whether that was said, and each file found missing since when: see readSettled. */
  private readonly spell = newSettleSpell();
  /** Each file's inode as last read (none: not seen yet, or replaced by a write of ours since): see readSettled. */
  private readonly seenIno = new Map<string, number>();
  /** Each file as this store's last group write put it in place (see ownWriteOnly). */
  private readonly placed = new Map<string, FileMark>();
  /** A group write under way: settled once its outcome (and `placed`) is recorded. */
  private writing: Promise<void> | null = null;
  /** The files written since the watch was last open, to be looked at when it is open again (see lookWhenReopened). */
  private readonly lookAt = new Set<string>();

  constructor(
    private readonly options: FileConfigStoreOptions,
    private readonly fs: FileSystem,
    private readonly yaml: YamlParser,
    private readonly now: () => Date,
    opened: Opened,
  ) {
    this.file = opened.file;
    this.presetsFile = opened.presetsFile;
    this.auditLog = opened.audit;
    this.snapshot = opened.config;
    this.missing = opened.missing;
    this.missingNote = opened.missingNote ?? null;
    this.storedVersion = opened.storedVersion;
    this.presets = opened.presets;
    this.presetsText = opened.presetsText;
    this.presetsInvalid = opened.presetsInvalid;
    this.presetsStoredVersion = opened.presetsStoredVersion;
    this.strategies = opened.strategies;
    this.lastContactAt = now().toISOString();
    this.io = inProcessIo(fs);
  }

  get ioKind(): 'worker' | 'in-process' {
    return this.io.kind;
  }

  get ioThread(): 'thread' | 'starting' | 'none' {
    return this.io.threadListening ? 'thread' : this.io.threadRunning ? 'starting' : 'none';
  }

  get auditFile(): string {
    return this.auditLog.file;
  }

  private readonly answers = new StoreAnswers();

  readonly info = (): StoreInfo => this.answers.info('FILE', this.file, true, this.lastContactAt);

  state(): StoreState {
    return this.answers.state(this.snapshot, this.strategies, this.presets);
  }

  problem(): ConfigFileError | null {
    return this.invalid?.error ?? null;
  }

  strategiesProblem(): ConfigFileError | null {
    return this.presetsInvalid?.error ?? null;
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    return this.listeners.add(listener);
  }

  private emit(event: StoreEvent): void {
    this.listeners.emit(event);
  }

  private warn(message: string, fields?: Record<string, unknown>): void {
    this.options.warn?.(message, fields);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    let appeared = false;
    // A runner-only process only reads: the API process beside it owns the files and the trail (it
    // clears temp files, sets a torn audit tail aside, writes a missing config and the lines the trail
    // lacks). Done here too, a runner's repair could cut an append the API was making, and its
    // recovery line and rewritten config.yaml were recorded again by the API: two lines for one version.
    if (this.options.auditHandEdits !== false)
      await this.mutex.run(async () => {
        // Every file of the runtime dir written by rename: a kill mid-write leaves its temp file (tokens.yaml's holds token digests).
        const dir = this.options.runtimeDir;
        // (audit.log too: `store migrate` writes it whole, by rename, and a kill left up to the whole trail behind.)
        for (const file of [
          this.file,
          this.presetsFile,
          path.join(dir, KEPT_PRESETS_FILE),
          path.join(dir, TOKENS_FILE),
          this.auditLog.file,
        ]) {
          const stray = await removeStrayTempFiles(file, { fs: this.fs });
          if (stray.length > 0)
            this.warn(`removed ${stray.length} temp file(s) left by an interrupted write: ${stray.join(', ')}`, { files: stray });
        }
        await this.auditLog.repair();
        // Written only if still missing (link(2), never a rename over): a config.yaml a person or a tool
        // created since open() is left as it is, and judged as a hand edit once the store watches.
        if (this.missing) {
          appeared =
            (await this.writeRuntimeFile(this.file, renderNewConfigFile(this.snapshot.config), 0o644, { noReplace: true })) === 'exists';
          if (appeared)
            this.warn(`${path.basename(this.file)} appeared while the server was starting: left as it is, and judged as a hand edit`, {
              files: [path.basename(this.file)],
            });
          this.missing = false;
        }
        // Serving changes that cannot be audited would break the trail's promise: refuse to start.
        await this.reconcileAudit().catch((err: unknown) => {
          const errno = err instanceof ConfigWriteError ? err.errno : errnoOf(err);
          throw Object.assign(new Error(`cannot write the audit log ${this.auditLog.file} (${errno ?? String(err)})`, { cause: err }), {
            code: errno,
          });
        });
        // strategies.yaml is in force (not kept out at open): a kept copy from an earlier run has done its
        // work (reconcileAudit read it). Left, it stayed until the next presets change.
        if (this.presetsInvalid === null) await this.dropKeptPresets();
      });
    if (this.options.ioWorker ?? this.options.fs === undefined)
      this.io = workerIo(this.io, { followLoad: this.options.followLoad ?? followLoad });
    // A runner beside the API also watches the trail: a change held back until its audit line comes
    // (holdBackUnaudited) goes in force as soon as the line is there.
    const watched =
      this.options.auditHandEdits === false ? [this.file, this.presetsFile, this.auditLog.file] : [this.file, this.presetsFile];
    this.watch = watchFile(watched, (name) => this.hinted(name), {
      pollMs: this.options.pollMs ?? 1000,
    });
    // Created before the watch began: no event will name it.
    if (appeared) void this.refresh().catch(() => {});
  }

  /**
   * A process that does not audit (a runner beside the API) holds back new content that has no audit
   * line yet. The API renames a change into place before it appends the change's audit line, and
   * undoes the rename when the append fails (a full disk): that change was refused ("nothing
   * changed"), yet a runner reading the file in between applied it and scanned with it. So content
   * goes in force here once the trail records it (its newest line of that subject: an older line
   * with the same digest, a backup copied back, is not this edit's), or, when nothing records it
   * within UNAUDITED_GRACE_MS (a hand edit with no API running, an invalid file), as it stands,
   * unless an API process runs (readDisk asks: it keeps out a hand edit whose line it cannot write).
   * 'held': held back; otherwise which new content no line records (the grace is over).
   */
  private async holdBackUnaudited(configText: string | null, presetsText: string | null): Promise<'held' | Unaudited> {
    const configDigest = configText === null ? null : digestOf(configText);
    const presetsDigest = presetsText === null ? NO_PRESETS_DIGEST : digestOf(presetsText);
    const configNew = configDigest !== null && configDigest !== this.snapshot.digest && configDigest !== this.invalid?.digest;
    const presetsNew = presetsDigest !== this.presets.digest && presetsDigest !== this.presetsInvalid?.digest;
    if (configNew || presetsNew) await this.followAudit();
    const audited = (subject: 'CONFIG' | 'PRESETS', digest: string | null) => this.auditLog.last(1, subject)[0]?.digest === digest;
    const unaudited = { config: configNew && !audited('CONFIG', configDigest), presets: presetsNew && !audited('PRESETS', presetsDigest) };
    if (!unaudited.config && !unaudited.presets) {
      this.releaseHold();
      return unaudited;
    }
    const key = `${configDigest}|${presetsDigest}`;
    // Monotonic, as every wait here (README): on the wall clock a step back (NTP) held a hand edit
    // that much longer, and a step forward took a change the API was about to undo.
    const now = this.monotonicNow();
    if (this.held?.key !== key) {
      this.releaseHold();
      const timer = setTimeout(() => void this.refresh().catch(() => {}), UNAUDITED_GRACE_MS);
      timer.unref();
      this.held = { key, since: now, timer };
      return 'held';
    }
    // Kept (its timer has fired) while the same content stays unrecorded: not held for a new grace at every check.
    return now - this.held.since < UNAUDITED_GRACE_MS ? 'held' : unaudited;
  }

  private releaseHold(): void {
    if (this.held) clearTimeout(this.held.timer);
    this.held = null;
  }

  /**
   * At start: a config (or preset set) the trail has no entry for (a crash between the write and
   * its audit line, or a hand edit while stopped) gets one now, so the trail's last entry matches the file.
   */
  private async reconcileAudit(): Promise<void> {
    // A version above the trail's was written by the API (or someone who bumped it): a crash came
    // between the write and its audit line. One at or below it is a hand edit made while stopped.
    const operationFor = (last: AuditEntry | undefined, stored: number) =>
      !last ? 'baseline' : stored > last.version ? 'recovery' : 'handEdit';
    const entries: AuditEntry[] = [];
    const lastPresets = this.auditLog.last(1, 'PRESETS')[0];
    if (lastPresets?.digest !== this.presets.digest && (lastPresets || this.presets.version > 0)) {
      // The set the trail recorded last saved as kept: strategies.yaml was a hand edit kept out in the
      // last run (no API write goes in while one is), whatever version it names; a person bumping it
      // made it look like a crash between a write and its audit line.
      const kept = lastPresets ? await this.keptAudited(lastPresets) : null;
      const operation = kept ? 'handEdit' : operationFor(lastPresets, this.presetsStoredVersion);
      const before = operation === 'handEdit' ? kept : null;
      entries.push(presetsSystemEntry(operation, this.presets, before, lastPresets, this.snapshot.config, this.now()));
      if (operation !== 'baseline')
        this.warn(`presets version ${this.presets.version} had no audit entry; recorded now as "${operation}"`, {
          subject: 'presets',
          version: this.presets.version,
          operation,
        });
    }
    const last = this.auditLog.last(1, 'CONFIG')[0];
    const current = this.snapshot;
    if (last?.digest !== current.digest) {
      const operation = operationFor(last, this.storedVersion);
      const entry = systemAuditEntry(operation, current, last, this.now());
      // Not "a crash between the two": the file was gone, and this is what was written in its place.
      entries.push(this.missingNote ? { ...entry, details: { ...entry.details, note: this.missingNote } } : entry);
      if (operation !== 'baseline' && !this.missingNote)
        this.warn(`config version ${current.config.version} had no audit entry; recorded now as "${operation}"`, {
          subject: 'config',
          version: current.config.version,
          operation,
        });
    }
    await this.auditLog.append(entries);
  }

  /**
   * The presets of KEPT_PRESETS_FILE when they are the set `last` recorded (null otherwise): an edit
   * kept out in the last run, let in at this start, changed exactly that set. Its hand-edit line lists
   * what it changed (a preset it removed) instead of "what changed is not known".
   */
  private async keptAudited(last: AuditEntry): Promise<readonly PresetDefinition[] | null> {
    const keptFile = path.join(this.options.runtimeDir, KEPT_PRESETS_FILE);
    try {
      const text = await readAtOpen(this.fs, keptFile, this.options, 'presets');
      if (text === null || digestOf(text) !== last.digest) return null;
      return parsePresetsFile(this.options.strategies, keptFile, text).presets;
    } catch {
      // Unreadable or invalid: not the set the trail recorded, as far as can be told.
      return null;
    }
  }

  async audit(query: AuditQuery): Promise<readonly AuditEntry[]> {
    return this.auditLog.last(Math.max(0, query.last), query.subject);
  }

  /**
   * A watch event (`name`: the file it named) or the periodic check (null). A group write of ours
   * closes the watch while it runs (closedDuring): on Linux its events never come. One that does
   * come (a platform whose events arrive late, after the watch is open again) is passed over here.
   * Every group write renames config.yaml into place, and the event of that rename used to start a refresh that
   * read both files under the store's lock: the next activation waited behind it (one in five,
   * in a run of 2,000 round trips; up to 8 ms at p99 on a busy machine) and its reads took two more
   * hand-offs to the I/O thread. An event whose file is still exactly as our last write put it there
   * (its inode, size and mtime) is that write's own: nothing to read. Any other event, and every
   * periodic check, refreshes as before, so a hand edit is seen by its own event, and one that kept
   * all three (an edit in place of the same size, within one tick of the file clock) by the next check.
   */
  private hinted(name: string | null): void {
    const refresh = () => void this.refresh().catch(() => {});
    if (name === null) refresh();
    else
      void this.ownWriteOnly(path.join(path.dirname(this.file), name)).then((own) => {
        if (!own) refresh();
      }, refresh);
  }

  /**
   * The watch is closed while a write of ours runs and opened again a little after it (closedDuring):
   * an edit made meanwhile raised no event. When it is open again, each file our writes put in
   * place is looked at once, as its event would have had it looked at (`hinted`): one that is no
   * longer as we placed it (renamed over, or written in place to another size) is read at once,
   * not at the periodic check. One look for a run of writes back to back, at the files they wrote
   * only (a file written long ago and edited by hand since is not as placed: looking at it after
   * every write would read both files after every write).
   */
  private lookWhenReopened(files: readonly string[]): void {
    const watch = this.watch;
    if (!watch || files.length === 0) return;
    const due = this.lookAt.size > 0;
    for (const file of files) this.lookAt.add(file);
    if (due) return;
    void watch.reopened().then(() => {
      const written = [...this.lookAt];
      this.lookAt.clear();
      if (this.closed) return;
      for (const file of written) this.hinted(path.basename(file));
    });
  }

  /** Whether `file` is still exactly what our last group write put in place (after the write under way, if any). */
  private async ownWriteOnly(file: string): Promise<boolean> {
    // The event of a rename often comes before its write is answered (the audit append follows it).
    // Looked at in a later turn: the write's answers go out first, not behind this look.
    do {
      while (this.writing) await this.writing;
      await setImmediatePromise();
    } while (this.writing);
    const mark = this.placed.get(file);
    if (!mark) return false;
    const stat = await lstatRuntimeFile(file);
    return stat !== null && stat.ino === mark.ino && stat.size === mark.size && stat.mtimeMs === mark.mtimeMs;
  }

  refresh(): Promise<void> {
    if (this.closed || !this.started) return Promise.resolve();
    // A refresh still waiting for the lock covers every hint that arrives before it starts (it reads
    // the disk when it runs). Without this, under load the poll and watch events queued refreshes
    // faster than they ran, and a save waited behind all of them (seconds, in the load test).
    this.queuedRefresh ??= this.mutex.run(async () => {
      this.queuedRefresh = null;
      await this.readDisk();
    });
    return this.queuedRefresh;
  }

  /**
   * Saves the presets in force to KEPT_PRESETS_FILE (an API process only: the one that audits), once
   * per set: openFileConfigStore takes them from there when strategies.yaml, kept out, would
   * otherwise fail the start. A save that fails is a warning: the running state is unchanged.
   */
  private async saveKeptPresets(): Promise<void> {
    if (this.options.auditHandEdits === false || this.presetsText === null || this.keptWritten === this.presets.digest) return;
    const kept = path.join(this.options.runtimeDir, KEPT_PRESETS_FILE);
    try {
      this.keptMayExist = true;
      await writeFileAtomic(kept, this.presetsText, { fs: this.fs, mode: 0o600 });
      this.keptWritten = this.presets.digest;
    } catch (err) {
      this.warn(`could not save the presets in force to ${kept} (a restart would not keep them): ${(err as Error).message}`, {
        file: kept,
        errno: errnoOf(err),
      });
    }
  }

  /** strategies.yaml is in force again: the kept presets go (there may be some from before this process started). */
  private async dropKeptPresets(): Promise<void> {
    // Once gone, not asked again on every later presets change (a write path).
    if (this.options.auditHandEdits === false || !this.keptMayExist) return;
    this.keptMayExist = false;
    this.keptWritten = null;
    await this.fs.unlink(path.join(this.options.runtimeDir, KEPT_PRESETS_FILE)).catch((err: unknown) => {
      if (errnoOf(err) !== 'ENOENT')
        this.warn(`could not remove ${KEPT_PRESETS_FILE}: ${(err as Error).message}`, { file: KEPT_PRESETS_FILE, errno: errnoOf(err) });
    });
  }

  /**
   * Who made a change this store did not write: in a process that does not audit (a runner beside
   * the API), a change the API's trail records as one of its operations (an activation, a preset
   * upserted) is the API's (`replica`, with its entry: the process log says who made it, as an etcd
   * runner's does); anything else is a hand edit. The API's own store audits what it did not write
   * itself: always a hand edit there. Before, a runner beside the API logged every API change as
   * `source: "handEdit"`.
   */
  private whoseChange(
    subject: AuditSubject,
    digest: string,
    inForce: number,
  ): { source: 'handEdit' | 'replica'; audit: AuditEntry | null } {
    if (this.options.auditHandEdits !== false) return { source: 'handEdit', audit: null };
    const entry = this.auditLog.recorded(subject, digest, inForce);
    return entry && !SYSTEM_OPERATIONS.has(entry.operation) ? { source: 'replica', audit: entry } : { source: 'handEdit', audit: null };
  }

  /** The API's audit lines since the last look; one that cannot be read leaves the numbering to what is known. */
  private async followAudit(): Promise<void> {
    await this.auditLog
      .follow()
      .catch((err: unknown) =>
        this.warn(`could not read ${this.auditLog.file}: ${(err as Error).message}`, { file: this.auditLog.file, errno: errnoOf(err) }),
      );
  }

  /**
   * Both files as read once a hand edit in them has stopped changing (src/fs/settle.ts): written in
   * place, in pieces, a file read between the truncate and the last write holds part of the edit, and
   * that part was put in force (an empty strategies.yaml is a valid set: numbered, audited, and the
   * runner told its presets were gone; a half config.yaml flipped /ready to 503). Only new content is
   * looked at: text this store wrote (in force already) or already judged invalid is taken at once,
   * so the API's own writes never wait. New content in a different file than the one last read (a
   * rename into place: a temp file, then `mv`, as README advises, `sed -i`) is whole: taken at once
   * too. New content in the same file (or one not seen yet) waits until the file is still. A file
   * gone missing is an edit under way too (vim's default write renames it to `file~`, then creates
   * it anew; `rm`, then a new file): taken as missing only once it has stayed missing for the same
   * window (missingWait), and a file that comes back meanwhile is a file not seen yet. A runner beside
   * the API (no audit) waits only for a missing file: it takes new content once the API has audited
   * it, or after UNAUDITED_GRACE_MS unchanged (holdBackUnaudited). Runs under the mutex, so a commit
   * meanwhile waits for the edit and builds upon the whole of it; the API's own writes make a file
   * missing only between a take-away and its link (replaceChecked: three system calls; a runner
   * beside the API waits that out as any missing file, looking again 2 ms later: MISSING_LOOK_MS), and a file already taken as missing is not waited for again.
   */
  private async readSettled(): Promise<FileRead[]> {
    const files = [this.presetsFile, this.file];
    if ((this.options.settle?.ms ?? SETTLE_MS) <= 0) return this.io.read(files, fileChecks(this.options));
    // A runner beside the API waits only for a file gone missing (new content it takes once audited).
    const content = this.options.auditHandEdits !== false;
    const clock = systemSettleClock;
    const { value, files: looks } = await readSettledFiles({
      times: this.options.settle,
      clock,
      spell: this.spell,
      read: async () => {
        const readAt = clock.wall();
        const reads = await this.io.read(files, fileChecks(this.options));
        const known = [
          [this.presets.digest, this.presetsInvalid?.digest],
          [this.snapshot.digest, this.invalid?.digest],
        ];
        // Missing already taken: no presets in force (a missing file is the empty set), or config.yaml reported missing.
        const missingTaken = [known[0]?.includes(NO_PRESETS_DIGEST), this.invalid?.digest === 'missing'];
        const entries = await Promise.all(
          reads.map(async (read, i): Promise<SettleEntry> => {
            const file = files[i] as string;
            if (read === null) {
              // Whatever comes next is a file not seen yet (waited for until still, never taken as a rename into place).
              this.seenIno.delete(file);
              // Gone missing (vim's write, rm then a new file): taken once it has stayed missing (src/fs/settle.ts).
              return missingTaken[i] ? undefined : { missing: { readAt, dirChangedAt: await dirChangedAt(file) } };
            }
            // Refused: nothing being written to judge.
            if (typeof read !== 'string' || !content) return undefined;
            const fresh = !known[i]?.includes(digestOf(read));
            // Text in force: its file is noted (once after each write of ours), so that a rename over it is known for one.
            if (!fresh && this.seenIno.has(file)) return undefined;
            const stat = await lstatRuntimeFile(file).catch(() => null);
            if (!fresh) {
              if (stat) this.seenIno.set(file, stat.ino);
              return undefined;
            }
            const seen = this.seenIno.get(file);
            // Renamed into place: a different file than the one last read, written whole before the rename.
            const whole = stat !== null && seen !== undefined && stat.ino !== seen && renamedAfterWritten(stat);
            return { look: { stat, readAt, at: clock.now() }, whole };
          }),
        );
        return { value: reads, files: entries };
      },
      keptChanging: (changing, maxMs) => {
        const names = changing.map((i) => path.basename(files[i] as string));
        this.warn(
          `${names.join(' and ')} kept changing for ${maxMs} ms: taken as it stands; write a hand edit whole (a temp file, then a rename)`,
          { files: names },
        );
      },
    });
    looks.forEach((entry, i) => {
      if (entry && 'look' in entry && entry.look.stat) this.seenIno.set(files[i] as string, entry.look.stat.ino);
    });
    return value;
  }

  /**
   * Reads both files and brings the state in force level with them: a valid hand edit is applied
   * as it stands and audited; an invalid one (or presets that would break the config) is reported
   * and the last good state stays. Presets first: the config is judged against the strategies
   * they make, and both are put in force together, so readers never see one without the other.
   */
  private async readDisk(): Promise<DiskRead> {
    this.known = null;
    // What was reported before this read (the branches below reset it): an edit that still cannot be
    // recorded is not reported again.
    const reported = { config: this.invalid, presets: this.presetsInvalid };
    // A file refused before it was read (a FIFO, a directory, a link, too large) is never read: reported like an invalid one.
    const [presetsRead = null, configRead = null] = await this.readSettled();
    const presetsRefused = presetsRead instanceof RuntimeFileRefusedError ? presetsRead : null;
    const configRefused = configRead instanceof RuntimeFileRefusedError ? configRead : null;
    const presetsText = presetsRefused ? null : (presetsRead as string | null);
    const configText = configRefused ? null : (configRead as string | null);
    const unaudited = this.options.auditHandEdits === false ? await this.holdBackUnaudited(configText, presetsText) : null;
    if (unaudited === 'held') {
      return { configText, presetsText, configRefused: configRefused !== null, presetsRefused: presetsRefused !== null };
    }
    this.lastContactAt = this.now().toISOString();
    const current = {
      config: this.snapshot,
      configInvalid: this.invalid !== null,
      knownInvalidConfig: this.invalid,
      strategies: this.strategies,
      presets: this.presets,
      presetsInvalid: this.presetsInvalid,
    };
    // New content is parsed in the parse worker first; what is judged below takes its result.
    const fresh = (text: string | null, inForceDigest: string, invalidDigest: string | undefined) => {
      const digest = text === null ? null : digestOf(text);
      return digest !== null && digest !== inForceDigest && digest !== invalidDigest;
    };
    if (fresh(presetsText, this.presets.digest, this.presetsInvalid?.digest)) {
      await parseOffThread(presetsText as string, this.yaml, this.options.parseDeadlineMs);
    }
    if (configText !== null && (fresh(configText, this.snapshot.digest, this.invalid?.digest) || presetsText !== null)) {
      await parseOffThread(configText, this.yaml, this.options.parseDeadlineMs);
    }
    const files = { config: this.file, presets: this.presetsFile };
    let presetsStep = presetsRefused
      ? {
          digest: `refused:${presetsRefused.message}`,
          judgement: { ok: false as const, error: refusedFile(this.presetsFile, presetsRefused, 'presets') },
        }
      : judgePresetsRead(this.options.strategies, files, { configText, presetsText }, current);
    // New presets are numbered first: one that no version is left for is kept out like an invalid
    // file, before the config is judged against the strategies it would have made.
    let numbered: PresetsSnapshot | null = null;
    if (presetsStep?.judgement.ok && presetsStep.digest !== this.presets.digest) {
      // A process that does not audit (a runner beside the API) numbers a hand edit as the API did: from its audit lines.
      if (this.options.auditHandEdits === false) await this.followAudit();
      // The entry that records this content, if the trail has it (not only its last entry: see AuditFile.recorded).
      const recorded = this.auditLog.recorded('PRESETS', presetsStep.digest, this.presets.version) ?? this.auditLog.last(1, 'PRESETS')[0];
      numbered = presetsInForce(presetsStep.judgement.content, presetsStep.digest, recorded, this.auditLog.lastVersion('PRESETS'));
      const unnumbered = presetsBeyondLastVersion(this.presetsFile, numbered);
      if (unnumbered) presetsStep = { digest: presetsStep.digest, judgement: { ok: false, error: unnumbered } };
    }
    const strategies = presetsStep?.judgement.ok ? presetsStep.judgement.strategies : this.strategies;
    const configStep: ReturnType<typeof judgeConfigRead> = configRefused
      ? { kind: 'invalid', digest: `refused:${configRefused.message}`, error: refusedFile(this.file, configRefused, 'config') }
      : judgeConfigRead(this.file, configText, strategies, current);

    const events: StoreEvent[] = [];
    const entries: AuditEntry[] = [];
    // Done once the state is whole (an await in the middle let readers see half of it).
    let keptPresets: 'save' | 'drop' | null = null;
    let presetsChange: Extract<StoreEvent, { type: 'presetsChanged' }> | null = null;
    let configChange: Extract<StoreEvent, { type: 'changed' }> | null = null;
    let newStrategies = this.strategies;
    if (presetsStep && !presetsStep.judgement.ok) {
      const { error, content } = presetsStep.judgement;
      const same = this.presetsInvalid?.digest === presetsStep.digest && this.presetsInvalid.error.message === error.message;
      this.presetsInvalid = { digest: presetsStep.digest, error, ...(content && { content }) };
      if (!same) events.push({ type: 'presetsInvalid', error });
      // Kept out (valid, but it would break the config): the set in force is saved, so a restart keeps it too.
      if (content) keptPresets = 'save';
    } else if (presetsStep?.judgement.ok) {
      const wasInvalid = this.presetsInvalid !== null;
      keptPresets = 'drop';
      if (presetsStep.digest !== this.presets.digest && numbered) {
        // Put in force below, once its audit line is durable.
        newStrategies = presetsStep.judgement.strategies;
        presetsChange = {
          type: 'presetsChanged',
          previous: this.presets,
          current: numbered,
          ...this.whoseChange('PRESETS', presetsStep.digest, this.presets.version),
        };
      } else {
        this.presetsInvalid = null;
        this.presetsText = presetsText;
        if (wasInvalid) events.push({ type: 'presetsValid' });
      }
    }
    if (configStep.kind === 'missing') {
      const error = new ConfigMissingError(this.file, [
        { message: 'the file is missing; the next change through the API writes it again' },
      ]);
      if (this.invalid?.digest !== 'missing') events.push({ type: 'invalid', error });
      this.invalid = { digest: 'missing', error };
    } else if (configStep.kind === 'invalid') {
      if (this.invalid?.digest !== configStep.digest) events.push({ type: 'invalid', error: configStep.error });
      this.invalid = { digest: configStep.digest, error: configStep.error, strategies };
    } else if (configStep.kind === 'valid') {
      this.invalid = null;
      events.push({ type: 'valid' });
    } else if (configStep.kind === 'changed') {
      const previous = this.snapshot;
      if (this.options.auditHandEdits === false) await this.followAudit();
      const current = inForce(configStep.config, configStep.digest, this.auditLog, previous.config.version);
      const unnumbered = beyondLastVersion(this.file, current);
      if (unnumbered) {
        if (this.invalid?.digest !== configStep.digest) events.push({ type: 'invalid', error: unnumbered });
        this.invalid = { digest: configStep.digest, error: unnumbered };
      } else {
        // Put in force below, once its audit line is durable.
        configChange = { type: 'changed', previous, current, ...this.whoseChange('CONFIG', configStep.digest, previous.config.version) };
      }
    }

    // Audited together (one append), presets first: the config entry may name a preset they added.
    const audits = this.options.auditHandEdits !== false;
    const lastPresets = this.auditLog.last(1, 'PRESETS')[0];
    if (audits && presetsChange && lastPresets?.digest !== presetsChange.current.digest) {
      const { current, previous } = presetsChange;
      // The config the presets go in force with: the edited one when both changed.
      const config = (configChange?.current ?? this.snapshot).config;
      const entry = presetsSystemEntry('handEdit', current, previous.presets, lastPresets, config, this.now());
      entries.push(entry);
      presetsChange = { ...presetsChange, audit: entry };
    }
    const lastConfig = this.auditLog.last(1, 'CONFIG')[0];
    if (audits && configChange && lastConfig?.digest !== configChange.current.digest) {
      const entry = systemAuditEntry('handEdit', configChange.current, lastConfig, this.now());
      entries.push(entry);
      configChange = { ...configChange, audit: entry };
    }
    /**
     * The changes found stay out of force: each is reported like an invalid file, saying `problem`,
     * and the last good state stays; judged again at every check. True when that is news (said once
     * per edit and reason: the check runs every second).
     */
    const keepOut = (problem: string): boolean => {
      const report = (was: { digest: string; error: ConfigFileError } | null, digest: string) =>
        !(was?.digest === `unrecorded:${digest}` && was.error.problems[0]?.message === problem);
      let news = false;
      if (configChange) {
        const error = new ConfigFileError(this.file, [{ message: problem }]);
        if (report(reported.config, configChange.current.digest)) {
          news = true;
          events.push({ type: 'invalid', error });
        }
        this.invalid = { digest: `unrecorded:${configChange.current.digest}`, error };
        configChange = null;
      }
      if (presetsChange) {
        const error = new ConfigFileError(this.presetsFile, [{ message: problem }], 'presets');
        if (report(reported.presets, presetsChange.current.digest)) {
          news = true;
          events.push({ type: 'presetsInvalid', error });
        }
        this.presetsInvalid = { digest: `unrecorded:${presetsChange.current.digest}`, error };
        presetsChange = null;
        keptPresets = null;
      }
      return news;
    };
    // A runner beside a running API: content the API has not recorded past the grace is content it
    // keeps out (it could not write its line: a full disk, audit.log replaced), so it stays out here
    // too until its line comes (the watch of audit.log brings it at once). Taken after the grace, it
    // ran a version the trail never held while the API said it was not in force.
    if (unaudited && ((configChange && unaudited.config) || (presetsChange && unaudited.presets))) {
      const api = await this.options.apiProcess?.();
      if (api) {
        const files = [configChange && path.basename(this.file), presetsChange && path.basename(this.presetsFile)].filter(
          (name): name is string => typeof name === 'string',
        );
        const serving = `process ${api.pid || '?'} on ${api.host || '?'} serves this runtime directory`;
        if (keepOut(`this hand edit is not applied yet: ${WAITING_FOR_API} in audit.log (${serving}); applied once its line is there`))
          this.warn(`a hand edit of ${files.join(' and ')} is not applied: ${WAITING_FOR_API} in audit.log (${serving})`, {
            files,
            apiPid: api.pid,
            apiHost: api.host,
          });
      }
    }
    // Audit line durable, then in force (as a change through the API: file, audit line, answer). Until
    // the append is done readers see the state before the edit: status never shows a version the
    // trail does not hold yet (a test read status, then audit.log, and found no line for it).
    if (entries.length > 0) {
      const unrecorded = await this.auditLog.append(entries).then(
        () => null,
        (err: unknown) => err,
      );
      if (unrecorded !== null) {
        // Not in force unrecorded: the trail must hold every version that ran (DESIGN: the two always
        // agree). It was put in force anyway and never recorded, so the history skipped a version the
        // runner ran. The last good state stays; the edit is reported like an invalid file, and
        // judged (and its line tried) again at every check until the line can be written.
        const why = unrecordedWhy(unrecorded);
        if (keepOut(`this hand edit is not in force: ${why}`))
          this.warn(`could not record a hand edit in the audit trail, so it is not in force: ${why}`, {
            file: this.auditLog.file,
            ...(unrecorded instanceof ConfigWriteError
              ? { step: unrecorded.step, errno: unrecorded.errno }
              : { errno: errnoOf(unrecorded) }),
          });
      }
    }
    if (presetsChange) {
      this.presetsInvalid = null;
      this.presetsText = presetsText;
      this.presets = presetsChange.current;
      this.strategies = newStrategies;
      events.unshift(presetsChange);
    }
    if (configChange) {
      this.invalid = null;
      this.snapshot = configChange.current;
      events.push(configChange);
    }
    for (const event of events) this.emit(event);
    if (keptPresets === 'save') await this.saveKeptPresets();
    if (keptPresets === 'drop') await this.dropKeptPresets();
    const read = { configText, presetsText, configRefused: configRefused !== null, presetsRefused: presetsRefused !== null };
    this.know(read);
    return read;
  }

  /** Records the files' texts as known when what they hold is exactly what is in force (see `known`). */
  private know(read: DiskRead): void {
    const inForce = !read.configRefused && !read.presetsRefused && read.configText !== null && !this.invalid && !this.presetsInvalid;
    this.known = inForce ? read : null;
  }

  commit(change: ConfigChange, options?: CommitOptions): Promise<CommitResult>;
  commit(change: PresetsChange, options?: CommitOptions): Promise<PresetsCommitResult>;
  commit(change: Change, options?: CommitOptions): Promise<CommitResult | PresetsCommitResult>;
  /**
   * Group commit: a change waits for the write in progress (if any), then goes out with every
   * change queued meanwhile (config and presets alike): at most one durable write per file and one
   * fsync'd audit append for the group, each change still judged in order with its own version and
   * audit line, and nobody answered before the whole group is durable.
   */
  commit(change: Change, options: CommitOptions = {}): Promise<CommitResult | PresetsCommitResult> {
    if (this.closed) return Promise.reject(new Error('config store is closed'));
    return new Promise<CommitResult | PresetsCommitResult>((resolve, reject) => {
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

  private async commitGroupLocked(group: QueuedCommit[], attempt = 1): Promise<void> {
    const refuseAll = (err: unknown) => {
      for (const queued of group) queued.reject(err);
    };
    let disk: DiskRead;
    // The first attempt is judged on the files as last known (no read); a retry reads them.
    const known = attempt === 1 ? this.known : null;
    try {
      // The files on disk are the base: a hand edit made since the last load is built upon, not lost.
      disk = !this.started
        ? {
            configText: null,
            presetsText: group.some((q) => q.change.subject === 'PRESETS')
              ? await readRuntimeFile(this.fs, this.presetsFile, fileChecks(this.options))
              : null,
          }
        : (known ?? (await this.readDisk()));
    } catch (err) {
      return refuseAll(err);
    }
    let usedDoc: Document | null = null;
    const configDoc = () => {
      if (disk.configText === null) return null;
      const digest = digestOf(disk.configText);
      if (this.written?.digest === digest) usedDoc = this.written.doc;
      // The text in force (the first write after a start, or after a hand edit): judged when it came
      // into force, so not parsed and validated again (~6 ms of a fresh server's first activation).
      else if (digest === this.snapshot.digest) usedDoc = inForceConfigDocument(disk.configText);
      else usedDoc = parseConfigFile(this.strategies, this.file, disk.configText).doc;
      return usedDoc;
    };
    let judged: ReturnType<typeof judgeGroup>;
    try {
      judged = judgeGroup(group, {
        inForce: this.state(),
        staticStrategies: this.options.strategies,
        lastAudited: { CONFIG: this.auditLog.lastVersion('CONFIG'), PRESETS: this.auditLog.lastVersion('PRESETS') },
        // A file that is invalid (or kept out) is a person's to fix: never written over. A missing one is
        // written again, but for strategies.yaml removed while the config uses a preset (its removal
        // kept out): written again, it would bring back the set the person removed, and clear the
        // report, unasked (the audit named only the preset added).
        configInvalid: this.invalid && (disk.configText !== null || disk.configRefused) ? this.invalid.error : null,
        presetsInvalid:
          this.presetsInvalid && (disk.presetsText !== null || disk.presetsRefused || this.presetsInvalid.content !== undefined)
            ? this.presetsInvalid.error
            : null,
        configDoc,
        presetsText: disk.presetsText,
        now: this.now,
        digestOf,
        files: { config: this.file, presets: this.presetsFile },
      });
    } catch (err) {
      this.written = null; // the document may be half edited
      return refuseAll(err);
    }
    if (judged.entries.length === 0) {
      // Nothing to write, so nothing checks the files: a no-op or a refusal judged on known texts is judged again on the disk.
      if (known) return this.commitGroupLocked(group, attempt + 1);
      return judged.settle();
    }

    // Presets first (a config change may name a preset they add), then the config, then the trail.
    // A file the group judged on but does not replace must still hold what it was judged on.
    const files = [
      { file: this.presetsFile, text: judged.presetsText, previous: disk.presetsText },
      { file: this.file, text: judged.configText, previous: disk.configText },
    ];
    // Each write's temp names: a finished write's again (atomic-write.ts: a fresh name per write
    // slowed every reopening of the watch, more with each write).
    const writes = files.flatMap(({ file, text, previous }) =>
      text === null ? [] : [{ file, text, previous, unlessChanged: this.started, tempHex: takeTempHex(file) }],
    );
    const unchanged = this.started ? files.filter((f) => f.text === null).map(({ file, previous }) => ({ file, text: previous })) : [];
    // Renamed into place (or put back so after a failure): new files, noted once the write is done
    // (their inodes, as placed) or at the next read; meanwhile an edit in them is waited for, as in a
    // file not seen yet.
    for (const { file } of writes) {
      this.seenIno.delete(file);
      this.placed.delete(file);
    }
    let wrote = () => {};
    const writing = new Promise<void>((resolve) => {
      wrote = resolve;
    });
    this.writing = writing;
    // Its own write raises no watch event here (see closedDuring): each would wake the event loop
    // while the write is under way, to be passed over (hinted).
    const groupWrite = (plan: GroupWritePlan) =>
      this.watch ? this.watch.closedDuring(() => this.io.writeGroup(plan)) : this.io.writeGroup(plan);
    try {
      const done = await groupWrite({
        writes,
        unchanged,
        checks: fileChecks(this.options),
        ...(judged.readBack && { readBack: judged.readBack }),
        audit: {
          file: this.auditLog.file,
          text: AuditFile.textOf(judged.entries),
          knownSize: this.auditLog.knownSize,
          checks: this.auditLog.checks,
          ...(this.options.auditKeep !== undefined &&
            this.auditLog.trimDue(this.options.auditKeep, judged.entries) &&
            !this.auditTrimBackingOff() && {
              trim: { oldFile: this.auditLog.oldFile, keep: this.options.auditKeep },
            }),
        },
      });
      for (const { file, hex } of done.tempNames) reuseTempHex(file, hex);
      this.auditLog.appended(judged.entries, done.auditSize, done.auditLost);
      if (done.trim) this.auditTrimmed(done.trim);
      for (const { file, ...mark } of done.placed) {
        this.placed.set(file, mark);
        // As the refresh its rename's event used to start would have noted it (see hinted).
        this.seenIno.set(file, mark.ino);
      }
      this.lookWhenReopened(done.placed.map(({ file }) => file));
      this.lastContactAt = this.now().toISOString();
      // The renamed file is already visible (the runner may act on it): report the change, warn about durability.
      for (const file of done.notDurable) {
        const what = file === this.file ? 'config' : 'presets';
        this.warn(`${what} saved, but fsync of ${path.dirname(file)} failed: the rename may not survive a power loss`, {
          subject: what,
          dir: path.dirname(file),
        });
      }
    } catch (err) {
      this.written = null;
      this.known = null;
      // A hand edit landed between the read and the rename: nothing of the group was written; judge
      // it again on the file as it is now (the edit is applied and audited first, then built upon).
      if (err instanceof FileChangedError && attempt < MAX_ATTEMPTS) return this.commitGroupLocked(group, attempt + 1);
      const failure =
        err instanceof FileChangedError
          ? new ConfigWriteError('check before rename: the file kept changing', undefined, { cause: err })
          : err;
      // Counted (control_plane_config_write_failures_total): a disk that refuses every write is seen, not only answered.
      if (failure instanceof ConfigWriteError) this.emit({ type: 'writeFailed', step: failure.step, errno: failure.errno });
      // Nothing of the group stays: every writer hears the failure (their judgements built on each other).
      return refuseAll(failure);
    } finally {
      if (this.writing === writing) this.writing = null;
      wrote();
    }
    const wasPresetsInvalid = this.presetsInvalid !== null && judged.presetsText !== null;
    this.snapshot = judged.final.config;
    this.presets = judged.final.presets;
    this.strategies = judged.final.strategies;
    if (judged.configText !== null) {
      this.written = usedDoc ? { digest: judged.final.config.digest, doc: usedDoc } : null;
      this.invalid = null;
      this.missing = false;
    }
    if (judged.presetsText !== null) {
      this.presetsInvalid = null;
      this.presetsText = judged.presetsText;
    }
    // Before start() a group reads only what it changes: the files are known once the store has read them.
    if (this.started) this.know({ configText: judged.configText ?? disk.configText, presetsText: judged.presetsText ?? disk.presetsText });
    if (wasPresetsInvalid) this.emit({ type: 'presetsValid' });
    // One event per version (readers see the final state: the files as they are now), then the answers.
    for (const event of judged.events) this.emit(event);
    // A file not in force is judged again against the other one just written, before the answers:
    // strategies.yaml kept out (an edit that would break the config) against the new config, and a
    // config.yaml edit invalid for naming a preset against the new presets. What this change lets in
    // goes in with it, audited, so a read after the answer sees it (the etcd store judges it in the
    // same batch). A kept-out edit waited for the next poll (~2 s); an invalid config stayed
    // invalid until a restart (/ready 503, config changes refused, a separate runner held back
    // from every later preset change). A failed read leaves it to the next one.
    const rejudge =
      (this.presetsInvalid !== null && judged.configText !== null) ||
      (this.invalid !== null && this.invalid.digest !== 'missing' && judged.presetsText !== null);
    if (rejudge && this.started) await this.readDisk().catch(() => {});
    judged.settle();
    if (judged.presetsText !== null) await this.dropKeptPresets();
  }

  /** Trims failed in a row (a field of the warning). */
  private auditTrimFailures = 0;
  /** After a failed trim: the monotonic time (ms) before which none is tried (each try reads the whole file). */
  private auditTrimRetryAt: number | null = null;

  private monotonicNow(): number {
    return this.options.monotonicNow ? this.options.monotonicNow() : performance.now();
  }

  /** A trim failed less than AUDIT_TRIM_RETRY_MS ago: not tried (nor warned about) at this change. */
  private auditTrimBackingOff(): boolean {
    return this.auditTrimRetryAt !== null && this.monotonicNow() < this.auditTrimRetryAt;
  }

  /**
   * What a trim after a group's append did (`--audit-keep`); a failure fails nothing: it is said,
   * counted, and tried again at the first change AUDIT_TRIM_RETRY_MS later (or after a restart). A
   * `.old` that stays broken made every change read the whole file and warn.
   */
  private auditTrimmed(trim: NonNullable<GroupWritten['trim']>): void {
    if ('failed' in trim) {
      this.auditTrimFailures += 1;
      this.auditTrimRetryAt = this.monotonicNow() + AUDIT_TRIM_RETRY_MS;
      const retryAt = new Date(this.now().getTime() + AUDIT_TRIM_RETRY_MS).toISOString();
      this.emit({ type: 'auditTrimFailed', step: trim.failed.step, errno: trim.failed.errno });
      this.warn(
        `${this.auditLog.file} could not be trimmed to the last ${this.options.auditKeep} entries of each subject (--audit-keep): ${trim.failed.message}; it is left as it was (the change was made and recorded), and the trim is tried again at the first change from ${retryAt} on (${AUDIT_TRIM_RETRY_MS / 1000} s from now), or at the next start. Check that ${this.auditLog.oldFile} can be appended to`,
        {
          file: this.auditLog.file,
          oldFile: this.auditLog.oldFile,
          step: trim.failed.step,
          errno: trim.failed.errno,
          failures: this.auditTrimFailures,
          retryAt,
        },
      );
      return;
    }
    this.auditLog.trimmed(trim);
    this.auditTrimFailures = 0;
    this.auditTrimRetryAt = null;
  }

  /** Durable atomic write of a runtime file; a failure leaves the old file and says which step failed. */
  /** `noReplace`: only if the file is still missing ('exists': it was not, and is left as it is). */
  private async writeRuntimeFile(
    file: string,
    text: string,
    mode: number,
    options: { noReplace?: boolean } = {},
  ): Promise<'written' | 'exists'> {
    let durable: boolean;
    try {
      durable = await writeFileAtomic(file, text, { fs: this.fs, mode, noReplace: options.noReplace });
    } catch (err) {
      if (options.noReplace && err instanceof AtomicWriteError && err.step === 'rename' && err.errno === 'EEXIST') return 'exists';
      if (err instanceof AtomicWriteError) throw new ConfigWriteError(err.step, err.errno, { cause: err });
      throw err;
    }
    this.lastContactAt = this.now().toISOString();
    // The renamed file is already visible (the runner may act on it): report the change, warn about durability.
    const what = file === this.file ? 'config' : 'presets';
    if (!durable)
      this.warn(`${what} saved, but fsync of ${path.dirname(file)} failed: the rename may not survive a power loss`, {
        subject: what,
        dir: path.dirname(file),
      });
    return 'written';
  }

  async close(): Promise<void> {
    this.closed = true;
    this.releaseHold();
    this.watch?.close();
    await this.mutex.idle();
    await this.io.close();
    this.listeners.clear();
  }
}
