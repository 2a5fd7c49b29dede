import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync, unlinkSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname, uptime } from 'node:os';
import { pauseUnlessAborted, throwIfStartAborted } from './abort.js';
import { RuntimeFileRefusedError, readRuntimeBytes, readSmallRuntimeFileSync } from './fs/runtime-file.js';

/**
 * A lock file: created exclusively with the holder's pid and host inside (and, on Linux, its pid
 * namespace, when the process started, and the boot and machine it runs on: `machineIdentity`), and
 * touched every LOCK_REFRESH_MS while held. A holder that is dead is taken over; a live one makes the
 * newcomer fail with LockHeldError, or wait for it in wait mode.
 * - A holder on this host in this pid namespace, written in this boot of this machine (the same boot
 *   id; a lock without one, from before it was recorded: the one in its recorded start, else host and
 *   namespace alone: `recordedBootId`), is checked by its
 *   pid: dead when the pid is gone; when the pid is this process's own and the lock is not one this
 *   process took; or when the process with that pid started at another time than the holder (the
 *   pid was reused).
 * - A holder on this host name written in an earlier boot of this machine (the same machine id,
 *   another boot id, and its lock last touched before this boot began) is dead: a reboot ended it.
 * - Any other holder (another host; another machine with the same host name: another boot id, and
 *   another machine id or none to compare; another container, which has its own pid namespace and
 *   whose pid 1 is not ours) cannot be checked from here: it is alive while its lock changes (mtime,
 *   ctime or content), dead once the newcomer has watched it LOCK_STALE_MS on its own monotonic clock
 *   without a change. Never by the lock's mtime against this process's clock: the holder stamps it
 *   with its own clock, and one 10 s behind (another host on a network file system) made every touch
 *   look stale, so a live holder was taken over at once and evicted. With `waitForStale`, the
 *   newcomer watches (a container restarted after a kill takes its old lock over within
 *   LOCK_STALE_MS), and is refused as soon as it sees the lock touched: its holder is alive.
 */
export class LockHeldError extends Error {
  override name = 'LockHeldError';
  constructor(
    readonly file: string,
    /** The holder's pid; 0 when the file could not be read. */
    readonly pid: number,
    readonly host: string,
    /**
     * For a holder that cannot be checked by its pid: how long ago its lock was last touched (ms): seen
     * change on this process's clock, or, refused without watching it (waitMs 0), the age of its mtime
     * by this host's clock (the holder's may differ).
     */
    readonly touchedAgoMs?: number,
  ) {
    super(`${file} is held by process ${pid || '?'} on ${host || '?'}`);
  }
}

export interface LockHolder {
  pid: number;
  host: string;
  /** Random, so a release never removes a lock that another process took over meanwhile. */
  nonce: string;
  acquiredAt: string;
  /** When the holder process started (`processStart`); absent where it cannot be told, and in older lock files. */
  started?: string;
  /** The holder's pid namespace (`pidNamespace`): its pid means something only in the same one. */
  pidns?: string;
  /** The boot the holder runs in (`machineIdentity`): its pid means something only in the same one. Absent in older lock files. */
  bootId?: string;
  /** The machine the holder runs on (`machineIdentity`), where it has one. */
  machineId?: string;
}

/** How often a held lock file is touched (its mtime set to now). */
export const LOCK_REFRESH_MS = 2000;
/** A lock this process cannot check by pid is dead once it has been watched this long without a change. */
export const LOCK_STALE_MS = 10_000;

export interface Lock {
  readonly file: string;
  /** Removes the lock file if it is still this one. Idempotent. */
  release(): Promise<void>;
}

