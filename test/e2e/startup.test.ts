import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { LISTENING, spawnProcess, spawnServer, spawnStratctl } from '../helpers/server.js';
import { cliEnv } from '../helpers/stratctl.js';

const VALID = `# hand-written
active_strategy_key: gold
trading_enabled: true
scan_interval_seconds: 30
tunable_overrides: {}
version: 7
updated_at: 2026-11-01T10:00:00Z
`;

describe('start-up', () => {
  it('creates config.yaml with defaults and a 0600 admin token whose path (not value) it prints', async () => {
    const dir = await tempRuntimeDir();
    const server = await spawnServer(dir, ['--no-runner']);
    const token = (await readFile(path.join(dir, 'admin.token'), 'utf8')).trim();
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect((await stat(path.join(dir, 'admin.token'))).mode & 0o777).toBe(0o600);
    const output = server.stdout() + server.stderr();
    expect(output).toContain(path.join(dir, 'admin.token'));
    expect(output).not.toContain(token);
    const res = await gql(server.url, 'mutation { activateStrategy(strategyKey: "range") { configVersion } }', undefined, { token });
    expect(res.body.data?.activateStrategy.configVersion).toBe(2);
    expect(server.stdout() + server.stderr()).not.toContain(token);
  });

  it.each([
    ['json', 'warn'],
    ['json', 'error'],
    ['text', 'warn'],
  ])(
    '--log-format %s --log-level %s still says where it listens and where its generated token is (it said nothing)',
    async (format, level) => {
      const dir = await tempRuntimeDir();
      // spawnServer waits for the listening line: it never came in JSON below info.
      const server = await spawnServer(dir, ['--no-runner', '--log-format', format, '--log-level', level]);
      expect((await fetch(new URL('/health', server.url))).status).toBe(200);
      const output = server.stdout() + server.stderr();
      expect(output).toContain(`admin token generated and saved to ${path.join(dir, 'admin.token')}`);
      if (format === 'json') {
        const lines = server
          .stderr()
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { url?: string; file?: string });
        expect(lines.find((l) => l.url === server.url)).toBeDefined();
        expect(lines.find((l) => l.file === path.join(dir, 'admin.token'))).toBeDefined();
      }
      // Nothing else below the level asked for: the start's other INFO lines stay out.
      expect(output).not.toMatch(/config store|code cache|runner/i);
    },
  );

  it('warns at start of an admin token chosen by hand and weak (CONTROL_PLANE_TOKEN or admin.token), naming where it is, never the token', async () => {
    const weak = 'passwordpassword'; // 16 characters: accepted, but a dictionary's first guesses
    const fromEnv = await spawnServer(await tempRuntimeDir(), ['--no-runner'], { CONTROL_PLANE_TOKEN: weak });
    await fromEnv.waitFor(/admin token in CONTROL_PLANE_TOKEN looks chosen by hand: about 42 bits/);
    expect(fromEnv.stdout() + fromEnv.stderr()).not.toContain(weak);
    // It serves all the same: a warning, not a refusal.
    expect(
      (await gql(fromEnv.url, 'mutation { activateStrategy(strategyKey: "range") { configVersion } }', undefined, { token: weak })).status,
    ).toBe(200);

    const dir = await tempRuntimeDir();
    await writeFile(path.join(dir, 'admin.token'), 'adminadminadmin1\n', { mode: 0o600 });
    const fromFile = await spawnServer(dir, ['--no-runner']);
    const [line] = await fromFile.waitFor(/.*looks chosen by hand.*/);
    expect(line).toContain(path.join(dir, 'admin.token'));
    expect(line).toContain('and restart to have one generated');
    expect(fromFile.stdout() + fromFile.stderr()).not.toContain('adminadminadmin1');
  });

  it('says nothing of a generated token, nor of a random one given in CONTROL_PLANE_TOKEN', async () => {
    for (const env of [{}, { CONTROL_PLANE_TOKEN: 'Xk9fQ2mZ7pLw4RtB' }]) {
      const server = await spawnServer(await tempRuntimeDir(), ['--no-runner'], env);
      // The start's last line, said after any warning about the token.
      await server.waitFor(/active strategy momentum, config version 1/);
      expect(server.stdout() + server.stderr()).not.toMatch(/chosen by hand/);
    }
  });

  it('serves an existing valid config as it stands, token from CONTROL_PLANE_TOKEN', async () => {
    const dir = await tempRuntimeDir();
    await writeFile(path.join(dir, 'config.yaml'), VALID);
    const token = 'env-token-abcdefghijklmnop';
    const server = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: token });
    const res = await gql(server.url, '{ status { activeStrategyKey configVersion } }');
    expect(res.body.data?.status).toEqual({ activeStrategyKey: 'gold', configVersion: 7 });
    expect(await readFile(path.join(dir, 'config.yaml'), 'utf8')).toBe(VALID);
    await expect(stat(path.join(dir, 'admin.token'))).rejects.toThrow(/ENOENT/);
    const ok = await gql(server.url, 'mutation { activateStrategy(strategyKey: "range") { configVersion } }', undefined, { token });
    expect(ok.body.data?.activateStrategy.configVersion).toBe(8);
  });

  it.each([
    [
      'not valid YAML',
      VALID.replace('trading_enabled: true', 'trading_enabled: [true'),
      /line \d+/,
      /Flow sequence|flow collection|end with a \]/i,
    ],
    [
      'an unknown strategy',
      VALID.replace('active_strategy_key: gold', 'active_strategy_key: golden'),
      /line 2, column 22/,
      /Invalid strategy key: golden/,
    ],
    ['an unknown key', `${VALID}max_positions: 3\n`, /line 8, column 1/, /Unrecognized key: "max_positions"/],
    [
      'a wrong type',
      VALID.replace('scan_interval_seconds: 30', 'scan_interval_seconds: thirty'),
      /line 4/,
      /scan_interval_seconds: must be a whole number of seconds, got "thirty"/,
    ],
  ])(
    'refuses to start on a config.yaml with %s: says what and where, exits 78, leaves the file',
    async (_what, content, where, problem) => {
      const dir = await tempRuntimeDir();
      const file = path.join(dir, 'config.yaml');
      await writeFile(file, content);
      const child = spawnStratctl(['serve', '--port', '0', '--runtime-dir', dir, '--no-runner'], {
        CONTROL_PLANE_TOKEN: 'env-token-abcdefghijklmnop',
      });
      expect(await child.exited).toBe(78);
      const stderr = child.stderr();
      expect(stderr).toContain(file);
      expect(stderr).toMatch(where);
      expect(stderr).toMatch(problem);
      expect(child.stdout()).not.toMatch(/listening/);
      expect(await readFile(file, 'utf8')).toBe(content);
    },
  );

  it('exits 2 with a clear message on bad flags or settings', async () => {
    const dir = await tempRuntimeDir();
    const badPort = spawnStratctl(['serve', '--port', 'eighty', '--runtime-dir', dir]);
    expect(await badPort.exited).toBe(2);
    expect(badPort.stderr()).toMatch(/--port: "eighty" is not a port/);
    const unknown = spawnStratctl(['serve', '--prot', '1']);
    expect(await unknown.exited).toBe(2);
    expect(unknown.stderr()).toMatch(/--prot/);
    const badEnv = spawnStratctl(['serve', '--runtime-dir', dir], { CONTROL_PLANE_PORT: '99999' });
    expect(await badEnv.exited).toBe(2);
    expect(badEnv.stderr()).toMatch(/CONTROL_PLANE_PORT/);
  });

  // 2 is what the systemd unit does not restart on: a mistyped setting must not become a restart loop.
  it.each([
    ['a short CONTROL_PLANE_TOKEN', [], { CONTROL_PLANE_TOKEN: 'short' }, /CONTROL_PLANE_TOKEN must be at least 16 characters/],
    [
      'a mistyped CONTROL_PLANE_READS_REQUIRE_TOKEN',
      [],
      { CONTROL_PLANE_READS_REQUIRE_TOKEN: 'enabled' },
      /CONTROL_PLANE_READS_REQUIRE_TOKEN must be/,
    ],
    ['a --host that does not resolve', ['--host', '999.1.1.1'], {}, /--host 999\.1\.1\.1 does not resolve/],
  ])('exits 2 on %s: one line naming the setting, no stack', async (_what, flags, env, message) => {
    const dir = await tempRuntimeDir();
    // No --behind-tls-proxy: a host that binds nothing is not warned of as reachable beyond this machine.
    const child = spawnStratctl(['serve', '--port', '0', '--runtime-dir', dir, '--no-runner', ...flags], {
      CONTROL_PLANE_LOG_FORMAT: 'text',
      ...env,
    });
    expect(await child.exited).toBe(2);
    // The line that says which (a flag's or variable's own check adds `see stratctl serve --help`).
    const [first, ...rest] = child.stderr().trim().split('\n');
    expect(first).toMatch(message);
    expect(rest.join('\n')).toMatch(/^(see stratctl serve --help)?$/);
    expect(child.stderr()).not.toMatch(/err=|\.js:\d+/);
    expect(child.stdout()).not.toMatch(LISTENING);
    expect(await readdir(dir)).toEqual([]);
  });

  it('Ctrl-C on `npm start` (SIGINT to the whole process group, and npm passes its own on) is one clean stop: exit 0, nothing left behind', async () => {
    const dir = await tempRuntimeDir();
    const npm = spawnProcess('npm', ['start', '--', '--port', '0', '--runtime-dir', dir, '--no-runner'], {
      env: cliEnv({ CONTROL_PLANE_LOG_FORMAT: 'text' }),
      group: true,
    });
    await npm.waitFor(LISTENING);
    // As a terminal does: the signal goes to every process of the foreground job.
    const code = await npm.stop('SIGINT');
    expect(npm.stderr()).toContain('SIGINT: finishing in-flight requests and writes');
    expect(npm.stderr()).not.toContain('exiting now');
    expect(code).toBe(0);
    expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('stops cleanly on SIGTERM while writes are in flight: exit 0, config valid, every answered write on disk', async () => {
    const dir = await tempRuntimeDir();
    const token = 'env-token-abcdefghijklmnop';
    const server = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: token });
    const keys = ['gold', 'range', 'momentum', 'momentum_v2'];
    const writes = Array.from({ length: 40 }, (_, i) =>
      gql(server.url, `mutation { activateStrategy(strategyKey: "${keys[i % keys.length]}") { configVersion } }`, undefined, {
        token,
      }).then(
        (r) => r.body.data?.activateStrategy?.configVersion as number | undefined,
        () => undefined,
      ),
    );
    // SIGTERM once writes are flowing (a fixed delay was too short on a loaded machine), while the rest are in flight.
    await Promise.race(writes.map((w) => w.then((v) => (v === undefined ? new Promise(() => {}) : v))));
    server.proc.kill('SIGTERM');
    const answered = (await Promise.all(writes)).filter((v): v is number => typeof v === 'number');
    expect(await server.exited).toBe(0);
    const text = await readFile(path.join(dir, 'config.yaml'), 'utf8');
    const version = Number(/^version: (\d+)$/m.exec(text)?.[1]);
    expect(answered.length).toBeGreaterThan(0);
    expect(version).toBeGreaterThanOrEqual(Math.max(...answered));
    // The file is whole and valid: a new server starts on it.
    const again = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: token });
    const res = await gql(again.url, '{ status { configVersion } }');
    expect(res.body.data?.status.configVersion).toBe(version);
  });
});
