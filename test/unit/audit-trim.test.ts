import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuditSubject } from '../../src/config/audit-entry.js';
import { AuditFile } from '../../src/config/audit-file.js';
import { AuditTrimError, auditSlack, trimAuditFile } from '../../src/config/audit-trim.js';
import { writeGroup } from '../../src/config/file-io.js';
import { nodeFileSystem, syncNodeFileSystem } from '../../src/fs/file-system.js';
import { auditEntry } from '../helpers/audit-entries.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

/** A line of the trail, named by subject and version (what the tests compare). */
const line = (subject: AuditSubject, version: number) => `${JSON.stringify(auditEntry(version, subject))}\n`;
const names = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const e = JSON.parse(l) as { subject: AuditSubject; version: number };
      return `${e.subject[0]}${e.version}`;
    });

/** CONFIG 1..configs, with a PRESETS line after every `every`-th config line (PRESETS 1..). */
function interleaved(configs: number, every: number, presets = Number.POSITIVE_INFINITY): string {
  let text = '';
  let p = 0;
  for (let c = 1; c <= configs; c++) {
    text += line('CONFIG', c);
    if (c % every === 0 && p < presets) text += line('PRESETS', ++p);
  }
  return text;
}

describe.each([
  ['promise fs (in process)', nodeFileSystem],
  ['sync fs (the I/O worker)', syncNodeFileSystem],
])('trimAuditFile, %s', (_name, fs) => {
  it('slack: max(100, N/10)', () => {
    expect([auditSlack(1), auditSlack(5), auditSlack(1000), auditSlack(10_000), auditSlack(1_000_000)]).toEqual([
      100, 100, 100, 1000, 100_000,
    ]);
  });

  it('moves the oldest CONFIG lines beyond keep to audit.log.old, in order; PRESETS lines among them stay where they were', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'audit.log');
    // 105 config lines (over 2 + 100), 3 preset lines among the first ones.
    await writeFile(file, interleaved(105, 10, 3), { mode: 0o600 });
    // Read 7 bytes at a time: every line crosses a read.
    const done = await trimAuditFile(fs, { file, oldFile: `${file}.old`, keep: 2, chunk: 7 });
    expect(done.moved).toEqual({ CONFIG: 103, PRESETS: 0 });
    expect(done.counts).toEqual({ CONFIG: 2, PRESETS: 3 });
    const kept = await readFile(file, 'utf8');
    expect(names(kept)).toEqual(['P1', 'P2', 'P3', 'C104', 'C105']);
    expect(done.size).toBe(Buffer.byteLength(kept));
    expect(names(await readFile(`${file}.old`, 'utf8'))).toEqual(Array.from({ length: 103 }, (_, i) => `C${i + 1}`));
    expect((await stat(`${file}.old`)).mode & 0o777).toBe(0o600);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // No temp file left behind.
    expect((await readdir(dir)).sort()).toEqual(['audit.log', 'audit.log.old']);
  });

  it('each subject over the limit keeps its own newest N, interleaved as they were', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'audit.log');
    // 220 config lines, a preset line after each second one: 110 presets (over 5 + 100), 220 configs.
    await writeFile(file, interleaved(220, 2));
    const done = await trimAuditFile(fs, { file, oldFile: `${file}.old`, keep: 5 });
    expect(done.moved).toEqual({ CONFIG: 215, PRESETS: 105 });
    expect(names(await readFile(file, 'utf8'))).toEqual(['P106', 'P107', 'C216', 'P108', 'C217', 'C218', 'P109', 'C219', 'C220', 'P110']);
    const old = names(await readFile(`${file}.old`, 'utf8'));
    expect(old).toHaveLength(320);
    expect(old.slice(0, 6)).toEqual(['C1', 'C2', 'P1', 'C3', 'C4', 'P2']);
    expect(old.slice(-6)).toEqual(['C210', 'P105', 'C211', 'C212', 'C213', 'C214', 'C215'].slice(-6));
  });

  it('at or below keep + slack: counts, writes nothing', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'audit.log');
    const text = interleaved(102, 50);
    await writeFile(file, text);
    const before = await stat(file);
    const done = await trimAuditFile(fs, { file, oldFile: `${file}.old`, keep: 2 });
    expect(done).toEqual({ counts: { CONFIG: 102, PRESETS: 2 }, moved: { CONFIG: 0, PRESETS: 0 }, size: Buffer.byteLength(text) });
    expect((await stat(file)).ino).toBe(before.ino);
    expect(await readdir(dir)).toEqual(['audit.log']);
  });

  it('appends after what audit.log.old holds, on a new line even after a torn one', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'audit.log');
    await writeFile(`${file}.old`, `${line('CONFIG', 0)}{"torn`);
    await writeFile(file, interleaved(103, 1000));
    await trimAuditFile(fs, { file, oldFile: `${file}.old`, keep: 2 });
    const old = (await readFile(`${file}.old`, 'utf8')).split('\n');
    expect(old[1]).toBe('{"torn');
    expect(names(old.slice(2).join('\n'))).toEqual(Array.from({ length: 101 }, (_, i) => `C${i + 1}`));
  });

  it('audit.log.old not writable (a directory in its place): fails naming the step, audit.log as it was, nothing left behind', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'audit.log');
    const text = interleaved(103, 1000);
    await writeFile(file, text);
    await mkdir(`${file}.old`);
    const failure = await trimAuditFile(fs, { file, oldFile: `${file}.old`, keep: 2 }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(AuditTrimError);
    expect((failure as AuditTrimError).step).toBe('audit trim append');
    expect(await readFile(file, 'utf8')).toBe(text);
    expect((await readdir(dir)).sort()).toEqual(['audit.log', 'audit.log.old']);
  });
});