export interface LockOptions {
  /** 0 (default): fail at once when the lock is held; otherwise retry that long, then fail. */
  waitMs?: number;
  /**
   * A holder that cannot be checked by its pid: watch its lock for LOCK_STALE_MS (then take it
   * over), unless it is touched meanwhile (then refuse at once). Without it, such a holder is watched
   * only as long as `waitMs` lasts (at least the whole LOCK_STALE_MS once begun, when waitMs > 0),
   * and refused at once when waitMs is 0: it cannot be judged dead without watching.
   */
  waitForStale?: boolean;
  /** Told once when that watch starts: the holder, and the age of its lock's mtime by this host's clock (ms; the holder's clock may differ). */
  onWaitForStale?: (holder: LockHolder, touchedAgoMs: number) => void;
  /**
   * Told once if, while held, the lock file turns out to be another's (taken over after this
   * process stalled past LOCK_STALE_MS, or replaced by hand): the holder now in it, or null if it
   * is unreadable. The lock is no longer this process's and is not touched again. (A lock file
   * merely removed is created again.)
   */
  onLost?: (holder: LockHolder | null) => void;
  /** A wait for the lock ends at once when this is aborted: StartAbortedError (a stop signal during start-up). */
  signal?: AbortSignal;
  /** Seams for tests. */
  isAlive?: (pid: number) => boolean;
  /** When process `pid` started (see `processStart`). */
  startOf?: (pid: number) => string | undefined;
  host?: string;
  /** This process's pid namespace (see `pidNamespace`). */
  pidns?: string | undefined;
  /** This process's boot and machine (see `machineIdentity`). */
  machine?: MachineIdentity;
  /** This process's monotonic clock (ms): what a watch of a lock is timed on. */
  now?: () => number;
}

/**
 * Whether process `pid` runs: it exists, and (Linux) is not a zombie, which has exited and only
 * waits for its parent to collect its status (a runner killed -9 under a parent slow to reap it).
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, but belongs to another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

/** Linux: process `pid` has exited and not been reaped (state Z, or X while it goes); false where it cannot be told. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the command name (field 2, in parentheses, may hold spaces and parentheses).
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}

/**
 * When process `pid` started, as a text that differs between any two processes that had that pid on
 * this host: the boot's id and the start time in clock ticks since boot (Linux `/proc`). Undefined
 * where there is no `/proc`, or the process is gone.
 */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the command name (field 2, in parentheses, may hold spaces and parentheses).
    const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return ticks && /^\d+$/.test(ticks) ? `${boot}:${ticks}` : undefined;
  } catch {
    return undefined;
  }
}

/** This process's pid namespace (Linux: `pid:[4026531836]`); undefined where it cannot be told. */
export function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

/** Which machine, and which boot of it, a process runs in: what tells two machines that share a host name apart. */
export interface MachineIdentity {
  /** Linux `/proc/sys/kernel/random/boot_id`: new at every boot, shared by every process (and container) of that boot. */
  bootId?: string;
  /**
   * `/etc/machine-id` (or `/var/lib/dbus/machine-id`): the same across boots. May be missing, and
   * may be shared by machines that are not one (containers of one image, cloned VMs).
   */
  machineId?: string;
  /** When this boot began (ms since the epoch, this machine's clock). */
  bootedAt?: number;
}

const readId = (file: string, pattern: RegExp): string | undefined => {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return pattern.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
};

let machineIds: { bootId?: string; machineId?: string } | undefined;

/** A boot id as `/proc/sys/kernel/random/boot_id` gives it. */
const BOOT_ID = /^[0-9a-f-]{32,36}$/;

/**
 * The boot id a record (a lock, a runner's state) was written in: its `bootId`; or, in one written
 * before boot ids were recorded (a lock file or runner record of an older version, met during a
 * rolling upgrade), the boot id inside its recorded process start (`processStart`:
 * `<boot_id>:<ticks>`, recorded since before boot ids were). Without it, a live holder on another
 * machine with the same host name in such a record was judged by its pid here (gone here: dead,
 * its lock taken over at once). Undefined when the record has neither.
 */
