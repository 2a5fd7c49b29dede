import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createToken } from '../../src/auth/token-file.js';
import { digestOf } from '../../src/config/digest.js';
import type { StoreEvent } from '../../src/config/store.js';
import { SETTLE_MS } from '../../src/fs/settle.js';
import { createLogger } from '../../src/log.js';
import { auditLines, keepAsking, metric, readyStatus, WIDE_SETTLE } from '../helpers/hand-edit.js';
import { gql } from '../helpers/http.js';
import { UPSERT } from '../helpers/presets.js';
import { tempRuntimeDir, writeWhole } from '../helpers/runtime-dir.js';
import { spawnServer, spawnStratctl, startTestServer } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Hand edits written in place, in pieces, as `cat > file`, nano or an editor with backupcopy=yes
 * write them: the file is truncated, then written in parts. Nothing read in between may be put in
 * force (an empty strategies.yaml is a valid set of no presets; an empty tokens.yaml grants nothing).
 */

const PAUSE_MS = 40;

/**
 * Truncates `file` (the same inode), pauses, writes the first half, pauses, writes the rest. A piece
 * that came a settle window after the one before (a writer stalled on a loaded machine) left a part
 * of the edit still for the window, which the server rightly takes: the test says so, rather than
 * fail on what followed (a 401 in the gap was seen once at load 17 with 80 ms pauses). The writes
 * are synchronous, so each lands when it is made and the gaps checked are the gaps on disk: written
 * through the promise API, a write waited its turn on libuv's threads (the in-process server's
 * lstat and reads share them) after the check, and could land later than the window unseen.
 */
async function writeInPieces(file: string, text: string, windowMs = SETTLE_MS): Promise<void> {
  const fd = openSync(file, 'r+');
  let landed = 0;
  const piece = (write: () => void) => {
    write();
    const now = performance.now();
    if (landed !== 0) {
      expect(now - landed, 'a pause of the write in place ran past the settle window (machine overloaded)').toBeLessThan(windowMs - 20);
    }
    landed = now;
  };
  try {
    const bytes = Buffer.from(text);
    const half = Math.floor(bytes.length / 2);
    piece(() => ftruncateSync(fd, 0));
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    piece(() => writeSync(fd, bytes, 0, half, 0));
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    piece(() => writeSync(fd, bytes, half, bytes.length - half, half));
  } finally {
    closeSync(fd);
  }
}

