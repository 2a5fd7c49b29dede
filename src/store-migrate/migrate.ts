import * as fsp from 'node:fs/promises';
import path from 'node:path';
import type { AuditSubject } from '../config/audit-entry.js';
import { checkDump, type DumpSummary, type StoreDump } from '../config/dump.js';
import type { StrategyRegistry } from '../registry/index.js';
import { MIGRATING_FILE, MOVED_FILE, RuntimeDirMigratingError, RuntimeDirMovedError, refuseMarkedRuntimeDir } from '../runtime-dir.js';
import type { StaleRunnerKey } from '../store-etcd/dump.js';
import { parseEtcdStoreUrl } from '../store-etcd/url.js';
import type { StoreSettings } from '../store-settings.js';
import { FileSide, MigrateSourceError } from './file-side.js';

/** One end of a move: a runtime directory, or an etcd prefix (with its TLS and auth settings). */
export type MigrateEnd = { readonly kind: 'file'; readonly dir: string } | (StoreSettings & { readonly kind: 'etcd' });

const someOf = (ids: readonly string[]) => `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}`;

/** --force onto a deployment that still runs (its runners publish live states there, its API replicas are registered): nothing was written. */
export class MigrateTargetInUseError extends Error {
  override name = 'MigrateTargetInUseError';
  constructor(target: string, runners: readonly string[], replicas: readonly string[] = []) {
    const who = [
      ...(runners.length > 0 ? [`${runners.length} runner(s) still run on it (${someOf(runners)})`] : []),
      ...(replicas.length > 0 ? [`${replicas.length} API replica(s) still serve it (${someOf(replicas)})`] : []),
    ];
    super(
      `${target} is in use: ${who.join(' and ')}; nothing was written. Stop its runners and API replicas first: a process left running keeps the versions it had read, and writes after them.`,
    );
  }
}

/**
 * An etcd source still served (its API replicas registered, its runners publishing live states):
 * nothing was written. Copied so, the old deployment went on taking writes the copy does not have
 * (a file source is refused the same way while a server holds its directory).
 */
export class MigrateSourceInUseError extends Error {
  override name = 'MigrateSourceInUseError';
  constructor(source: string, runners: readonly string[], replicas: readonly string[]) {
    const who = [
      ...(replicas.length > 0 ? [`${replicas.length} API replica(s) still serve it (${someOf(replicas)})`] : []),
      ...(runners.length > 0 ? [`${runners.length} runner(s) still run on it (${someOf(runners)})`] : []),
    ];
    super(
      `${source} is in use: ${who.join(' and ')}; nothing was written. Stop them first: a change made there after the copy would not be in it.`,
    );
  }
}

/** The target holds store data and --force was not given: nothing was written. */
export class MigrateTargetNotEmptyError extends Error {
  override name = 'MigrateTargetNotEmptyError';
  constructor(
    readonly target: string,
    readonly present: readonly string[],
  ) {
    super(`${target} is not empty (${present.join(', ')}); nothing was written. Give --force to replace what is there.`);
  }
}

/**
 * The copy is complete on the target, but the source could not be marked as moved out of (a full or
 * read-only disk, etcd lost or refusing the write): a server or runner started there would run the
 * old deployment beside the new one. Said as that, not as a target that could not be written (an
 * operator told so restarted the old deployment).
 */
export class MigrateSourceNotMarkedError extends Error {
  override name = 'MigrateSourceNotMarkedError';
  constructor(
    readonly report: MigrateReport,
    why: string,
    byHand: string,
  ) {
    super(
      `copied to ${report.to}, but the source could not be marked as moved (${why}): do not start serve or runners on ${report.from} (they would run the old deployment beside the new one at ${report.to}); mark it by hand once it can be written: ${byHand}`,
    );
  }
}

export class MigrateUsageError extends Error {
  override name = 'MigrateUsageError';
}