export function recordedBootId(record: { bootId?: unknown; started?: unknown }): string | undefined {
  if (typeof record.bootId === 'string') return record.bootId;
  if (typeof record.started !== 'string') return undefined;
  const at = record.started.lastIndexOf(':');
  const boot = record.started.slice(0, at);
  return at > 0 && BOOT_ID.test(boot) && /^\d+$/.test(record.started.slice(at + 1)) ? boot : undefined;
}

/**
 * This process's machine and boot (see MachineIdentity); each absent where it cannot be told (not
 * Linux; an image with no machine id, or an empty or `uninitialized` one).
 */
export function machineIdentity(): MachineIdentity {
  if (!machineIds) {
    const bootId = readId('/proc/sys/kernel/random/boot_id', BOOT_ID);
    const machineId = readId('/etc/machine-id', /^[0-9a-f]{32}$/) ?? readId('/var/lib/dbus/machine-id', /^[0-9a-f]{32}$/);
    machineIds = { ...(bootId !== undefined && { bootId }), ...(machineId !== undefined && { machineId }) };
  }
  return { ...machineIds, ...(machineIds.bootId !== undefined && { bootedAt: Date.now() - uptime() * 1000 }) };
}

/**
 * Where a record of a process (a lock, a runner's state) was written, by the boot and machine ids
 * it carries, for a process whose own are `self`; `lastSeenAt` is the record's last sign of life
 * (a lock's last touch, a runner's last heartbeat: ms since the epoch).
 * - 'this-boot': the same boot id: this boot of this machine, where its pid can be checked;
 * - 'earlier-boot': the same machine id but another boot id, and last seen before this boot began:
 *   written before this machine last booted, so its process is gone;
 * - 'elsewhere': another boot id otherwise (another machine id, none to compare, or seen since this
 *   boot began: a machine that shares this one's machine id, as cloned VMs and the containers of one
 *   image can); or this process has no boot id to compare: its pid means nothing here;
 * - 'unrecorded': the record has no boot id, nor a process start that holds one (`recordedBootId`:
 *   written before they were recorded, where /proc could not be read): judged as before, by host and
 *   pid namespace alone.
 * A record with no `bootId` of its own but a recorded start (an older version's) is judged by the
 * boot id in that start; it has no machine id either, so another boot is 'elsewhere'.
 */
export function bootOf(
  record: { bootId?: unknown; machineId?: unknown; started?: unknown },
  self: MachineIdentity,
  lastSeenAt?: number,
): 'this-boot' | 'earlier-boot' | 'elsewhere' | 'unrecorded' {
  const bootId = recordedBootId(record);
  if (bootId === undefined) return 'unrecorded';
  if (self.bootId === undefined) return 'elsewhere';
  if (bootId === self.bootId) return 'this-boot';
  const sameMachine = typeof record.machineId === 'string' && self.machineId !== undefined && record.machineId === self.machineId;
  const before = lastSeenAt !== undefined && self.bootedAt !== undefined && lastSeenAt < self.bootedAt;
  return sameMachine && before ? 'earlier-boot' : 'elsewhere';
}

/**
 * What a record's boot alone says of its process, for a record on this host name: another machine
 * with this host name (cloned VMs, pods of one name in two clusters), whose pid is not ours, is
 * 'unverifiable'; an earlier boot of this machine is 'dead'; undefined: judge it by its pid.
 */
function verdictByBoot(
  record: { bootId?: unknown; machineId?: unknown; started?: unknown },
  self: MachineIdentity,
  lastSeenAt: number | undefined,
): 'unverifiable' | 'dead' | undefined {
  const boot = bootOf(record, self, lastSeenAt);
  if (boot === 'elsewhere') return 'unverifiable';
  if (boot === 'earlier-boot') return 'dead';
  return undefined;
}

/** Nonces of the locks this process holds or is taking now: a lock file naming this pid with another nonce is a previous process's. */
const ownNonces = new Set<string>();