describe('hand edits written in place, in pieces', () => {
  it('strategies.yaml: only the whole edit is numbered, audited and put in force; the presets never vanish meanwhile', async () => {
    const server = await startTestServer({ fileSettle: WIDE_SETTLE });
    const input = { key: 'gold_fast', base: 'gold', name: 'Gold fast' };
    const upserted = await server.gql(UPSERT, { input });
    expect(upserted.body.data?.upsertPreset.presetsVersion).toBe(1);
    const file = path.join(server.runtimeDir, 'strategies.yaml');
    // A first edit, written whole, is in force at once and starts the parse worker (in a test process
    // its first start took ~0.7 s, long enough for a whole edit in pieces to land before any read).
    await writeWhole(file, (await readFile(file, 'utf8')).replace('name: Gold fast', 'name: Gold warm'));
    await waitUntil(
      () => server.gql('{ strategy(key: "gold_fast") { name } }'),
      (res) => res.body.data?.strategy?.name === 'Gold warm',
      { what: 'the edit written whole in force' },
    );
    const edited = (await readFile(file, 'utf8')).replace('name: Gold warm', 'name: Gold faster');
    expect(edited).toContain('Gold faster');

    const events: StoreEvent[] = [];
    const unsubscribe = server.store.subscribe((e) => events.push(e));
    const stopAsking = keepAsking(async () => {
      const res = await server.gql('{ status { presetsVersion } strategies { key name } }');
      return res.body.data as { status: { presetsVersion: number }; strategies: { key: string; name: string }[] };
    });
    const stopReady = keepAsking(readyStatus(server));
    await writeInPieces(file, edited, WIDE_SETTLE.ms);
    const inForce = await waitUntil(
      () => server.gql('{ strategy(key: "gold_fast") { name } status { presetsVersion } }'),
      (res) => res.body.data?.strategy?.name === 'Gold faster',
      { what: 'the whole edit in force' },
    );
    // In force (state) comes a moment before its event (told once its audit line is written).
    await waitUntil(
      async () => events.filter((e) => e.type === 'presetsChanged').length,
      (n) => n > 0,
      { what: 'the change event' },
    );
    const answers = await stopAsking();
    const readies = await stopReady();
    unsubscribe();

    expect(inForce.body.data?.status.presetsVersion).toBe(3);
    // One version for the edit, and its audit line records the whole text.
    const presetsLines = (await auditLines(server.runtimeDir)).filter((l) => l.subject === 'PRESETS');
    expect(presetsLines.map((l) => [l.version, l.operation])).toEqual([
      [1, 'upsertPreset'],
      [2, 'handEdit'],
      [3, 'handEdit'],
    ]);
    expect(presetsLines[2]?.digest).toBe(digestOf(edited));
    // What the runner hears: one change, to the whole edit.
    const changes = events.filter((e) => e.type === 'presetsChanged');
    expect(changes.map((e) => e.type === 'presetsChanged' && e.current.digest)).toEqual([digestOf(edited)]);
    expect(events.filter((e) => e.type === 'presetsInvalid')).toEqual([]);
    // Every answer meanwhile had the preset, before or after the edit.
    expect(answers.length).toBeGreaterThan(0);
    for (const a of answers) {
      expect([2, 3]).toContain(a.status.presetsVersion);
      expect(a.strategies.find((s) => s.key === 'gold_fast')?.name).toBe(a.status.presetsVersion === 2 ? 'Gold warm' : 'Gold faster');
    }
    expect(new Set(readies)).toEqual(new Set([200]));
  });

  it('config.yaml: no version, audit line, config error or 503 for the half-written file; the whole edit is in force', async () => {
    const server = await startTestServer({ fileSettle: WIDE_SETTLE });
    const file = path.join(server.runtimeDir, 'config.yaml');
    const edited = (await readFile(file, 'utf8')).replace('active_strategy_key: momentum', 'active_strategy_key: gold');
    expect(edited).toContain('active_strategy_key: gold');
    const errorsBefore = await metric(server, 'control_plane_config_errors_total');

    const events: StoreEvent[] = [];
    const unsubscribe = server.store.subscribe((e) => events.push(e));
    const stopReady = keepAsking(readyStatus(server));
    const stopAsking = keepAsking(
      async () => (await server.gql('{ status { configVersion activeStrategyKey configError { message } } }')).body.data?.status,
    );
    await writeInPieces(file, edited, WIDE_SETTLE.ms);
    const inForce = await waitUntil(
      () => server.gql('{ status { configVersion activeStrategyKey configDigest } }'),
      (res) => res.body.data?.status.activeStrategyKey === 'gold',
      { what: 'the whole edit in force' },
    );
    await waitUntil(
      async () => events.filter((e) => e.type === 'changed').length,
      (n) => n > 0,
      { what: 'the change event' },
    );
    const readies = await stopReady();
    const answers = await stopAsking();
    unsubscribe();

    expect(inForce.body.data?.status).toMatchObject({ configVersion: 2, configDigest: digestOf(edited) });
    const configLines = (await auditLines(server.runtimeDir)).filter((l) => l.subject === 'CONFIG');
    expect(configLines.map((l) => [l.version, l.operation])).toEqual([
      [1, 'baseline'],
      [2, 'handEdit'],
    ]);
    expect(configLines[1]?.digest).toBe(digestOf(edited));
    expect(events.filter((e) => e.type === 'invalid')).toEqual([]);
    expect(events.filter((e) => e.type === 'changed').map((e) => e.type === 'changed' && e.current.digest)).toEqual([digestOf(edited)]);
    expect(new Set(readies)).toEqual(new Set([200]));
    expect(answers.length).toBeGreaterThan(0);
    for (const a of answers) expect(a.configError).toBeNull();
    expect(await metric(server, 'control_plane_config_errors_total')).toBe(errorsBefore);
  });

  it('tokens.yaml: a valid named token is never refused while the file is rewritten in place; an edit in place that removes it takes effect', async () => {
    // What the server said meanwhile (WARN and up): if a token is refused, the failure shows why.
    const said: string[] = [];
    const logs = new Writable({
      write(chunk: Buffer, _encoding, done) {
        said.push(chunk.toString().trim());
        done();
      },
    });
    const server = await startTestServer({
      fileSettle: WIDE_SETTLE,
      logger: createLogger({ level: 'warn', format: 'text', destination: logs }),
    });
    const named = await createToken(server.runtimeDir, 'ops', 'read');
    const file = path.join(server.runtimeDir, 'tokens.yaml');
    const whole = await readFile(file, 'utf8');
    const viewer = async () => {
      const res = await server.gql('{ viewer { name } }', undefined, named);
      return { status: res.status, name: res.body.data?.viewer?.name as string | undefined };
    };
    expect(await viewer()).toEqual({ status: 200, name: 'ops' });

    const stopAsking = keepAsking(viewer);
    // Three edits, each still for a settle window before the next: one after another with no pause,
    // a loaded machine kept the file changing past SETTLE_MAX_MS, and a file changing that long is
    // taken as it stands (designed: one rewritten forever is still judged), a part of an edit among
    // them (a 401 seen once at load 17). Still for the window and 150 ms more: with 50 ms, a server
    // whose look came 50 ms late (a loaded CI machine) saw the next edit begin, and waited on.
    for (let i = 0; i < 3; i++) {
      await writeInPieces(file, `${whole}# edited in place ${i}\n`, WIDE_SETTLE.ms);
      await new Promise((r) => setTimeout(r, WIDE_SETTLE.ms + 150));
    }
    // Each edit is looked at once the request after it has come (the file's last change is now past).
    await new Promise((r) => setTimeout(r, 50));
    const answers = await stopAsking();
    expect(answers.length).toBeGreaterThan(0);
    expect(
      answers.filter((a) => a.status !== 200 || a.name !== 'ops'),
      `the server said:\n${said.join('\n')}`,
    ).toEqual([]);
    expect(await metric(server, 'control_plane_auth_failures_total')).toBe(0);

    // The same kind of edit taking the token out: in force once written.
    await writeInPieces(file, 'tokens: []\n', WIDE_SETTLE.ms);
    await waitUntil(viewer, (a) => a.status === 401, { what: 'the token refused after the edit removed it' });
  });

  it('a separate runner applies only whole edits: no intermediate presets or config version reaches it', async () => {
    const dir = await tempRuntimeDir();
    const TOKEN = 'in-place-runner-token-0123456789';
    const api = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: TOKEN });
    const runner = spawnStratctl(['runner', '--runtime-dir', dir, '--heartbeat-ms', '500']);
    await runner.waitFor(/strategy runner started/);
    const ask = (query: string, variables?: Record<string, unknown>) => gql(api.url, query, variables, { token: TOKEN });
    const runnerStatus = async () =>
      (await ask('{ status { runner { appliedConfigVersion appliedPresetsVersion appliedStrategyKey } } }')).body.data?.status.runner;
    expect(
      (await ask(UPSERT, { input: { key: 'gold_fast', base: 'gold', name: 'Gold fast' } })).body.data?.upsertPreset.presetsVersion,
    ).toBe(1);
    await waitUntil(runnerStatus, (r) => r?.appliedPresetsVersion === 1, { what: 'the runner on presets version 1' });

    const presetsFile = path.join(dir, 'strategies.yaml');
    await writeInPieces(presetsFile, (await readFile(presetsFile, 'utf8')).replace('name: Gold fast', 'name: Gold faster'));
    await waitUntil(runnerStatus, (r) => r?.appliedPresetsVersion === 2, { what: 'the runner on presets version 2' });
    const configFile = path.join(dir, 'config.yaml');
    await writeInPieces(
      configFile,
      (await readFile(configFile, 'utf8')).replace('active_strategy_key: momentum', 'active_strategy_key: gold'),
    );
    const applied = await waitUntil(runnerStatus, (r) => r?.appliedConfigVersion === 2, { what: 'the runner on config version 2' });
    expect(applied).toEqual({ appliedConfigVersion: 2, appliedPresetsVersion: 2, appliedStrategyKey: 'gold' });

    // The runner's own account: each change it put in force, once.
    const log = runner.stdout() + runner.stderr();
    // Version 1 is the API's (its audit line says who made it), version 2 the hand edit.
    expect([...log.matchAll(/presets version (\d+): upsertPreset by admin, through the API/g)].map((m) => Number(m[1]))).toEqual([1]);
    expect([...log.matchAll(/presets changed; now in force: version (\d+)/g)].map((m) => Number(m[1]))).toEqual([2]);
    expect([...log.matchAll(/config changed; now in force: version (\d+)/g)].map((m) => Number(m[1]))).toEqual([2]);
    expect(log).not.toMatch(/config is invalid/);
    // And the trail: one line per edit.
    expect((await auditLines(dir)).map((l) => `${l.subject} ${l.version} ${l.operation}`)).toEqual([
      'CONFIG 1 baseline',
      'PRESETS 1 upsertPreset',
      'PRESETS 2 handEdit',
      'CONFIG 2 handEdit',
    ]);
    const ready = await fetch(`${new URL(api.url).origin}/ready`);
    expect(ready.status).toBe(200);
  });
});
