import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, TEST_TOKEN } from '../helpers/server.js';
import { stratctl } from '../helpers/stratctl.js';

const ACTIVATE = 'mutation($key: String!) { activateStrategy(strategyKey: $key) { configVersion } }';
const UPSERT = 'mutation($input: PresetInput!) { upsertPreset(input: $input) { presetsVersion } }';
const GOLD_FAST = { key: 'gold_fast', base: 'gold', name: 'Gold Trend (fast)', tunables: { fast_ma_period: 3, slow_ma_period: 5 } };
const env = { CONTROL_PLANE_TOKEN: TEST_TOKEN };

interface Line {
  subject: 'CONFIG' | 'PRESETS';
  version: number;
}

async function linesOf(file: string): Promise<Line[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  if (text !== '') expect(text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
}

const versions = (lines: Line[], subject: Line['subject']) => lines.filter((l) => l.subject === subject).map((l) => l.version);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** `n` activations over HTTP, alternating two strategies (each a new config version); returns the last version. */
async function activations(url: string, n: number, first = 0): Promise<number> {
  let version = 0;
  for (let i = 0; i < n; i++) {
    const res = await gql(url, ACTIVATE, { key: (first + i) % 2 === 0 ? 'gold' : 'range' }, { token: TEST_TOKEN });
    expect(res.body.errors).toBeUndefined();
    version = res.body.data?.activateStrategy.configVersion;
  }
  return version;
}

const history = async (url: string, subject: Line['subject']) =>
  (
    (await gql(url, `{ auditLog(last: 500, subject: ${subject}) { version } }`, undefined, { token: TEST_TOKEN })).body.data?.auditLog ?? []
  ).map((e: { version: number }) => e.version);

describe('--audit-keep on the file store', () => {
  it('audit.log keeps the newest N..N+slack CONFIG lines, audit.log.old the rest in order; PRESETS kept; a restart starts clean', async () => {
    const dir = await tempRuntimeDir();
    const log = path.join(dir, 'audit.log');
    const old = path.join(dir, 'audit.log.old');
    const server = await spawnServer(dir, ['--no-runner', '--audit-keep', '5'], env);
    expect((await gql(server.url, UPSERT, { input: GOLD_FAST }, { token: TEST_TOKEN })).body.data?.upsertPreset.presetsVersion).toBe(1);
    // baseline (1) + 115: CONFIG passes 5 + 100 (the slack) at version 106, trimmed back to 5 then; 10 more after.
    expect(await activations(server.url, 115)).toBe(116);

    const kept = await linesOf(log);
    const moved = await linesOf(old);
    expect(versions(moved, 'CONFIG')).toEqual(range(1, 101));
    expect(versions(moved, 'PRESETS')).toEqual([]);
    expect(versions(kept, 'CONFIG')).toEqual(range(102, 116));
    expect(versions(kept, 'PRESETS')).toEqual([1]);
    // History answers from memory: nothing of it went.
    expect(await history(server.url, 'CONFIG')).toEqual(range(1, 116).reverse());
    expect(await history(server.url, 'PRESETS')).toEqual([1]);
    expect(server.stderr()).not.toMatch(/audit\.log (was|could not)/);
    expect(await server.stop()).toBe(0);

    const again = await spawnServer(dir, ['--no-runner', '--audit-keep', '5'], env);
    expect(await activations(again.url, 1, 115)).toBe(117);
    expect(await history(again.url, 'CONFIG')).toEqual(range(102, 117).reverse());
    expect(await history(again.url, 'PRESETS')).toEqual([1]);
    // What went to audit.log.old is no longer history after a restart: a rollback there is refused.
    const rollback = await gql(again.url, 'mutation { rollbackConfig(toVersion: 50) { rolledBackTo } }', undefined, { token: TEST_TOKEN });
    expect(rollback.body.errors?.[0]?.extensions?.reason).toBe('expired');
    expect(versions(await linesOf(log), 'CONFIG')).toEqual(range(102, 117));
    expect(versions(await linesOf(old), 'CONFIG')).toEqual(range(1, 101));
    expect(again.stderr()).not.toMatch(/WARN/);
    expect(await again.stop()).toBe(0);
  });

  it('audit.log.old not writable: the change is made, a warning and a count, audit.log untouched; no try again for 60 s; the next start trims', async () => {
    const dir = await tempRuntimeDir();
    const log = path.join(dir, 'audit.log');
    const old = path.join(dir, 'audit.log.old');
    // A trail of 107 config entries, written without --audit-keep (kept whole, as before).
    const first = await spawnServer(dir, ['--no-runner'], env);
    expect(await activations(first.url, 106)).toBe(107);
    expect(await first.stop()).toBe(0);
    expect(versions(await linesOf(log), 'CONFIG')).toEqual(range(1, 107));

    await mkdir(old);
    const server = await spawnServer(dir, ['--no-runner', '--audit-keep', '5'], env);
    const before = await readFile(log, 'utf8');
    expect(await activations(server.url, 1, 106)).toBe(108);
    await server.waitFor(/audit\.log could not be trimmed/);
    // Only the change's own line was added.
    const after = await readFile(log, 'utf8');
    expect(after.startsWith(before)).toBe(true);
    expect(versions(await linesOf(log), 'CONFIG')).toEqual(range(1, 108));
    const metrics = await (
      await fetch(`${new URL(server.url).origin}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })
    ).text();
    expect(metrics).toMatch(/^control_plane_audit_trim_failures_total 1$/m);

    expect(server.stderr()).toMatch(
      /the trim is tried again at the first change from \d{4}-\d\d-\d\dT[\d:.]+Z on \(60 s from now\), or at the next start/,
    );

    // Backing off: the next change (well within 60 s) tries no trim (no read of the file, no warning).
    expect(await activations(server.url, 1, 107)).toBe(109);
    // Fixed meanwhile: still not tried until the back-off ends, or the next start.
    await rmdir(old);
    expect(await activations(server.url, 1, 108)).toBe(110);
    expect(versions(await linesOf(log), 'CONFIG')).toEqual(range(1, 110));
    expect(await linesOf(old)).toEqual([]);
    expect(server.stderr().match(/could not be trimmed/g)).toHaveLength(1);
    const still = await (
      await fetch(`${new URL(server.url).origin}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })
    ).text();
    expect(still).toMatch(/^control_plane_audit_trim_failures_total 1$/m);
    expect(await server.stop()).toBe(0);

    // The next start's first change trims.
    const again = await spawnServer(dir, ['--no-runner', '--audit-keep', '5'], env);
    expect(await activations(again.url, 1, 109)).toBe(111);
    expect(versions(await linesOf(old), 'CONFIG')).toEqual(range(1, 106));
    expect(versions(await linesOf(log), 'CONFIG')).toEqual(range(107, 111));
    expect(again.stderr()).not.toMatch(/could not be trimmed|audit\.log was/);
  });

  it('a flag that means nothing for the command is refused: runner, token; 0 is out of range', async () => {
    const dir = await tempRuntimeDir();
    await writeFile(path.join(dir, 'tokens.yaml'), '');
    const runner = await stratctl(['runner', '--runtime-dir', dir, '--audit-keep', '5']);
    expect(runner.code).toBe(2);
    expect(runner.stderr).toContain('--audit-keep: a runner does not write audit.log');
    const token = await stratctl(['token', 'list', '--runtime-dir', dir, '--audit-keep', '5']);
    expect(token.code).toBe(2);
    expect(token.stderr).toContain('stratctl token list: --audit-keep: stratctl token does not write the audit trail');
    const zero = await stratctl(['serve', '--runtime-dir', dir, '--port', '0', '--audit-keep', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/--audit-keep: \\?"0\\?" is not a whole number from 1 to 1000000/);
  });
});