interface Judge {
  isAlive(pid: number): boolean;
  startOf(pid: number): string | undefined;
  host: string;
  pidns: string | undefined;
  machine: MachineIdentity;
  /** Monotonic (ms). */
  now(): number;
}

/**
 * What this process can tell of `holder` (see the top of this file), whose lock was last touched at
 * `touched`: alive or dead by its pid, dead by a reboot since, or `unverifiable` (another host,
 * machine or pid namespace: only the lock's age can tell).
 */
function judgeHolder(holder: LockHolder, judge: Judge, touched: number | undefined): 'alive' | 'dead' | 'unverifiable' {
  if (holder.host !== judge.host) return 'unverifiable';
  const byBoot = verdictByBoot(holder, judge.machine, touched);
  if (byBoot) return byBoot;
  const pidns = typeof holder.pidns === 'string' ? holder.pidns : undefined;
  if (pidns !== undefined && judge.pidns !== undefined && pidns !== judge.pidns) return 'unverifiable';
  if (holder.pid === process.pid) return ownNonces.has(holder.nonce) ? 'alive' : 'dead';
  return pidVerdict(holder, judge);
}

/** A process on this host in this pid namespace, not this one: alive or dead by its pid and recorded start. */
function pidVerdict(holder: { pid: number; started?: unknown }, judge: Pick<Judge, 'isAlive' | 'startOf'>): 'alive' | 'dead' {
  if (!judge.isAlive(holder.pid)) return 'dead';
  const recorded = typeof holder.started === 'string' ? holder.started : undefined;
  const now = recorded === undefined ? undefined : judge.startOf(holder.pid);
  return now === undefined || now === recorded ? 'alive' : 'dead';
}

/** Who a process is, for another process on the same host to tell later whether it still runs. */
export interface ProcessIdentity {
  pid: number;
  host: string;
  /** `processStart(pid)`: absent where it cannot be told. */
  started?: string;
  /** `pidNamespace()`: absent where it cannot be told. */
  pidns?: string;
  /** `machineIdentity()`: absent where they cannot be told. */
  bootId?: string;
  machineId?: string;
}

/** This process's identity (see ProcessIdentity). */
export function ownProcessIdentity(host = hostname()): ProcessIdentity {
  const started = processStart(process.pid);
  const pidns = pidNamespace();
  const { bootId, machineId } = machineIdentity();
  return {
    pid: process.pid,
    host,
    ...(started !== undefined && { started }),
    ...(pidns !== undefined && { pidns }),
    ...(bootId !== undefined && { bootId }),
    ...(machineId !== undefined && { machineId }),
  };
}

/**
 * Whether `record` names the process `self` is: the same host and pid and, where both record them,
 * the same boot, the same pid namespace and the same process start. Two containers that share a
 * host name are each pid 1: only their namespaces (and starts) tell them apart; two machines that
 * share one, their boots. A record without them (published before they were) is taken by host and
 * pid alone.
 */
export function sameProcess(record: Partial<ProcessIdentity>, self: ProcessIdentity): boolean {
  if (record.pid !== self.pid || record.host !== self.host) return false;
  // Another boot (of this machine or another one with this host name): another process.
  const bootId = recordedBootId(record);
  if (bootId !== undefined && self.bootId !== undefined && bootId !== self.bootId) return false;
  if (typeof record.pidns === 'string' && self.pidns !== undefined && record.pidns !== self.pidns) return false;
  return !(typeof record.started === 'string' && self.started !== undefined && record.started !== self.started);
}

