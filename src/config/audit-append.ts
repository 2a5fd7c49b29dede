import { errnoOf, type FileSystem } from '../fs/file-system.js';
import type { RuntimeFileChecks } from '../fs/runtime-file.js';
import { ConfigWriteError } from './errors.js';

// Apart from audit-file.ts (which parses entries with zod): the store's I/O worker appends with
// this alone, and a worker thread loads only what it imports.

/** An append's outcome: the file's size after it, and whether lines this process wrote before had gone. */
export interface AuditAppended {
  readonly size: number;
  /**
   * `missing`: the file was gone (removed or rotated away) and a new one was started; `shorter`: it
   * was shorter than this process had written it (truncated, or replaced by another file). Null: as
   * this process left it, or only longer.
   */
  readonly lost: 'missing' | 'shorter' | null;
}

/**
 * Appends `text` (whole lines) to the audit file in one write and one fsync, starting on a line
 * boundary even when something else appended a torn line since `knownSize`; on failure cuts the
 * file back to the size it had, so no half line stays. Returns the file's size after the append.
 * Shared by the store and its I/O worker, so both append alike.
 */
export async function appendAuditText(
  fs: FileSystem,
  file: string,
  text: string,
  knownSize: number,
  checks: RuntimeFileChecks = { maxBytes: Number.POSITIVE_INFINITY },
): Promise<AuditAppended> {
  let size = knownSize;
  let lines = text;
  let step = 'open';
  let lost: AuditAppended['lost'] = null;
  try {
    // Someone else may have appended (a torn line without its newline): never glue our line to it.
    const stat = await fs.stat(file).catch(() => null);
    if (!stat) {
      // Removed since (by hand, a rotation): a new file starts at 0, and a failed append cuts it back to 0.
      if (size > 0) lost = 'missing';
      size = 0;
    } else if (stat.size !== size) {
      if (stat.size < size) lost = 'shorter';
      if (stat.size > 0 && !(await endsWithNewline(fs, file, stat.size, checks))) lines = `\n${lines}`;
      size = stat.size;
    }
    const handle = await fs.open(file, 'a', 0o600);
    try {
      step = 'append';
      await handle.write(lines);
      step = 'fsync';
      await handle.sync();
    } finally {
      await handle.close().catch(() => {});
    }
  } catch (err) {
    await fs.truncate(file, size).catch(() => {});
    throw new ConfigWriteError(`audit ${step}`, errnoOf(err), { cause: err });
  }
  return { size: size + Buffer.byteLength(lines), lost };
}

/** Whether the file's last byte (of the `size` it had) is a newline: one byte read, however long the trail. */
async function endsWithNewline(fs: FileSystem, file: string, size: number, checks: RuntimeFileChecks): Promise<boolean> {
  const opened = await fs.openRead(file, checks).catch(() => null);
  if (opened === null) return true;
  try {
    const end = Math.min(size, opened.size);
    return end === 0 || (await opened.read(end - 1, 1))[0] === 0x0a;
  } finally {
    await opened.close();
  }
}
