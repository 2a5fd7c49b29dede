import type { RuntimeFileStat } from './runtime-file.js';

/**
 * Hand edits written in place, in pieces (`cat > file`, `echo ... > file`, nano, an editor with
 * backupcopy=yes, a config-management tool writing in place): the file is truncated, then written
 * in one or more writes. Read between two of them it holds a part of the edit, which may well be
 * valid (an empty strategies.yaml is a set with no presets; an empty tokens.yaml grants nothing).
 * So a change the server did not write itself is taken only once the file has stopped changing:
 * its last change (ctime, which a writer cannot set) at least SETTLE_MS before it was read, or its
 * metadata the same over SETTLE_MS. A file still changing after SETTLE_MAX_MS is taken as it
 * stands (and said), so one rewritten forever is still judged and reported, never ignored.
 */
export const SETTLE_MS = 200;
/** How long a file may keep changing before it is taken as it stands (a hand edit is picked up within 2 s). */
export const SETTLE_MAX_MS = 1500;

export interface SettleTimes {
  /** Still this long after its last change (default SETTLE_MS). */
  readonly ms?: number;
  /** Taken as it stands after changing this long (default SETTLE_MAX_MS). */
  readonly maxMs?: number;
}

/** One look at a file: its metadata (null: missing, or it could not be looked at) and when it was taken. */
export interface FileLook {
  readonly stat: RuntimeFileStat | null;
  /** The clock (ms) just before the file was read. */
  readonly readAt: number;
  /** The clock (ms) when `stat` was taken, after the read. */
  readonly at: number;
}

/** The metadata that changes with every write, truncate or rename (the mode and owner are not content). */
export function sameFile(a: RuntimeFileStat, b: RuntimeFileStat): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/**
 * How long to wait before the file is read again: 0 when what was read is settled. `look.stat` was
 * taken after the read, so a change during the read shows in it. Settled when the last change came
 * at least `ms` before the read began (the kernel's coarse clock may trail the wall clock by a tick;
 * `ms` covers it), or when nothing changed between `before` and `look` and they are `ms` apart (a
 * ctime ahead of the clock, after the clock was set back).
 */
export function settleWait(look: FileLook, before: FileLook | undefined, ms: number): number {
  if (look.stat === null) return 0;
  const age = look.readAt - look.stat.ctimeMs;
  if (age >= ms) return 0;
  if (before?.stat && sameFile(before.stat, look.stat) && look.at - before.at >= ms) return 0;
  return Math.min(ms, Math.max(10, ms - Math.max(0, age)));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