/**
 * Whether the process `other` names (another process than this one: see `sameProcess`) still
 * runs, as far as this process can prove it: 'dead' for one recorded on this host in this boot (or
 * with no boot recorded) and this pid namespace (both recorded, both equal) whose pid is gone, a
 * zombie, or now another process's (a different start: this process's own pid included), and for
 * one recorded on this host name in an earlier boot of this machine (`bootOf`, by its `lastSeenAt`:
 * a reboot ended it); 'alive' when that pid runs the recorded process; 'unverifiable' otherwise
 * (another host, another machine with this host name, another container, a record without its
 * namespace). Stricter than a lock's judge, which takes a holder with no namespace for this one's:
 * a record without one may come from a container that shares the host name.
 */
export function judgeOtherProcess(
  other: Partial<ProcessIdentity> & { lastSeenAt?: number },
  self: ProcessIdentity & Pick<MachineIdentity, 'bootedAt'>,
  seams: { isAlive?: (pid: number) => boolean; startOf?: (pid: number) => string | undefined } = {},
): 'alive' | 'dead' | 'unverifiable' {
  if (typeof other.pid !== 'number' || other.host !== self.host) return 'unverifiable';
  const byBoot = verdictByBoot(other, self, other.lastSeenAt);
  if (byBoot) return byBoot;
  if (typeof other.pidns !== 'string' || self.pidns === undefined || other.pidns !== self.pidns) return 'unverifiable';
  // This process's own pid in this namespace, recorded with another start: a previous process's, gone.
  if (other.pid === self.pid)
    return typeof other.started === 'string' && self.started !== undefined && other.started !== self.started ? 'dead' : 'unverifiable';
  return pidVerdict(
    { pid: other.pid, started: other.started },
    { isAlive: seams.isAlive ?? isProcessAlive, startOf: seams.startOf ?? processStart },
  );
}

/**
 * `file`'s mtime (ms since the epoch, by whoever stamped it) and a stamp that any touch changes (its
 * mtime and ctime: a touch to the same mtime still moves the ctime), or null if it is gone.
 */
async function statLock(file: string): Promise<{ mtime: number; stamp: string } | null> {
  return fsp.lstat(file).then(
    (s) => ({ mtime: s.mtimeMs, stamp: `${s.mtimeMs}/${s.ctimeMs}` }),
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    },
  );
}

/**
 * Whether the takeover guard `file` (made and removed within a few syscalls, never touched) was left
 * by a taker that died: one this process can check by its pid is judged by it, any other by the
 * guard's age on this host's clock (all there is for a file nobody touches).
 */
async function guardAbandoned(file: string, taker: LockHolder, judge: Judge): Promise<boolean> {
  const seen = await statLock(file);
  if (seen === null) return false;
  const verdict = judgeHolder(taker, judge, seen.mtime);
  return verdict === 'unverifiable' ? Date.now() - seen.mtime >= LOCK_STALE_MS : verdict === 'dead';
}

function parseHolder(text: string): LockHolder | undefined {
  // A bare pid: the token file's lock before this helper (same host).
  if (/^\d+\s*$/.test(text)) return { pid: Number(text), host: hostname(), nonce: '', acquiredAt: '' };
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (Number.isInteger(value.pid) && (value.pid as number) > 0 && typeof value.host === 'string') return value as LockHolder;
  } catch {}
  return undefined;
}

/** A lock file holds one short JSON line. */
const LOCK_FILE_CHECKS = { maxBytes: 4096 } as const;

/**
 * A lock file that names no process (empty, or damaged): what a power loss can leave of one, since
 * a lock is never seen half-written otherwise (createExclusive). Nobody's pid can be checked, so it
 * is judged by its age like another host's (a live holder touches its lock every LOCK_REFRESH_MS):
 * an empty `.lock` made every start fail with "process ? holds it", for ever.
 */
const unnamedHolder = (bytes: Buffer): LockHolder => ({
  pid: 0,
  host: '',
  // The same bytes read again (under the takeover guard) are the same holder.
  nonce: `unnamed:${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`,
  acquiredAt: '',
});

