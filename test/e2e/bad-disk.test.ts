import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createLogger } from '../../src/log.js';
import { FAULT_ERRNOS, faultyFileSystem, WRITE_STEPS } from '../helpers/faulty-fs.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const ACTIVATE = 'mutation($key: String!) { activateStrategy(strategyKey: $key) { activeStrategyKey configVersion } }';
const STATUS = '{ status { activeStrategyKey configVersion } config { activeStrategyKey version } }';
const STEP_NAMES = { open: 'open temp file', write: 'write', fsync: 'fsync', rename: 'rename' } as const;

/** The mutation failed cleanly: 503, a message naming the step and errno (no paths), the old file byte for byte, still served. */
async function expectRefusedAndIntact(server: TestServer, before: Buffer, step: string, errno: string) {
  const res = await server.gql(ACTIVATE, { key: 'gold' });
  expect(res.status).toBe(503);
  expect(res.body.data ?? null).toBeNull();
  const error = res.body.errors?.[0];
  expect(error?.message).toBe('Config could not be written');
  expect(error?.extensions).toMatchObject({ code: 'CONFIG_WRITE_FAILED', step, errno });
  expect(JSON.stringify(res.body)).not.toContain(server.runtimeDir);

  const file = path.join(server.runtimeDir, 'config.yaml');
  expect(await readFile(file)).toEqual(before);
  expect((await readdir(server.runtimeDir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  const served = await server.gql(STATUS);
  expect(served.body.data).toEqual({
    status: { activeStrategyKey: 'momentum', configVersion: 1 },
    config: { activeStrategyKey: 'momentum', version: 1 },
  });
}

describe('faults injected through the store file-system seam', () => {
  const cases = WRITE_STEPS.filter((s) => s !== 'syncDir').flatMap((step) => FAULT_ERRNOS.map((errno) => [step, errno] as const));

  it.each(cases)('%s fails with %s: the mutation fails, the previous config stays intact and served', async (step, errno) => {
    const fs = faultyFileSystem();
    const server = await startTestServer({ fs });
    const before = await readFile(path.join(server.runtimeDir, 'config.yaml'));
    fs.inject(step, errno);
    await expectRefusedAndIntact(server, before, STEP_NAMES[step], errno);
    expect(fs.fired).toBe(1);

    fs.heal();
    const retried = await server.gql(ACTIVATE, { key: 'gold' });
    expect(retried.body.data?.activateStrategy).toEqual({ activeStrategyKey: 'gold', configVersion: 2 });
  });

  it('while changes cannot be written, /ready stays 200 with a warning naming the step, cleared by the next written change (and the log says so)', async () => {
    const fs = faultyFileSystem();
    const lines: string[] = [];
    const server = await startTestServer({
      fs,
      logger: createLogger({ level: 'info', destination: { write: (line) => lines.push(line) } }),
    });
    const readiness = async () => {
      const res = await fetch(`${server.origin}/ready`);
      return { status: res.status, body: (await res.json()) as { ready: boolean; warnings?: string[] } };
    };
    expect(await readiness()).toMatchObject({ status: 200, body: { ready: true } });
    expect((await readiness()).body).not.toHaveProperty('warnings');

    fs.inject('fsync', 'ENOSPC');
    for (let i = 0; i < 2; i++) expect((await server.gql(ACTIVATE, { key: 'gold' })).status).toBe(503);
    const failing = await readiness();
    expect(failing.status).toBe(200);
    expect(failing.body.ready).toBe(true);
    expect(failing.body.warnings).toHaveLength(1);
    expect(failing.body.warnings?.[0]).toMatch(
      /^config changes cannot be written: the last one failed at \d{4}-\d\d-\d\dT[\d:.]+Z \(step "fsync", ENOSPC\); each is refused with CONFIG_WRITE_FAILED/,
    );

    fs.heal();
    expect((await server.gql(ACTIVATE, { key: 'gold' })).body.data?.activateStrategy).toEqual({
      activeStrategyKey: 'gold',
      configVersion: 2,
    });
    expect((await readiness()).body).not.toHaveProperty('warnings');
    expect(lines.filter((line) => line.includes('config changes are written again'))).toHaveLength(1);
  });

  it('a change that changes nothing writes nothing: it does not end a spell of failed writes, and /ready says so', async () => {
    const fs = faultyFileSystem();
    const lines: string[] = [];
    const server = await startTestServer({
      fs,
      logger: createLogger({ level: 'info', destination: { write: (line) => lines.push(line) } }),
    });
    const warnings = async () => ((await (await fetch(`${server.origin}/ready`)).json()) as { warnings?: string[] }).warnings;
    fs.inject('fsync', 'ENOSPC');
    expect((await server.gql(ACTIVATE, { key: 'gold' })).status).toBe(503);
    fs.heal();
    const config = await readFile(path.join(server.runtimeDir, 'config.yaml'));
    // Activating the active strategy: answered, changed: false, and no file touched (no proof the disk writes again).
    const noOp = await server.gql('mutation { activateStrategy(strategyKey: "momentum") { configVersion changed } }');
    expect(noOp.body.data?.activateStrategy).toEqual({ configVersion: 1, changed: false });
    expect(await readFile(path.join(server.runtimeDir, 'config.yaml'))).toEqual(config);
    expect(fs.fired).toBe(1);
    const still = await warnings();
    expect(still).toHaveLength(1);
    expect(still?.[0]).toMatch(/^config changes cannot be written: .*\(step "fsync", ENOSPC\)/);
    expect(still?.[0]).toContain('until a change is written (one that changes nothing writes nothing, so it does not end this)');
    expect(lines.filter((line) => line.includes('config changes are written again'))).toEqual([]);

    expect((await server.gql(ACTIVATE, { key: 'gold' })).body.data?.activateStrategy).toMatchObject({ configVersion: 2 });
    expect(await warnings()).toBeUndefined();
    expect(lines.filter((line) => line.includes('config changes are written again'))).toHaveLength(1);
  });

  it('a client retrying against a full disk: one ERROR line with the stack per spell, then a count at most once a minute, then "written again"', async () => {
    const fs = faultyFileSystem();
    const lines: Record<string, any>[] = [];
    let now = Date.parse('2026-01-05T10:00:00Z');
    const server = await startTestServer({
      fs,
      now: () => now,
      logger: createLogger({ level: 'info', format: 'json', destination: { write: (line) => lines.push(JSON.parse(line)) } }),
    });
    const errors = () => lines.filter((l) => l.level === 50);
    fs.inject('fsync', 'ENOSPC');
    for (let i = 0; i < 10; i++) expect((await server.gql(ACTIVATE, { key: 'gold' })).status).toBe(503);
    // The first: its stack, step and errno, on the request's line.
    expect(errors()).toHaveLength(1);
    expect(errors()[0]).toMatchObject({ step: 'fsync', errno: 'ENOSPC', reqId: expect.any(String) });
    expect(errors()[0]?.msg).toContain('answered 503 CONFIG_WRITE_FAILED');
    expect(errors()[0]?.err?.stack).toContain('ConfigWriteError');

    // A minute on: the next failure says how many failed since, in one line without a stack.
    now += 60_000;
    expect((await server.gql(ACTIVATE, { key: 'gold' })).status).toBe(503);
    expect(errors()).toHaveLength(2);
    expect(errors()[1]).toMatchObject({ msg: '10 more config writes failed in the last minute (fsync, ENOSPC)', failures: 10 });
    expect(errors()[1]).not.toHaveProperty('err');
    for (let i = 0; i < 3; i++) expect((await server.gql(ACTIVATE, { key: 'gold' })).status).toBe(503);
    expect(errors()).toHaveLength(2);

    // Written again: the ones not yet said, then the end of the spell (once); the metric counted each.
    now += 5_000;
    fs.heal();
    expect((await server.gql(ACTIVATE, { key: 'gold' })).body.data?.activateStrategy).toMatchObject({ configVersion: 2 });
    expect(errors().map((l) => l.msg)).toEqual([
      expect.stringContaining('config could not be written (fsync: ENOSPC)'),
      '10 more config writes failed in the last minute (fsync, ENOSPC)',
      '3 more config writes failed in the last 5 s (fsync, ENOSPC)',
    ]);
    expect(lines.filter((l) => l.msg === 'config changes are written again')).toEqual([
      expect.objectContaining({ level: 30, failedWrites: 14, failingSince: '2026-01-05T10:00:00.000Z' }),
    ]);
    const metrics = await (await fetch(`${server.origin}/metrics`)).text();
    expect(metrics).toMatch(/^control_plane_config_write_failures_total\{step="fsync"\} 14$/m);

    // A new spell starts with a full line again.
    fs.inject('write', 'EIO');
    expect((await server.gql(ACTIVATE, { key: 'range' })).status).toBe(503);
    expect(errors()).toHaveLength(4);
    expect(errors()[3]).toMatchObject({ step: 'write', errno: 'EIO' });
  });

  it.each(FAULT_ERRNOS)(
    'directory fsync fails with %s: the renamed file is already in force, so the change is reported, with a warning',
    async (errno) => {
      const fs = faultyFileSystem();
      const warnings: string[] = [];
      const server = await startTestServer({
        fs,
        logger: createLogger({ level: 'warn', destination: { write: (line) => warnings.push(line) } }),
      });
      fs.inject('syncDir', errno);
      const res = await server.gql(ACTIVATE, { key: 'gold' });
      // Answering "failed" here would be false: the new file is visible and the runner acts on it.
      expect(res.body.data?.activateStrategy).toEqual({ activeStrategyKey: 'gold', configVersion: 2 });
      expect(warnings.join('')).toMatch(/fsync of .* failed: the rename may not survive a power loss/);
      const onDisk = parse(await readFile(path.join(server.runtimeDir, 'config.yaml'), 'utf8'));
      expect(onDisk).toMatchObject({ active_strategy_key: 'gold', version: 2 });
    },
  );
});

/** Whether this process can really create a file in `dir` (root ignores permission bits). */
async function canWrite(dir: string): Promise<boolean> {
  const probe = path.join(dir, '.write-probe');
  try {
    await writeFile(probe, 'x');
    await rm(probe);
    return true;
  } catch {
    return false;
  }
}

function tryMount(dir: string, options: string): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err).trim() || 'mount failed';
  }
}

