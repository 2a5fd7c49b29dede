import path from 'node:path';
import { toSnakeKeys } from '../config/case.js';
import {
  ACCESS_REFUSED_HINT,
  ConfigFileError,
  MAX_VERSION,
  StoreRefusedError,
  StoreUnavailableError,
  VersionBoundError,
} from '../config/errors.js';
import { RuntimeFileRefusedError } from '../fs/runtime-file.js';
import { LockHeldError } from '../lock.js';
import { FeedError } from '../runner/feed.js';
import { RuntimeDirMigratingError, RuntimeDirMovedError, RuntimeDirNotWritableError } from '../runtime-dir.js';
import { LOST_WHILE_RUNNING } from '../store-etcd/config-judge.js';
import { RunnerIdInUseError } from '../store-etcd/runners.js';
import { isEtcdStoreUrl, MOVED_OUT } from '../store-etcd/url.js';
import { UsageError } from '../usage-error.js';
import { EXIT } from './exit-codes.js';

/** What `serve` or `runner` was asked to use, for the messages. */
export interface StartPlace {
  host?: string;
  port?: number;
  runtimeDir: string;
  /** The store is etcd: its config errors name a key (`/<prefix>/config`), not an etcd URL. */
  etcd?: boolean;
}

export interface StartFailure {
  code: number;
  /** One line for the operator (the log line's msg). */
  message: string;
  /** Only for what nobody anticipated: the stack goes into the log line. */
  unexpected: boolean;
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code;
const syscall = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.syscall;
const CANNOT_WRITE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'ENOSPC', 'EDQUOT']);

/**
 * A config that names a strategy the start does not know: most often a preset that a hand edit of
 * the presets removed while the server ran (the edit was kept out then, and the config kept using
 * the preset). The config is what fails to load, so the message named only it.
 */
function unknownKeyHint(file: string, problems: readonly { message: string }[]): string {
  const key = problems.map((p) => /Invalid strategy key: (\S+)/.exec(p.message)?.[1]).find((k) => k !== undefined);
  if (key === undefined) return '';
  const presets =
    path.basename(file) === 'config.yaml' ? path.join(path.dirname(file), 'strategies.yaml') : "the store's presets (its strategies key)";
  return ` ${key} is neither a static strategy nor a preset in ${presets}: if a change to the presets removed it, put it back there, or name another strategy here.`;
}

/** The runtime file a start could not read for its permissions (EACCES, EPERM), as refused or inside the invalid-file error that reports it. */
function unreadableFile(err: unknown): RuntimeFileRefusedError | undefined {
  const refused = err instanceof ConfigFileError ? err.cause : err;
  return refused instanceof RuntimeFileRefusedError && refused.problem === 'unreadable' ? refused : undefined;
}

/**
 * The way out at the version bound (file store): no version is left to number the file with, so
 * fixing the file alone cannot help (a hand edit is numbered last + 1, and a missing config.yaml
 * cannot be written again): the count starts again from a new audit trail. audit.log is moved out
 * (kept: it is the record up to the bound), the file is given a low version, and the start records
 * it as the new trail's first line. A missing config.yaml gets the trail's last settings, as JSON
 * (valid YAML), so that starting again neither turns trading back on nor drops overrides.
 */
function versionBoundWayOut(err: VersionBoundError): string {
  const audit = path.join(path.dirname(err.file), 'audit.log');
  const start = `To start the version count again: move ${audit} out of the runtime directory (keep it: it is the record up to version ${MAX_VERSION}), then`;
  if (err.lastConfig) {
    const { updatedAt, ...settings } = err.lastConfig;
    const text = JSON.stringify({ ...toSnakeKeys(settings), version: 1, updated_at: updatedAt });
    return `${start} write ${err.file} holding the trail's last settings at version 1 (this JSON is valid YAML): ${text} and start again.`;
  }
  return `${start} set \`version: 1\` in ${err.file} and start again.`;
}