/**
 * The holder named in `file`: null if it is gone, undefined if it is not a lock of ours. With
 * `unreadable: 'throw'`, a lock this process may not read now (EACCES: the file or the runtime
 * directory chmod 000) throws instead of counting as not ours: a holder cannot tell from that
 * that its lock became another's.
 */
async function readHolder(file: string, options: { unreadable?: 'throw' } = {}): Promise<LockHolder | undefined | null> {
  try {
    const { bytes } = await readRuntimeBytes(file, LOCK_FILE_CHECKS);
    return parseHolder(bytes.toString('utf8')) ?? unnamedHolder(bytes);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null; // gone: try again
    if (err instanceof RuntimeFileRefusedError && err.problem === 'unreadable' && options.unreadable === 'throw') throw err;
    if (err instanceof RuntimeFileRefusedError) return undefined; // not a lock of ours (a FIFO, a directory): held by nobody we know
    throw err;
  }
}

/**
 * Creates `file` holding `content`, or fails with EEXIST: written to a unique temp file first and
 * linked into place, so nobody ever reads a half-written lock.
 */
async function createExclusive(file: string, content: string): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // A full disk fails the write after the file was made: it goes too (the finally), not left behind.
    await fsp.writeFile(temp, content, { mode: 0o600, flag: 'wx' });
    await fsp.link(temp, file);
  } finally {
    await fsp.unlink(temp).catch(() => {});
  }
}

/**
 * Removes the lock of a dead holder, under a short-lived guard file, so that of two processes that
 * both saw the same dead holder, the second one cannot remove the lock the first has just taken.
 */
async function removeDeadHolder(file: string, dead: LockHolder, judge: Judge, stamp?: string): Promise<void> {
  const guard = `${file}.takeover`;
  const nonce = randomBytes(6).toString('hex');
  const me = JSON.stringify({
    pid: process.pid,
    host: judge.host,
    nonce,
    acquiredAt: '',
    started: judge.startOf(process.pid),
    pidns: judge.pidns,
    bootId: judge.machine.bootId,
    machineId: judge.machine.machineId,
  });
  ownNonces.add(nonce);
  try {
    await createExclusive(guard, me);
  } catch (err) {
    ownNonces.delete(nonce);
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Another process is taking over right now (a few syscalls); unless it died doing so.
    const other = await readHolder(guard);
    if (other && (await guardAbandoned(guard, other, judge))) await fsp.unlink(guard).catch(() => {});
    return;
  }
  try {
    const current = await readHolder(file);
    // A holder judged by its lock's changes and touched since it was last looked at is alive after all.
    const unchanged = stamp === undefined || (await statLock(file))?.stamp === stamp;
    if (current && current.nonce === dead.nonce && current.pid === dead.pid && unchanged) await fsp.unlink(file).catch(() => {});
  } finally {
    await fsp.unlink(guard).catch(() => {});
    ownNonces.delete(nonce);
  }
}

/** How this process judges a lock's holder: the options given, this process's own facts otherwise. */
function judgeOf(options: Pick<LockOptions, 'isAlive' | 'startOf' | 'host' | 'pidns' | 'machine' | 'now'>): Judge {
  return {
    isAlive: options.isAlive ?? isProcessAlive,
    startOf: options.startOf ?? processStart,
    host: options.host ?? hostname(),
    pidns: 'pidns' in options ? options.pidns : pidNamespace(),
    machine: options.machine ?? machineIdentity(),
    now: options.now ?? (() => performance.now()),
  };
}