export interface MigrateReport {
  readonly from: string;
  readonly to: string;
  readonly summary: DumpSummary;
  /** What the target held before (replaced with --force). */
  readonly replaced: readonly string[];
  /** Where the source is marked as moved out: its directory's `moved.json`, or an etcd prefix's `moved` key. */
  readonly markedMoved: string | null;
  /** Stored audit records that were not audit entries (left behind). */
  readonly skippedAudit: readonly string[];
  /** The oldest entries per subject not copied: more than the etcd target keeps (--audit-keep). */
  readonly droppedAudit: Readonly<Record<AuditSubject, number>>;
  /**
   * Runners STALE on an etcd end (no heartbeat for 3 intervals: killed; their keys live out their
   * leases), let through as no longer running: the output names them, in case one is only cut off.
   */
  readonly staleRunners: readonly (StaleRunnerKey & { readonly store: string })[];
}

interface Side {
  readonly description: string;
  read(): Promise<StoreDump>;
  present(): Promise<{
    present: string[];
    configModRevision: number;
    liveRunners?: string[];
    staleRunners?: StaleRunnerKey[];
    liveReplicas?: string[];
  }>;
  write(dump: StoreDump, replace: boolean, configModRevision: number, from: string): Promise<void>;
  /** The source: its deployment now lives at `to` (a directory's `moved.json`, a prefix's `moved` key). */
  markMoved?(to: string): Promise<void>;
  /** How a person marks it so when `markMoved` failed (a command to run). */
  markByHand(to: string): string;
  /** Which store this is, whatever named it (an etcd side: its cluster's ID and the prefix). */
  identity?(): Promise<string>;
  /** Where a move out of it went, if it was moved out of (and the mark that says so). */
  movedOut(): Promise<{ to: string; at: string; mark: string } | null>;
  /** A migration into it that did not finish: where from, when it started, and the mark that says so. */
  cutShort(): Promise<{ from: string; at: string; mark: string } | null>;
  close(): Promise<void>;
}

/**
 * The same store named twice, as far as can be told without contacting etcd: one directory (by the
 * file system's own identity where both exist: a symlink or a bind mount is the directory it
 * reaches), or one etcd prefix at an endpoint named alike. Etcd ends named differently are compared
 * by their cluster's ID once open (`identity`).
 */
async function sameEnd(a: MigrateEnd, b: MigrateEnd): Promise<boolean> {
  if (a.kind === 'file' && b.kind === 'file') {
    const [x, y] = [path.resolve(a.dir), path.resolve(b.dir)];
    if (x === y) return true;
    const [sx, sy] = await Promise.all([fsp.stat(x).catch(() => null), fsp.stat(y).catch(() => null)]);
    return sx !== null && sy !== null && sx.dev === sy.dev && sx.ino === sy.ino;
  }
  if (a.kind === 'etcd' && b.kind === 'etcd') {
    const [x, y] = [parseEtcdStoreUrl(a.url), parseEtcdStoreUrl(b.url)];
    const hosts = (u: typeof x) => new Set(u.endpoints.map((e) => `${e.host.toLowerCase()}:${e.port}`));
    const hx = hosts(x);
    return x.prefix === y.prefix && [...hosts(y)].some((h) => hx.has(h));
  }
  return false;
}

const SAME_STORE = '--from and --to name the same store';