const umount = (dir: string) => execFileSync('umount', ['-l', dir], { stdio: 'pipe' });

describe('a real bad disk', () => {
  it('a read-only directory (chmod 0555): mutation refused, config intact and served', async (ctx) => {
    const server = await startTestServer();
    const before = await readFile(path.join(server.runtimeDir, 'config.yaml'));
    await chmod(server.runtimeDir, 0o555);
    try {
      if (await canWrite(server.runtimeDir)) {
        ctx.skip(
          'the directory is still writable after chmod 0555 (running as root, which ignores permission bits); see the read-only mount case',
        );
      }
      await expectRefusedAndIntact(server, before, 'open temp file', 'EACCES');
    } finally {
      await chmod(server.runtimeDir, 0o755);
    }
  });

  it('a file system remounted read-only (EROFS, which binds root too)', async (ctx) => {
    const dir = path.join(await tempRuntimeDir(), 'mnt');
    await mkdir(dir);
    const why = tryMount(dir, 'size=1m');
    if (why) ctx.skip(`cannot mount a tmpfs here: ${why}`);
    try {
      const server = await startTestServer({ runtimeDir: dir });
      const before = await readFile(path.join(dir, 'config.yaml'));
      execFileSync('mount', ['-o', 'remount,ro', dir], { stdio: 'pipe' });
      expect(await canWrite(dir)).toBe(false);
      await expectRefusedAndIntact(server, before, 'open temp file', 'EROFS');
      await server.close();
    } finally {
      umount(dir);
    }
  });

  it('a full 64 KiB tmpfs (ENOSPC): mutation refused, config intact; space freed, the next one succeeds', async (ctx) => {
    const dir = path.join(await tempRuntimeDir(), 'mnt');
    await mkdir(dir);
    const why = tryMount(dir, 'size=64k');
    if (why) ctx.skip(`cannot mount a tmpfs here: ${why}`);
    try {
      const server = await startTestServer({ runtimeDir: dir });
      const before = await readFile(path.join(dir, 'config.yaml'));
      const filler = path.join(dir, 'filler');
      await writeFile(filler, Buffer.alloc(1024 * 1024)).catch((err) => expect(err.code).toBe('ENOSPC'));
      expect(await canWrite(dir)).toBe(false);
      const res = await server.gql(ACTIVATE, { key: 'gold' });
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFIG_WRITE_FAILED', errno: 'ENOSPC' });
      expect(await readFile(path.join(dir, 'config.yaml'))).toEqual(before);
      expect((await server.gql(STATUS)).body.data?.status).toEqual({ activeStrategyKey: 'momentum', configVersion: 1 });

      await rm(filler);
      expect((await server.gql(ACTIVATE, { key: 'gold' })).body.data?.activateStrategy).toEqual({
        activeStrategyKey: 'gold',
        configVersion: 2,
      });
      await server.close();
    } finally {
      umount(dir);
    }
  });
});
