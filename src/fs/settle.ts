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
  /** The wall clock (ms since the epoch) just before the file was read: compared with the file's ctime. */
  readonly readAt: number;
  /** The loop's own clock (ms, monotonic: SettleClock.now) when `stat` was taken, after the read; only compared with another look's. */
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
  const still = look.stat.size === 0 ? ms * EMPTY_SETTLE_FACTOR : ms;
  const age = look.readAt - look.stat.ctimeMs;
  if (age >= still) return 0;
  if (before?.stat && sameFile(before.stat, look.stat) && look.at - before.at >= still) return 0;
  // An empty file is looked at again every window meanwhile: its content, once written, counts from then.
  return Math.min(ms, Math.max(10, still - Math.max(0, age)));
}

/**
 * An empty file changed in place must be still this many times as long (1 s at SETTLE_MS) before
 * it is taken: empty is what every in-place write shows between its truncate and its first piece,
 * and a writer held up for longer than 200 ms there (a process not scheduled on a loaded host, a
 * script that computes the content after `>` opened the file) had its empty file taken: an empty
 * strategies.yaml is a set with no presets (every preset gone, numbered and audited, then the
 * content's presets back as the next version), an empty tokens.yaml no named tokens (each one
 * refused meanwhile). An empty file renamed into place is whole, and taken at once, as any.
 */
