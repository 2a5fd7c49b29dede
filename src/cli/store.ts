import path from 'node:path';
import { TokenRefusedError } from '../auth/token-store.js';
import { DumpInvalidError, MigrateRaceError } from '../config/dump.js';
import { ACCESS_REFUSED_HINT, StoreRefusedError, StoreUnavailableError } from '../config/errors.js';
import { runtimeDirSetting } from '../env-setting.js';
import { AtomicWriteError } from '../fs/atomic-write.js';
import { LockHeldError } from '../lock.js';
import { defaultRegistry } from '../registry/index.js';
import { RuntimeDirNotWritableError } from '../runtime-dir.js';
import { readEtcdTlsFiles } from '../store-etcd/tls-files.js';
import { MigrateSourceError } from '../store-migrate/file-side.js';
import {
  type MigrateEnd,
  type MigrateReport,
  MigrateSourceInUseError,
  MigrateSourceNotMarkedError,
  MigrateTargetInUseError,
  MigrateTargetNotEmptyError,
  MigrateUsageError,
  migrateStore,
} from '../store-migrate/migrate.js';
import { resolveStoreSettings, type StoreFlags } from '../store-settings.js';
import { UsageError } from '../usage-error.js';
import { EXIT } from './exit-codes.js';
import { printJsonError } from './json-output.js';
import { type Action, stringFlag } from './program.js';

const ETCD_FLAGS = ['etcd-ca', 'etcd-cert', 'etcd-key'] as const;

/** Under --json, a failure's code by its exit code. */
const JSON_CODES: Record<number, string> = {
  [EXIT.usage]: 'USAGE',
  [EXIT.tryLater]: 'UNAVAILABLE',
  [EXIT.conflict]: 'CONFLICT',
  [EXIT.runtimeDirInUse]: 'RUNTIME_DIR_IN_USE',
  [EXIT.runtimeDirNotWritable]: 'RUNTIME_DIR_NOT_WRITABLE',
  [EXIT.unexpected]: 'WRITE_FAILED',
};

/**
 * `file` (the runtime dir: --runtime-dir, CONTROL_PLANE_RUNTIME_DIR, ./runtime), `file:<dir>`, or
 * `etcd://...`. An etcd end takes the TLS files of its own flags (`--from-etcd-ca`, `--to-etcd-cert`,
 * ...) over the shared ones (`--etcd-ca`, ...): one set for both ends could not move a deployment
 * between a plain etcd and one over TLS, or two clusters of different CAs (a TLS refusal read as
 * "unreachable, try again later").
 */
function migrateEnd(flag: '--from' | '--to', spec: string, flags: StoreFlags, runtimeDir: string, env: NodeJS.ProcessEnv): MigrateEnd {
  const side = flag.slice(2) as 'from' | 'to';
  const own = ETCD_FLAGS.map((f) => `${side}-${f}` as const).filter((f) => (flags as Record<string, unknown>)[f] !== undefined);
  if (spec === 'file' || spec.startsWith('file:')) {
    if (own.length > 0)
      throw new UsageError(`--${own[0]} applies only to an etcd ${side === 'from' ? 'source' : 'target'} (${flag} etcd://...)`);
    if (spec === 'file') return { kind: 'file', dir: runtimeDir };
    const dir = spec.slice('file:'.length);
    if (dir === '') throw new UsageError(`${flag}: "file:" needs a directory, e.g. file:./runtime`);
    return { kind: 'file', dir: path.resolve(dir) };
  }
  const tls = Object.fromEntries(
    ETCD_FLAGS.map((f) => [f, ((flags as Record<string, unknown>)[`${side}-${f}`] as string | undefined) ?? flags[f]]),
  );
  let settings: ReturnType<typeof resolveStoreSettings>;
  try {
    settings = resolveStoreSettings({ ...flags, ...tls, 'audit-keep': undefined, store: spec }, env);
  } catch (err) {
    if (err instanceof UsageError)
      throw new UsageError(`${flag}: ${ownFlagNames(err.message.replace(/^--store: /, ''), side, flags, true)}`);
    throw err;
  }
  if (settings.kind !== 'etcd') throw new UsageError(`${flag}: expected file, file:<dir> or etcd://host:port[,host:port...]/<prefix>`);
  return settings;
}

