import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AuditEntry, type AuditSubject, parseAuditEntry } from '../../src/config/audit-entry.js';
import { AUDIT_MEMORY, AuditFile } from '../../src/config/audit-file.js';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';
import { auditEntry } from '../helpers/audit-entries.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const entry = (subject: AuditSubject, version: number): AuditEntry => auditEntry(version, subject);
const line = (e: AuditEntry) => `${JSON.stringify(e)}\n`;
/** A line written before entries had subjects: read as a config entry. */
const legacyLine = (version: number) => {
  const { subject: _subject, ...rest } = entry('CONFIG', version);
  return `${JSON.stringify(rest)}\n`;
};

/** What reading the whole file front to back keeps: the newest AUDIT_MEMORY entries of each subject, newest first. */
function readWhole(text: string, n: number, subject?: AuditSubject): number[] {
  const all = text
    .split('\n')
    .slice(0, -1)
    .map((l) => parseAuditEntry(l))
    .filter((e): e is AuditEntry => e !== null);
  const kept = new Set((['CONFIG', 'PRESETS'] as const).flatMap((s) => all.filter((e) => e.subject === s).slice(-AUDIT_MEMORY)));
  return all
    .filter((e) => kept.has(e) && (!subject || e.subject === subject))
    .reverse()
    .slice(0, n)
    .map((e) => e.version);
}

/** The real file system, counting the bytes read (whole files and parts). */
function countingFs() {
  const counted = { bytes: 0 };
  const fs: FileSystem = {
    ...nodeFileSystem,
    async readFile(file, checks) {
      const bytes = await nodeFileSystem.readFile(file, checks);
      counted.bytes += bytes.length;
      return bytes;
    },
    async openRead(file, checks) {
      const real = await nodeFileSystem.openRead(file, checks);
      return {
        size: real.size,
        read: async (position, length) => {
          const bytes = await real.read(position, length);
          counted.bytes += bytes.length;
          return bytes;
        },
        close: () => real.close(),
      };
    },
  };
  return { fs, counted };
}