/**
 * Why a start failed -> DESIGN's serve exit code and what to tell the operator, in one table, first
 * match wins: 2 usage, 73 runtime dir not writable (or a runtime file not readable), 75 runtime dir in use
 * (the holder's pid), 78 invalid config, 98 port in use, 1 anything else.
 */
const RULES: {
  matches: (err: unknown) => boolean;
  code: number;
  /** Not anticipated: the stack goes into the log line. */
  unexpected?: boolean;
  message: (err: unknown, at: StartPlace) => string;
}[] = [
  { matches: (err) => err instanceof UsageError, code: EXIT.usage, message: (err) => (err as Error).message },
  { matches: (err) => err instanceof FeedError, code: EXIT.usage, message: (err) => `cannot open the feed: ${(err as Error).message}` },
  {
    // etcd refused the user, password or rights: a setting (a restart would not fix it, so 2, which a
    // service manager does not restart on).
    matches: (err) => err instanceof StoreUnavailableError && err.accessRefused,
    code: EXIT.usage,
    message: (err) => `cannot start: etcd refused the request (${(err as StoreUnavailableError).detail}); ${ACCESS_REFUSED_HINT}`,
  },
  {
    // etcd unreachable at start: not a crash, but no DESIGN code either; the message says what to do.
    matches: (err) => err instanceof StoreUnavailableError,
    code: EXIT.unexpected,
    message: (err) => {
      const { detail } = err as StoreUnavailableError;
      return `cannot start: ${(err as Error).message}${detail ? ` (${detail})` : ''}; check --store and that etcd is reachable, then start again`;
    },
  },
  {
    // Any other refusal (a call etcd judged invalid) was not anticipated: 1, with its stack.
    matches: (err) => err instanceof StoreRefusedError,
    code: EXIT.unexpected,
    unexpected: true,
    message: (err) =>
      `cannot start: etcd refused the request (${(err as StoreRefusedError).detail}); a retry would be refused the same way`,
  },
  {
    // A runtime file this user may not read (its mode or owner: a runtime dir chowned to another user)
    // is a permission problem, not an invalid config: 73, as a runtime dir it may not write. It was
    // 78, which DESIGN keeps for an invalid config or presets file.
    matches: (err) => unreadableFile(err) !== undefined,
    code: EXIT.runtimeDirNotWritable,
    message: (err) => {
      const refused = unreadableFile(err) as RuntimeFileRefusedError;
      return `cannot start: ${refused.file}: ${refused.message}. Give this user read access, or use another --runtime-dir.`;
    },
  },
  {
    matches: (err) => err instanceof ConfigFileError,
    code: EXIT.config,
    message: (err, at) => {
      const { file, problems, subject } = err as ConfigFileError;
      // A key's error (a missing config key with its trail there, say) got the file store's advice to move a file away.
      const etcd = at.etcd === true || isEtcdStoreUrl(file);
      const where = problems.map((p) => `${p.line ? `line ${p.line}${p.column ? `, column ${p.column}` : ''}: ` : ''}${p.message}`);
      const what = `cannot start: ${file} is invalid: ${where.join('; ')}.${subject === 'config' ? unknownKeyHint(file, problems) : ''}`;
      // A prefix moved out of says where the deployment went (its own message): nothing to repair here.
      if (etcd && problems[0]?.message.startsWith(MOVED_OUT)) return what;
      // An empty prefix others run on (etcd lost its data) says its own way out: nothing to put back by hand from here.
      if (etcd && problems[0]?.message.startsWith(LOST_WHILE_RUNNING)) return what;
      if (etcd)
        return `${what} The store was left as it is: if a \`stratctl store migrate\` into it was cut short, run it again with --force; otherwise put a valid value back (etcdctl put) and start again.`;
      if (err instanceof VersionBoundError) {
        const problem = problems.map((p) => p.message).join('; ');
        return `cannot start: ${file}: ${problem}. ${versionBoundWayOut(err)}`;
      }
      // Moving the file away means something else for each: no config (the trail's last, or the
      // defaults) or no presets (and a config that uses one of them is refused in turn).
      if (subject === 'presets')
        return `${what} The file was left as it is: fix it and start again (moved away, it means no presets: the static strategies only, and a config that uses one of its presets is then refused in turn).`;
      return `${what} The file was left as it is: fix it (or move it away: the server then starts from the last config the audit trail recorded; from the defaults with trading disabled when that one is no longer valid; from the defaults without a trail) and start again.`;
    },
  },
  {
    // A runtime file that is not what it should be (a directory, a FIFO, a link, too large, writable by others).
    matches: (err) => err instanceof RuntimeFileRefusedError,
    code: EXIT.config,
    message: (err) => `cannot start: ${(err as RuntimeFileRefusedError).file}: ${(err as Error).message}. Fix it and start again.`,
  },
  {
    // Not restarted by the unit (78): the live copy is elsewhere, and this one would run beside it.
    matches: (err) => err instanceof RuntimeDirMovedError || err instanceof RuntimeDirMigratingError,
    code: EXIT.config,
    message: (err) => `cannot start: ${(err as Error).message}.`,
  },
  {
    matches: (err) => err instanceof RunnerIdInUseError,
    code: EXIT.runtimeDirInUse,
    message: (err) => `cannot start: ${(err as Error).message}. Stop it first, or give this runner another --runner-id.`,
  },
  {
    matches: (err) => err instanceof LockHeldError,
    code: EXIT.runtimeDirInUse,
    message: (err) => `cannot start: ${(err as Error).message}. Stop that process first, or use another --runtime-dir.`,
  },
  {
    matches: (err) => err instanceof RuntimeDirNotWritableError,
    code: EXIT.runtimeDirNotWritable,
    message: (err) => {
      const { errno } = err as RuntimeDirNotWritableError;
      // The advice by cause: a full disk or quota is not fixed by permissions.
      const fix =
        errno === 'ENOSPC' || errno === 'EDQUOT'
          ? `The disk (or this user's quota) is full: free space there`
          : errno === 'EROFS'
            ? 'The file system is read-only: remount it read-write'
            : errno === 'ENOTDIR'
              ? 'Part of its path is a file, not a directory: fix the path'
              : 'Give this user write access';
      return `cannot start: ${(err as Error).message}. ${fix}, or use another --runtime-dir.`;
    },
  },
  {
    // A host that does not resolve, or an address this machine does not have: a bad setting, which a
    // restart would not fix (a service manager restarts on 1, not on 2). EAI_AGAIN (DNS away for now) stays 1.
    matches: (err) =>
      ['getaddrinfo', 'listen', 'bind'].includes(syscall(err) ?? '') && ['ENOTFOUND', 'EADDRNOTAVAIL'].includes(errno(err) ?? ''),
    code: EXIT.usage,
    message: (err, at) =>
      `cannot start: --host ${at.host} ${errno(err) === 'ENOTFOUND' ? 'does not resolve to an address' : 'is not an address of this machine'} (--host / CONTROL_PLANE_HOST)`,
  },
  {
    matches: (err) => errno(err) === 'EADDRINUSE',
    code: EXIT.portInUse,
    message: (_err, at) => `cannot start: ${at.host}:${at.port} is already in use (another control plane running?). Pick another --port.`,
  },
  {
    // A write under the runtime dir that the OS refused (today's start writes before it serves).
    matches: (err) => CANNOT_WRITE.has(errno(err) ?? '') && syscall(err) !== 'listen' && syscall(err) !== 'bind',
    code: EXIT.runtimeDirNotWritable,
    message: (err, at) => `cannot start: the runtime directory ${at.runtimeDir} is not writable: ${(err as Error).message}`,
  },
];

export function startFailure(err: unknown, at: StartPlace): StartFailure {
  const rule = RULES.find((r) => r.matches(err));
  if (rule) return { code: rule.code, message: rule.message(err, at), unexpected: rule.unexpected ?? false };
  return { code: EXIT.unexpected, message: `cannot start: ${(err as Error)?.message ?? String(err)}`, unexpected: true };
}