/** Takes the lock `file`; see LockHeldError. */
export async function acquireLock(file: string, options: LockOptions = {}): Promise<Lock> {
  const judge = judgeOf(options);
  const waitMs = options.waitMs ?? 0;
  const deadline = performance.now() + waitMs;
  const started = judge.startOf(process.pid);
  const holder: LockHolder = {
    pid: process.pid,
    host: judge.host,
    nonce: randomBytes(8).toString('hex'),
    acquiredAt: '',
    ...(started !== undefined && { started }),
    ...(judge.pidns !== undefined && { pidns: judge.pidns }),
    ...(judge.machine.bootId !== undefined && { bootId: judge.machine.bootId }),
    ...(judge.machine.machineId !== undefined && { machineId: judge.machine.machineId }),
  };
  // The unverifiable holder being watched: its stamp as last seen, since when (judge.now), and when it was seen to change.
  let watched: { pid: number; nonce: string; stamp: string; since: number; changedAt?: number } | undefined;
  for (;;) {
    throwIfStartAborted(options.signal);
    holder.acquiredAt = new Date().toISOString();
    const content = `${JSON.stringify(holder)}\n`;
    // Ours from before the file can exist: another acquirer in this process reading it meanwhile must see a live holder.
    ownNonces.add(holder.nonce);
    try {
      await createExclusive(file, content);
      return heldLock(file, holder.nonce, content, options.onLost);
    } catch (err) {
      ownNonces.delete(holder.nonce);
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const current = await readHolder(file);
    if (current === null) continue; // released between our attempt and the read
    const seen = await statLock(file);
    if (seen === null) continue;
    // Not a lock of ours (undefined: a FIFO, a directory): held by nobody we can judge.
    const verdict = current ? judgeHolder(current, judge, seen.mtime) : 'alive';
    if (current && verdict === 'dead') {
      await removeDeadHolder(file, current, judge);
      continue;
    }
    let touchedAgoMs: number | undefined;
    if (current && verdict === 'unverifiable') {
      // Judged by whether its lock changes, on this process's monotonic clock: never by its mtime
      // against this clock (the holder's clock stamps it, and may be behind or ahead of this one's).
      const now = judge.now();
      if (watched?.nonce !== current.nonce || watched.pid !== current.pid) {
        watched = { pid: current.pid, nonce: current.nonce, stamp: seen.stamp, since: now };
        if (options.waitForStale) options.onWaitForStale?.(current, Math.max(0, Date.now() - seen.mtime));
      } else if (seen.stamp !== watched.stamp) {
        watched = { ...watched, stamp: seen.stamp, since: now, changedAt: now };
      }
      if (now - watched.since >= LOCK_STALE_MS) {
        await removeDeadHolder(file, current, judge, seen.stamp);
        continue;
      }
      touchedAgoMs = watched.changedAt === undefined ? Math.max(0, Date.now() - seen.mtime) : now - watched.changedAt;
      // Not seen touched yet: watched on (refused as soon as it is), for the whole LOCK_STALE_MS when
      // waiting at all, even past waitMs (a shorter watch could never take a dead holder's lock over).
      if (watched.changedAt === undefined && (options.waitForStale || waitMs > 0)) {
        await pauseUnlessAborted(Math.min(250, LOCK_STALE_MS - (now - watched.since)), options.signal);
        continue;
      }
      if (options.waitForStale) throw new LockHeldError(file, current.pid, current.host, touchedAgoMs);
    }
    if (performance.now() >= deadline) throw new LockHeldError(file, current?.pid ?? 0, current?.host ?? '', touchedAgoMs);
    await pauseUnlessAborted(10 + Math.random() * 20, options.signal);
  }
}

const held = new Map<string, string>();
let exitHookInstalled = false;

/** Best effort on exit (a normal exit or process.exit; a SIGKILL leaves the file, which the next taker takes over). */
function releaseAllSync(): void {
  for (const [file, nonce] of held) {
    try {
      if (parseHolder(readSmallRuntimeFileSync(file, LOCK_FILE_CHECKS.maxBytes))?.nonce === nonce) unlinkSync(file);
    } catch {}
  }
  held.clear();
}

function heldLock(file: string, nonce: string, content: string, onLost?: (holder: LockHolder | null) => void): Lock {
  held.set(file, nonce);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', releaseAllSync);
  }
  let released: Promise<void> | undefined;
  // Touched while held: what tells a process that cannot check this one's pid that it is alive. Each
  // touch first checks the file is still this lock: one that is another's now is lost (told once).
  let touching: Promise<void> | undefined;
  const touch = setInterval(() => {
    touching ??= keep()
      .catch(() => {})
      .finally(() => {
        touching = undefined;
      });
  }, LOCK_REFRESH_MS);
  touch.unref();
  const keep = async () => {
    // Unreadable for now (a chmod 000 of the file or the directory): this touch is skipped (the
    // catch above), the lock stays held. Counted as "not a lock file any more", it stopped serve
    // and the runner both (exit 75) at a chmod 000 of the runtime directory.
    let current = await readHolder(file, { unreadable: 'throw' });
    if (current === null && !released) {
      // Removed (by hand): this process still holds the directory, so the lock is put back.
      try {
        await createExclusive(file, content);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return;
        current = await readHolder(file, { unreadable: 'throw' });
      }
    }
    if (released) return;
    if (current?.nonce === nonce) {
      const now = new Date();
      await fsp.utimes(file, now, now);
      return;
    }
    clearInterval(touch);
    if (held.get(file) === nonce) held.delete(file);
    ownNonces.delete(nonce);
    onLost?.(current ?? null);
  };
  return {
    file,
    release: () => {
      clearInterval(touch);
      released ??= (async () => {
        // A touch under way first (it could put back a lock this release has just removed).
        await touching;
        if (held.get(file) === nonce) held.delete(file);
        const current = await readHolder(file).catch(() => undefined);
        if (current?.nonce === nonce) await fsp.unlink(file).catch(() => {});
        ownNonces.delete(nonce);
      })();
      return released;
    },
  };
}