async function openSide(end: MigrateEnd, role: 'source' | 'target', auditKeep: number): Promise<Side> {
  if (end.kind === 'file') {
    const side = new FileSide(path.resolve(end.dir));
    await side.open(role);
    return {
      description: side.description,
      read: () => side.read(),
      present: async () => ({ present: await side.dataFiles(), configModRevision: 0 }),
      write: (dump, _replace, _configModRevision, from) => side.write(dump, from),
      markMoved: (to) => side.markMoved(to),
      markByHand: (to) => `echo '${JSON.stringify({ to })}' > ${path.join(side.dir, MOVED_FILE)}`,
      movedOut: () =>
        refuseMarkedRuntimeDir(path.resolve(end.dir)).then(
          () => null,
          (err: unknown) => {
            if (err instanceof RuntimeDirMovedError) return { to: err.to, at: err.at, mark: path.join(err.dir, MOVED_FILE) };
            if (err instanceof RuntimeDirMigratingError) return null; // said by cutShort, asked first
            throw err;
          },
        ),
      cutShort: () =>
        refuseMarkedRuntimeDir(path.resolve(end.dir)).then(
          () => null,
          (err: unknown) => {
            if (err instanceof RuntimeDirMigratingError) return { from: err.from, at: err.at, mark: path.join(err.dir, MIGRATING_FILE) };
            if (err instanceof RuntimeDirMovedError) return null;
            throw err;
          },
        ),
      close: () => side.close(),
    };
  }
  // Loaded only when an etcd end is named: a file-to-file copy never pays for the etcd client.
  const { openEtcdDumpSide, markFields } = await import('../store-etcd/index.js');
  const { side, close } = await openEtcdDumpSide(end.url, { tls: end.tls, auth: end.auth });
  return {
    description: side.description,
    read: () => side.read(),
    present: () => side.dataKeys(),
    write: (dump, replace, configModRevision, from) => side.write(dump, { replace, configModRevision, keep: auditKeep, from }),
    markMoved: (to) => side.markMoved(to),
    markByHand: (to) => `etcdctl put ${side.movedKey} '${JSON.stringify({ to })}'`,
    identity: () => side.identity(),
    async movedOut() {
      const { moved } = await side.marks();
      if (moved === null) return null;
      const { to, movedAt } = markFields(moved, ['to', 'movedAt']);
      return {
        to: to || 'another store (the mark does not say which)',
        at: movedAt || 'an unknown time',
        mark: `${side.description}moved`,
      };
    },
    async cutShort() {
      const { migrating } = await side.marks();
      if (migrating === null) return null;
      const { from, startedAt } = markFields(migrating, ['from', 'startedAt']);
      return {
        from: from || 'a store the mark does not name',
        at: startedAt || 'an unknown time',
        mark: `${side.description}migrating`,
      };
    },
    close: async () => close(),
  };
}

/**
 * Copies a deployment's config, presets, tokens and audit trail from one store to another, as
 * stored (texts, digests, versions): history and rollback read the same after the move. Checks the
 * source's data and the target's emptiness before writing anything: an invalid source (DumpInvalidError)
 * or a non-empty target without `force` (MigrateTargetNotEmptyError) writes nothing. Etcd
 * unreachable: StoreUnavailableError; a runtime directory in use by a server: RuntimeDirInUseError.
 */