/**
 * A message about an end's TLS flags with its own flags named as given (`--to-etcd-ca`), the shared
 * ones as they are; `all`: every one as the end's own once any was given (a rule between them, such
 * as "--to-etcd-cert and --to-etcd-key go together").
 */
function ownFlagNames(message: string, side: 'from' | 'to', flags: StoreFlags, all = false): string {
  const own = (f: string) => (flags as Record<string, unknown>)[`${side}-${f}`] !== undefined;
  const any = ETCD_FLAGS.some(own);
  return message.replace(/--(etcd-(?:ca|cert|key))\b/g, (name, f: string) => (own(f) || (all && any) ? `--${side}-${f}` : name));
}

function describe(report: MigrateReport): string[] {
  const { summary } = report;
  const lines = [
    `copied ${report.from} -> ${report.to}`,
    `  config: version ${summary.configVersion} (${summary.configDigest})${
      summary.configAudited ? '' : ', not audited yet: the first server on the target records it as a hand edit'
    }`,
    `  presets: ${summary.strategiesBytes === null ? 'none' : `strategies text (${summary.strategiesBytes} bytes)`}`,
    `  tokens: ${summary.tokens} (hashed records, as they were)`,
    `  audit entries: ${summary.auditEntries.CONFIG - report.droppedAudit.CONFIG} config, ${
      summary.auditEntries.PRESETS - report.droppedAudit.PRESETS
    } presets`,
  ];
  if (report.replaced.length > 0) lines.push(`  replaced (--force): ${report.replaced.join(', ')}`);
  if (report.markedMoved)
    lines.push(`  marked the source as moved (${report.markedMoved}): serve, runners and stratctl token refuse it from now on`);
  for (const runner of report.staleRunners)
    lines.push(
      `  runner ${runner.id} on ${runner.store} let through: STALE since ${runner.heartbeatAt} (no heartbeat for 3 intervals, taken for stopped); its key ${
        runner.expiresAt ? `expires at ${runner.expiresAt}` : 'stays until deleted'
      } (delete runners/${runner.id} to drop it sooner); if that runner still runs, stop it`,
    );
  return lines;
}