export const EMPTY_SETTLE_FACTOR = 5;

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
 * `missingFor` (the loop's own clock, since the first look that found it missing); or at once when
 * the directory's last change (a rename or unlink out of it changes it, and nothing can set it back)
 * is `ms` before the read (`dirStillFor`: the read's wall clock less the directory's ctime; null when
 * the directory could not be looked at). A file that comes back meanwhile is new content, judged once
 * it has settled.
 */
export function missingWait(missingFor: number, dirStillFor: number | null, ms: number): number {
  if (dirStillFor !== null && dirStillFor >= ms) return 0;
  if (missingFor >= ms) return 0;
  // Looked at again after as long as it has been missing (at least MISSING_LOOK_MS): 2, 2, 4, 8 ... ms.
  return Math.min(ms - missingFor, Math.max(MISSING_LOOK_MS, missingFor));
}

/**
 * How soon a file found missing is first looked at again within its window (missingWait), each look
 * after that twice as far apart. The API's own replace makes a file missing for three system calls
 * (replaceChecked: the old one taken away, the new one linked): a runner beside it that read in that
 * moment slept the whole window before it looked again, and the activation it was reading waited
 * 200 ms to be applied (the bench's separate runner: p99 ~205 ms, the rest of its round trips ~5).
 * Looked at again 2 ms later, it finds the file back; one truly gone is taken after the whole window,
 * as before, in ~8 reads rather than 100 (each read is of both files).
 */
export const MISSING_LOOK_MS = 2;

/** The last change (ctime) of the directory `file` is in; null when it cannot be looked at (then the look's own clock decides). */
export async function dirChangedAt(file: string): Promise<number | null> {
  return stat(path.dirname(file)).then(
    (s) => s.ctimeMs,
    () => null,
  );
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The clocks a settle loop runs on (tests inject them). */
export interface SettleClock {
  /** The wall clock (ms since the epoch), the one the kernel stamps file times (ctime, mtime) with: only compared with them. */
  wall(): number;
  /** A monotonic clock (ms) for the loop's own durations (its bound, how long a file stayed still or missing). */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/**
 * File times against the wall clock; the loop's durations on the monotonic clock: on Date.now(), a
 * wall clock stepped back (this VM's once stepped ~7 s in a CI run) made a loop wait that much more,
 * and one stepped forward ended it at once (a file still being written taken as it stands).
 */
export const systemSettleClock: SettleClock = { wall: () => Date.now(), now: () => performance.now(), sleep };

/**
 * What one look tells of one file: nothing to wait for (undefined: text already known, a refused
 * file, a missing one already taken); a look at it after a read (`whole`: taken at once whatever its
 * times say, e.g. renamed into place); or found missing (`readAt`: the wall clock before the look,
 * `dirChangedAt`: its directory's ctime, see missingWait).
 */
export type SettleEntry =
  | undefined
  | { readonly look: FileLook; readonly whole?: boolean }
  | { readonly missing: { readonly readAt: number; readonly dirChangedAt: number | null } };

/**
 * A spell of changing, kept by the caller: across calls (the config store: a file still changing
 * when the last call took it as it stands is taken at once by the next one, and said once) or for one
 * call (a start).
 */
export interface SettleSpell {
  /** Since when (the loop's clock) the files have been found still changing; null: settled. */
  changingSince: number | null;
  /** The spell has been said (keptChanging), once per spell. */
  said: boolean;
  /** Each file (by its index in the looks) found missing: since when (the loop's clock). */
  readonly missingSince: Map<number, number>;
}

export function newSettleSpell(): SettleSpell {
  return { changingSince: null, said: false, missingSince: new Map() };
}

export interface SettleLoop<T> {
  /** Reads the files (their value is what the loop returns) and looks at each after its read (stat after, `readAt` before). */
  read(): Promise<{ readonly value: T; readonly files: readonly SettleEntry[] }>;
  /** A cheap look before each read (a stat): while it says wait, within the bound, nothing is read. */
  peek?(): Promise<readonly SettleEntry[]>;
  /** SETTLE_MS, SETTLE_MAX_MS unless the caller says (ms <= 0: the first read is taken). */
  readonly times?: SettleTimes;
  readonly clock?: SettleClock;
  /** The spell (default: one for this call). */
  readonly spell?: SettleSpell;
  /** Told once per spell that files (their indices) kept changing past the bound and are taken as they stand. */
  keptChanging(files: readonly number[], maxMs: number): void;
}

export interface Settled<T> {
  readonly value: T;
  /** The looks the value was taken with. */
  readonly files: readonly SettleEntry[];
  /** Every file was still (false: taken as it stands past the bound). */
  readonly settled: boolean;
}

/**
 * The looks to compare the next with (settleWait's `before`): for each file, the first look of the
 * run it has been unchanged through, so "unchanged over the window" spans several looks. With only
 * the last look, an empty file (looked at every window, taken after five) could never be found
 * unchanged over its five windows that way.
 */
function sinceUnchanged(before: readonly (FileLook | undefined)[], looks: readonly (FileLook | undefined)[]): (FileLook | undefined)[] {
  return looks.map((look, i) => {
    const first = before[i];
    return first?.stat && look?.stat && sameFile(first.stat, look.stat) ? first : look;
  });
}

/**
 * The one settle loop (the file store's start and its running reads, the token store): reads until
 * every file is still (settleWait, missingWait; `whole` at once), for at most `maxMs` since the
 * spell began; then takes them as they stand, from a read between two writes (readWhole) if one
 * comes within another `maxMs` (of the bound, or of this call when the spell passed its bound before
 * it), and says so once per spell.
 */
export async function readSettledFiles<T>(loop: SettleLoop<T>): Promise<Settled<T>> {
  const ms = loop.times?.ms ?? SETTLE_MS;
  const maxMs = loop.times?.maxMs ?? SETTLE_MAX_MS;
  const clock = loop.clock ?? systemSettleClock;
  const spell = loop.spell ?? newSettleSpell();
  if (ms <= 0) {
    const { value, files } = await loop.read();
    return { value, files, settled: true };
  }
  let before: (FileLook | undefined)[] = [];
  const callAt = clock.now();
  const looksOf = (files: readonly SettleEntry[]) => files.map((f) => (f && 'look' in f ? f.look : undefined));
  for (;;) {
    const roundAt = clock.now();
    const waitsOf = (files: readonly SettleEntry[]) =>
      files.map((f, i) => {
        if (f === undefined || !('missing' in f)) {
          spell.missingSince.delete(i);
          if (f === undefined || f.whole) return 0;
          return settleWait(f.look, before[i], ms);
        }
        const since = spell.missingSince.get(i) ?? roundAt;
        spell.missingSince.set(i, since);
        const { readAt, dirChangedAt } = f.missing;
        return missingWait(roundAt - since, dirChangedAt === null ? null : readAt - dirChangedAt, ms);
      });
    const left = () => (spell.changingSince ?? roundAt) + maxMs - clock.now();
    if (loop.peek) {
      const peeked = await loop.peek();
      const wait = Math.max(0, ...waitsOf(peeked));
      const peekLeft = left();
      if (wait > 0 && peekLeft > 0) {
        spell.changingSince ??= roundAt;
        before = sinceUnchanged(before, looksOf(peeked));
        await clock.sleep(Math.min(wait, peekLeft));
        continue;
      }
    }
    const { value, files } = await loop.read();
    const waits = waitsOf(files);
    const looks = looksOf(files);
    const wait = Math.max(0, ...waits);
    const readLeft = left();
    // Past the bound, taken as it stands, but from a read between two writes (readWhole): read
    // again every few ms, for another bound at most, then taken whatever it holds.
    // That other bound runs from this call's own start when the spell's bound had passed before it
    // (a spell carried across calls): from the spell's bound, a call made more than 2 x maxMs into a
    // spell took a torn read at once (an empty strategies.yaml, a tokens.yaml with no tokens).
    const torn = readLeft <= 0 && wait > 0 && looks.some((look, i) => (waits[i] ?? 0) > 0 && look !== undefined && !readWhole(look));
    const boundPassedBeforeCall = Math.max(0, callAt - ((spell.changingSince ?? roundAt) + maxMs));
    if (torn && readLeft + boundPassedBeforeCall > -maxMs) {
      before = sinceUnchanged(before, looks);
      await clock.sleep(WHOLE_READ_MS / 5);
      continue;
    }
    if (wait === 0 || readLeft <= 0) {
      if (wait > 0 && !spell.said) {
        // Rewritten without a pause for longer than a hand edit takes: taken as it stands, and said.
        spell.said = true;
        loop.keptChanging(
          waits.flatMap((w, i) => (w > 0 ? [i] : [])),
          maxMs,
        );
      }
      if (wait === 0) {
        spell.changingSince = null;
        spell.said = false;
      }
      return { value, files, settled: wait === 0 };
    }
    spell.changingSince ??= roundAt;
    before = sinceUnchanged(before, looks);
    await clock.sleep(Math.min(wait, readLeft));
  }
}