export async function migrateStore(options: {
  from: MigrateEnd;
  to: MigrateEnd;
  force: boolean;
  /** Audit entries kept per subject by an etcd target (--audit-keep, 10,000). */
  auditKeep: number;
  /** The strategies a server of this version has in force for the dump (static; with presets, plus the dump's). */
  strategiesFor: (dump: StoreDump) => StrategyRegistry;
}): Promise<MigrateReport> {
  const { from, to } = options;
  if (await sameEnd(from, to)) throw new MigrateUsageError(SAME_STORE);
  const sides: Side[] = [];
  try {
    const source = await openSide(from, 'source', options.auditKeep);
    sides.push(source);
    // Two etcd URLs may name one store (localhost and 127.0.0.1, a host name and its address, two
    // members of one cluster): a move onto itself marked the store moved to itself, and nothing
    // could start on it or move it back. Asked before anything is read or written.
    let early: Side | null = null;
    if (from.kind === 'etcd' && to.kind === 'etcd') {
      early = await openSide(to, 'target', options.auditKeep);
      sides.push(early);
      const [a, b] = await Promise.all([source.identity?.(), early.identity?.()]);
      if (a !== undefined && a === b) throw new MigrateUsageError(`${SAME_STORE}: both reach ${a}; nothing was written`);
    }
    // A store a migration into was cut short holds part of that copy over part of what was there
    // before (a directory keeps its old config.yaml until the new one is written last): copied on,
    // the old config was served with the new trail, recorded as a hand edit, and the source then
    // read as moved out of, so the interrupted move could not be finished from it either.
    const unfinished = await source.cutShort();
    if (unfinished) {
      throw new MigrateSourceError(
        `${source.description}: a stratctl store migrate into it from ${unfinished.from}, started at ${unfinished.at}, did not finish (the mark: ${unfinished.mark}): it holds part of that copy over what was there before, and is no deployment to move; run that migration again with --force to complete it, then migrate from here if need be; nothing was written`,
      );
    }
    // A store moved out of holds a stale copy: copying it started a second deployment beside the live
    // one, and its mark was rewritten, losing the only record of where the live one went.
    const moved = await source.movedOut();
    if (moved) {
      throw new MigrateSourceError(
        `${source.description}: the deployment was moved out of it to ${moved.to} at ${moved.at}: what is left is a stale copy, and copying it would start a second deployment; migrate from ${moved.to} instead (if this copy is the one to keep, remove the mark first: ${moved.mark}); nothing was written`,
      );
    }
    const staleRunners: (StaleRunnerKey & { store: string })[] = [];
    if (from.kind === 'etcd') {
      const { liveRunners = [], staleRunners: stale = [], liveReplicas = [] } = await source.present();
      if (liveRunners.length > 0 || liveReplicas.length > 0)
        throw new MigrateSourceInUseError(source.description, liveRunners, liveReplicas);
      staleRunners.push(...stale.map((r) => ({ ...r, store: source.description })));
    }
    const dump = await source.read();
    const summary = checkDump(dump, source.description, options.strategiesFor(dump));
    const target = early ?? (await openSide(to, 'target', options.auditKeep));
    if (!early) sides.push(target);
    const { present, configModRevision, liveRunners = [], staleRunners: staleOnTarget = [], liveReplicas = [] } = await target.present();
    if (present.length > 0 && !options.force) throw new MigrateTargetNotEmptyError(target.description, present);
    // Replacing a live deployment's data left its replicas and runners on versions the store no
    // longer held: the next writes went back to the copied version, and expectedVersion failed.
    if (present.length > 0 && (liveRunners.length > 0 || liveReplicas.length > 0))
      throw new MigrateTargetInUseError(target.description, liveRunners, liveReplicas);
    if (present.length > 0) staleRunners.push(...staleOnTarget.map((r) => ({ ...r, store: target.description })));
    await target.write(dump, present.length > 0, configModRevision, source.description);
    const dropped = (subject: AuditSubject) => (to.kind === 'etcd' ? Math.max(0, summary.auditEntries[subject] - options.auditKeep) : 0);
    const report: MigrateReport = {
      from: source.description,
      to: target.description,
      summary,
      replaced: present,
      markedMoved: from.kind === 'file' ? path.join(path.resolve(from.dir), MOVED_FILE) : `${source.description}moved`,
      skippedAudit: dump.skippedAudit,
      droppedAudit: { CONFIG: dropped('CONFIG'), PRESETS: dropped('PRESETS') },
      staleRunners,
    };
    // Still under the source's locks: no server started there in between.
    try {
      await source.markMoved?.(target.description);
    } catch (err) {
      const detail = (err as { detail?: unknown }).detail;
      const why = `${(err as Error).message}${typeof detail === 'string' && detail ? ` (${detail})` : ''}`;
      throw new MigrateSourceNotMarkedError({ ...report, markedMoved: null }, why, source.markByHand(target.description));
    }
    return report;
  } finally {
    for (const side of sides.reverse()) await side.close().catch(() => {});
  }
}