/** `stratctl store migrate --from <store> --to <store> [--force]`. */
export const storeMigrate: Action = async (flags, _args, ctx) => {
  const env = ctx.io.env;
  const json = flags.json === true;
  const runtimeDir = runtimeDirSetting(stringFlag(flags, 'runtime-dir'), env);
  const storeFlags = flags as StoreFlags;
  const from = migrateEnd('--from', stringFlag(flags, 'from') as string, storeFlags, runtimeDir, env);
  const to = migrateEnd('--to', stringFlag(flags, 'to') as string, storeFlags, runtimeDir, env);
  const given = ETCD_FLAGS.find((f) => flags[f] !== undefined);
  if (given && from.kind !== 'etcd' && to.kind !== 'etcd') throw new UsageError(`--${given} applies only to an etcd store (etcd://...)`);
  // Each etcd end's TLS files, read and checked before anything is opened: a problem names the end's own flag when it was given.
  for (const [side, end] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (end.kind !== 'etcd') continue;
    try {
      await readEtcdTlsFiles(end.tls);
    } catch (err) {
      if (err instanceof UsageError) throw new UsageError(ownFlagNames(err.message, side, storeFlags));
      throw err;
    }
  }
  let auditKeep = 10_000;
  if (flags['audit-keep'] !== undefined) {
    if (to.kind !== 'etcd')
      throw new UsageError(
        "--audit-keep applies only to an etcd target (--to etcd://...): a file target gets audit.log whole, and its server's own --audit-keep trims it",
      );
    const settings = resolveStoreSettings({ store: to.url, 'audit-keep': stringFlag(flags, 'audit-keep') }, env);
    auditKeep = (settings.kind === 'etcd' && settings.auditKeep) || auditKeep;
  }
  /** What the copy did not take (records that are not audit entries, the oldest entries past --audit-keep): said on stderr. */
  const warnLeftBehind = (report: MigrateReport) => {
    if (report.skippedAudit.length > 0)
      ctx.warn(
        `stratctl store migrate: left behind ${report.skippedAudit.length} record(s) that are not audit entries: ${report.skippedAudit.join(', ')}`,
      );
    for (const subject of ['CONFIG', 'PRESETS'] as const) {
      if (report.droppedAudit[subject] > 0)
        ctx.warn(
          `stratctl store migrate: the ${report.droppedAudit[subject]} oldest ${subject} audit entries were not copied: the target keeps ${auditKeep} (--audit-keep)`,
        );
    }
  };
  try {
    const report = await migrateStore({ from, to, force: flags.force === true, auditKeep, strategiesFor: () => defaultRegistry });
    if (json) ctx.print(JSON.stringify(report, null, 2));
    else for (const line of describe(report)) ctx.print(line);
    warnLeftBehind(report);
    return EXIT.ok;
  } catch (err) {
    const fail = (code: number, message: string) => {
      if (json) printJsonError(ctx.io, JSON_CODES[code] ?? 'INTERNAL_ERROR', message);
      ctx.warn(`stratctl store migrate: ${message}`);
      return code;
    };
    // The copy is whole: not "the target could not be written", nor "try again later" (a re-run is refused:
    // the target is not empty). Exit 1, the code of a failed write (DESIGN.md); what was copied on stdout.
    if (err instanceof MigrateSourceNotMarkedError) {
      // What was copied, in either form: the operator must know the copy is whole before acting on the source.
      if (json) printJsonError(ctx.io, 'SOURCE_NOT_MARKED', err.message, { report: err.report });
      else for (const line of describe(err.report)) ctx.print(line);
      warnLeftBehind(err.report);
      ctx.warn(`stratctl store migrate: ${err.message}`);
      return EXIT.unexpected;
    }
    if (err instanceof MigrateUsageError || err instanceof MigrateSourceError || err instanceof MigrateTargetNotEmptyError)
      return fail(EXIT.usage, err.message);
    if (err instanceof DumpInvalidError) return fail(EXIT.usage, `${err.message}\nnothing was written`);
    if (err instanceof TokenRefusedError) return fail(EXIT.usage, `${err.message}; nothing was written`);
    // etcd refused the user, password or rights: a setting, which trying again does not fix (exit 2, as serve says it).
    if (err instanceof StoreUnavailableError && err.accessRefused)
      return fail(EXIT.usage, `etcd refused the request (${err.detail}); ${ACCESS_REFUSED_HINT}; nothing was written`);
    if (err instanceof StoreUnavailableError) {
      return fail(EXIT.tryLater, `${err.message}${err.detail ? ` (${err.detail})` : ''}; try again later`);
    }
    // etcd answered no (credentials, rights, a call it judged invalid): trying again would not help.
    if (err instanceof StoreRefusedError) return fail(EXIT.unexpected, `${err.message}; nothing was written by this call`);
    if (err instanceof LockHeldError) return fail(EXIT.runtimeDirInUse, `${err.message}; stop it first`);
    if (err instanceof MigrateTargetInUseError || err instanceof MigrateSourceInUseError) return fail(EXIT.runtimeDirInUse, err.message);
    if (err instanceof RuntimeDirNotWritableError) return fail(EXIT.runtimeDirNotWritable, err.message);
    if (err instanceof AtomicWriteError) return fail(EXIT.unexpected, `the target could not be written (${err.message})`);
    if (err instanceof MigrateRaceError) return fail(EXIT.conflict, err.message);
    throw err;
  }
};