/**
 * A look at a lock this process does not take (a runner beside `serve`, at the runtime dir's `.lock`):
 * each call says whether a live process holds it now, judged as a taker would judge it (acquireLock),
 * without taking it over: its holder, or null when nobody does. A holder this process can check by
 * its pid is alive or dead by it; any other (another host or container; a lock this process may not
 * read, e.g. another user's, mode 0600; one that names no process) is alive while its lock changes
 * (a live holder touches it every LOCK_REFRESH_MS), and held alive until it has been seen unchanged
 * for LOCK_STALE_MS on this process's monotonic clock (pid 0 and host '' when it names nobody
 * readable). A lock file gone is nobody's.
 */
export function lockHolderLook(
  file: string,
  options: Pick<LockOptions, 'isAlive' | 'startOf' | 'host' | 'pidns' | 'machine' | 'now'> = {},
): () => Promise<Pick<LockHolder, 'pid' | 'host'> | null> {
  const judge = judgeOf(options);
  // The holder judged by its lock's changes: its stamp as last seen, and since when (judge.now) it has not changed.
  let watched: { stamp: string; since: number } | undefined;
  return async () => {
    const seen = await statLock(file).catch(() => undefined);
    if (seen === null) {
      watched = undefined;
      return null;
    }
    const current = await readHolder(file).catch(() => undefined);
    if (current === null) {
      watched = undefined;
      return null;
    }
    const verdict = current && seen ? judgeHolder(current, judge, seen.mtime) : 'unverifiable';
    if (verdict === 'dead') return null;
    const holder = { pid: current?.pid ?? 0, host: current?.host ?? '' };
    if (verdict === 'alive') return holder;
    const now = judge.now();
    const stamp = seen?.stamp ?? '';
    if (watched?.stamp !== stamp) watched = { stamp, since: now };
    return now - watched.since < LOCK_STALE_MS ? holder : null;
  };
}

/** Runs `task` holding the lock `file`, waiting up to `waitMs` (default 10 s) for it. */
export async function withLock<T>(file: string, task: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lock = await acquireLock(file, { waitMs: 10_000, ...options });
  try {
    return await task();
  } finally {
    await lock.release();
  }
}