describe('a trim after a group write', () => {
  it('writeGroup trims after the append; AuditFile takes the new size, so the next append warns of nothing', async () => {
    const dir = await tempRuntimeDir();
    const warnings: string[] = [];
    const audit = await AuditFile.open({ runtimeDir: dir, warn: (m) => warnings.push(m) });
    await audit.append(Array.from({ length: 100 }, (_, i) => auditEntry(i + 1)));
    const entries = [auditEntry(101), auditEntry(102), auditEntry(103)];
    expect(audit.trimDue(2, entries)).toBe(true); // never counted: counted now
    const done = await writeGroup(nodeFileSystem, {
      writes: [],
      checks: { maxBytes: 1 << 20 },
      audit: { file: audit.file, text: AuditFile.textOf(entries), knownSize: audit.knownSize, trim: { oldFile: audit.oldFile, keep: 2 } },
    });
    expect(done.trim).toMatchObject({ moved: { CONFIG: 101, PRESETS: 0 }, counts: { CONFIG: 2, PRESETS: 0 } });
    audit.appended(entries, done.auditSize, done.auditLost);
    if (done.trim && 'counts' in done.trim) audit.trimmed(done.trim);
    expect(audit.knownSize).toBe((await stat(audit.file)).size);
    // Counted: the next trim is due once CONFIG passes 2 + 100 again.
    expect(
      audit.trimDue(
        2,
        Array.from({ length: 100 }, (_, i) => auditEntry(104 + i)),
      ),
    ).toBe(false);
    expect(
      audit.trimDue(
        2,
        Array.from({ length: 101 }, (_, i) => auditEntry(104 + i)),
      ),
    ).toBe(true);
    await audit.append([auditEntry(104)]);
    expect(warnings).toEqual([]);
    expect(names(await readFile(audit.file, 'utf8'))).toEqual(['C102', 'C103', 'C104']);
    // History still answers from memory.
    expect(audit.last(200).map((e) => e.version)).toHaveLength(104);
  });
});

describe('a runner beside the API follows a trimmed audit.log', () => {
  it('a file replaced by a trim is read again from its end, even when it is longer than the part this process had read', async () => {
    const dir = await tempRuntimeDir();
    const writer = await AuditFile.open({ runtimeDir: dir });
    await writer.append([auditEntry(1), auditEntry(2), auditEntry(3)]);
    const reader = await AuditFile.open({ runtimeDir: dir });
    await reader.follow(); // as a runner does at its start: the file as it is now
    const entries = Array.from({ length: 108 }, (_, i) => auditEntry(i + 4));
    const done = await writeGroup(nodeFileSystem, {
      writes: [],
      checks: { maxBytes: 1 << 20 },
      audit: {
        file: writer.file,
        text: AuditFile.textOf(entries),
        knownSize: writer.knownSize,
        trim: { oldFile: writer.oldFile, keep: 10 },
      },
    });
    expect(done.trim).toMatchObject({ moved: { CONFIG: 101 } });
    // The kept 10 lines are longer than the 3 the reader had read.
    expect(done.auditSize).toBeGreaterThan(reader.knownSize);
    await reader.follow();
    expect(reader.last(50).map((e) => e.version)).toEqual(Array.from({ length: 10 }, (_, i) => 111 - i));
    expect(reader.lastVersion('CONFIG')).toBe(111);
  });
});