describe('AuditFile read from its end', () => {
  it('keeps what a front-to-back read keeps, for every part size (a part smaller than a line, lines across parts)', async () => {
    const dir = await tempRuntimeDir();
    // Mixed subjects, legacy lines, blank lines; config changes far outnumber preset ones, and the last preset change is old.
    let text = '';
    let configVersion = 0;
    let presetsVersion = 0;
    for (let i = 0; i < 2600; i++) {
      if (i % 97 === 5 && i < 1200) text += line(entry('PRESETS', ++presetsVersion));
      else if (i % 500 === 7) text += legacyLine(++configVersion);
      else if (i % 333 === 11) text += '\n';
      else text += line(entry('CONFIG', ++configVersion));
    }
    await writeFile(path.join(dir, 'audit.log'), text);
    for (const readChunk of [37, 311, 4096, 1 << 20]) {
      const log = await AuditFile.open({ runtimeDir: dir, readChunk });
      expect(log.last(AUDIT_MEMORY), `readChunk ${readChunk}`).toHaveLength(AUDIT_MEMORY);
      expect(log.last(AUDIT_MEMORY).map((e) => e.version)).toEqual(readWhole(text, AUDIT_MEMORY));
      expect(log.last(AUDIT_MEMORY, 'CONFIG').map((e) => e.version)).toEqual(readWhole(text, AUDIT_MEMORY, 'CONFIG'));
      expect(log.last(AUDIT_MEMORY, 'PRESETS').map((e) => e.version)).toEqual(readWhole(text, AUDIT_MEMORY, 'PRESETS'));
      expect(log.last(1, 'PRESETS')[0]).toMatchObject({ version: presetsVersion, digest: `sha256:PRESETS-${presetsVersion}` });
      expect(log.lastVersion('CONFIG')).toBe(configVersion);
      expect(log.lastVersion('PRESETS')).toBe(presetsVersion);
      expect(log.setAside).toBeNull();
    }
    expect(presetsVersion).toBeGreaterThan(5);
  });

  it('reads only the end of a long trail once both subjects have AUDIT_MEMORY entries there; else looks through it all for the other', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'audit.log');
    const old = Array.from({ length: 20_000 }, (_, i) => line(entry('CONFIG', i + 1))).join('');
    const lately = Array.from({ length: AUDIT_MEMORY }, (_, i) => line(entry('PRESETS', i + 1)) + line(entry('CONFIG', 20_001 + i))).join(
      '',
    );
    await writeFile(file, old + lately);
    const recent = countingFs();
    const log = await AuditFile.open({ runtimeDir: dir, fs: recent.fs });
    expect(log.last(2).map((e) => [e.subject, e.version])).toEqual([
      ['CONFIG', 20_000 + AUDIT_MEMORY],
      ['PRESETS', AUDIT_MEMORY],
    ]);
    expect(log.last(AUDIT_MEMORY + 5, 'CONFIG')).toHaveLength(AUDIT_MEMORY);
    expect(log.last(AUDIT_MEMORY + 5, 'PRESETS')).toHaveLength(AUDIT_MEMORY);
    // The recent lines and a part more (256 KiB), not the 20,000 before them.
    expect(recent.counted.bytes).toBeLessThan(lately.length + 2 * 256 * 1024);
    expect(recent.counted.bytes).toBeLessThan((old.length + lately.length) / 4);

    // One preset change long ago: the whole file is looked through for more (parts without one are skipped unparsed).
    await writeFile(file, line(entry('PRESETS', 1)) + old + line(entry('CONFIG', 20_001)));
    const all = countingFs();
    const long = await AuditFile.open({ runtimeDir: dir, fs: all.fs });
    expect(long.last(1, 'PRESETS')[0]).toMatchObject({ version: 1, digest: 'sha256:PRESETS-1' });
    expect(long.last(2).map((e) => [e.subject, e.version])).toEqual([
      ['CONFIG', 20_001],
      ['CONFIG', 20_000],
    ]);
    expect(long.lastVersion('PRESETS')).toBe(1);
    expect(all.counted.bytes).toBeGreaterThanOrEqual(old.length);
  });

  it('a torn tail longer than a part is found and set aside; lines that are not entries are named by line number, then counted', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'audit.log');
    const bad = Array.from({ length: 13 }, (_, i) => `not an entry ${i}\n`).join('');
    const torn = JSON.stringify(entry('CONFIG', 99)).repeat(3);
    await writeFile(file, line(entry('CONFIG', 1)) + bad + line(entry('PRESETS', 1)) + line(entry('CONFIG', 2)) + torn);
    const warnings: string[] = [];
    const log = await AuditFile.open({ runtimeDir: dir, readChunk: 64, warn: (m) => warnings.push(m) });
    expect(log.last(5).map((e) => [e.subject, e.version])).toEqual([
      ['CONFIG', 2],
      ['PRESETS', 1],
      ['CONFIG', 1],
    ]);
    expect(warnings).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `${file}: line ${i + 2} is not an audit entry; skipped`),
      `${file}: 3 more lines are not audit entries; skipped`,
    ]);
    await log.repair();
    expect(log.setAside).not.toBeNull();
    expect(await readFile(log.setAside as string, 'utf8')).toBe(torn);
    expect((await readFile(file, 'utf8')).endsWith(line(entry('CONFIG', 2)))).toBe(true);
  });

  it('an append after another writer reads one byte to know it starts on a new line, however long the trail', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'audit.log');
    await writeFile(file, Array.from({ length: 2_000 }, (_, i) => line(entry('CONFIG', i + 1))).join(''));
    const counting = countingFs();
    const log = await AuditFile.open({ runtimeDir: dir, fs: counting.fs });
    // Someone else appends a torn line (no newline), then this process appends.
    await writeFile(file, `${await readFile(file, 'utf8')}{"torn":`);
    counting.counted.bytes = 0;
    await log.append([entry('CONFIG', 2_001)]);
    expect(counting.counted.bytes).toBe(1);
    expect((await readFile(file, 'utf8')).endsWith(`{"torn":\n${line(entry('CONFIG', 2_001))}`)).toBe(true);
  });

  it('follow() reads only what was appended, and a file cut short is read again from its end', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'audit.log');
    await writeFile(file, Array.from({ length: 50 }, (_, i) => line(entry('CONFIG', i + 1))).join(''));
    const reader = countingFs();
    const log = await AuditFile.open({ runtimeDir: dir, fs: reader.fs });
    const writer = await AuditFile.open({ runtimeDir: dir });
    await writer.append([entry('PRESETS', 1), entry('CONFIG', 51)]);
    reader.counted.bytes = 0;
    await log.follow();
    // The appended lines, and the last 64 bytes it had read before them (checked still in place: audit-log.test.ts).
    expect(reader.counted.bytes).toBe(64 + line(entry('PRESETS', 1)).length + line(entry('CONFIG', 51)).length);
    expect(log.last(3).map((e) => [e.subject, e.version])).toEqual([
      ['CONFIG', 51],
      ['PRESETS', 1],
      ['CONFIG', 50],
    ]);
    await writeFile(file, line(entry('CONFIG', 60)));
    await log.follow();
    expect(log.last(5).map((e) => [e.subject, e.version])).toEqual([['CONFIG', 60]]);
    expect(log.lastVersion('PRESETS')).toBe(0);
    expect(log.lastVersion('CONFIG')).toBe(60);
  });
});
