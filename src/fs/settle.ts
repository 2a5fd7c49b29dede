import { stat } from 'node:fs/promises';
import path from 'node:path';
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

/**
 * A file that is not the one last read (another inode) was renamed into place after its content was
 * written (a temp file, then `mv`; `sed -i`; `stratctl token`): whole, so it need not settle. A
 * rename changes the file's ctime, not its mtime, so its ctime is after its mtime. A file created
 * anew and being written (vim's default write renames the old one away, then creates and writes the
 * new one) has both times at its last write: it waits like an edit in place. Without this, a first
 * look after the missing moment took a third of strategies.yaml at once, as a new set (seen under
 * load). A write and a rename within one tick of the file clock look like the second: only slower.
 */
export function renamedAfterWritten(stat: RuntimeFileStat): boolean {
  return stat.ctimeMs > stat.mtimeMs;
}

/**
 * How long before a read its file must have last changed for the read to count as one whole
 * version: the kernel stamps a change with its coarse clock, which may trail the real time by a tick
 * (a read of an empty file came 3.8 ms after the ctime of the write it had not seen).
 */
export const WHOLE_READ_MS = 10;

/**
 * For a file that keeps changing past SETTLE_MAX_MS, taken as it stands: whether the read `look` was
 * taken with is worth taking, a moment between two writes rather than one torn by the next: its
 * last change (ctime, in the stat taken after the read) came before the read began, and it is not
 * empty (a writer rewriting it in a loop leaves it empty after each truncate: an empty config.yaml
 * is invalid, an empty strategies.yaml a set with no presets, an empty tokens.yaml no tokens).
 */
export function readWhole(look: FileLook): boolean {
  return look.stat === null || (look.stat.size > 0 && look.readAt - look.stat.ctimeMs >= WHOLE_READ_MS);
}

/**
 * A file found missing while what is in force came from a file there: how long to wait before it is
 * taken as missing (0: now). A hand edit may pass through a missing file (vim's default write renames
 * the file to `file~`, then creates it anew and writes it; `rm`, then a new file; a tool that deletes
 * before it writes): taken at once, a missing strategies.yaml was a set of no presets (numbered,
 * audited, handed to the runner), a missing config.yaml a 503, a missing tokens.yaml a 401 for every
 * named token. So, like a change in place, it is taken only once it has stayed missing for `ms`:
 * found missing by a look at `since` and still now, `ms` later; or at once when the directory's last
 * change (a rename or unlink out of it changes it, and nothing can set it back) is `ms` before the
 * read. A file that comes back meanwhile is new content, judged once it has settled.
 */
export function missingWait(readAt: number, since: number, dirChangedAt: number | null, ms: number): number {
  if (dirChangedAt !== null && readAt - dirChangedAt >= ms) return 0;
  const missingFor = readAt - since;
  if (missingFor >= ms) return 0;
  return Math.min(ms, Math.max(10, ms - missingFor));
}

/** The last change (ctime) of the directory `file` is in; null when it cannot be looked at (then the look's own clock decides). */
export async function dirChangedAt(file: string): Promise<number | null> {
  return stat(path.dirname(file)).then(
    (s) => s.ctimeMs,
    () => null,
  );
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
