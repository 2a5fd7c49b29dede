import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { ROOT, STRATCTL_BIN, spawnStratctl, startTestServer, TEST_TOKEN } from '../helpers/server.js';
import { cliEnv } from '../helpers/stratctl.js';

/** Runs the built `stratctl` (bin/stratctl.js -> dist/) as a script would, to completion. */
async function run(args: string[], env: Record<string, string | undefined> = {}) {
  const child = spawnStratctl(args, env);
  const code = await child.exited;
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

// Most CLI tests run in-process (test/e2e/stratctl.test.ts); these run the built CLI as a process.
describe('the built stratctl, as a process', () => {
  it('--version: the package version, exit 0', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(await run(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('status, activate (token from <runtime-dir>/admin.token), and exit 5 when nothing listens', async () => {
    const server = await startTestServer({ adminTokenFile: true });
    const env = { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_RUNTIME_DIR: server.runtimeDir };
    const status = await run(['status'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^active strategy:\s+momentum$/m);
    const activated = await run(['activate', 'gold'], env);
    expect(activated).toMatchObject({ code: 0, stdout: 'activated gold (was momentum); config version 2\n' });
    await server.close();
    const unreachable = await run(['status'], env);
    expect(unreachable.code).toBe(5);
    expect(unreachable.stderr).toContain(`cannot reach ${server.url}`);
  });

  it('status and activate ask with node:http: fetch (undici, ~110 ms of each command) is never loaded', async () => {
    const server = await startTestServer();
    // Preloaded into the command's process: at its exit, whether Node loaded undici (fetch) at all.
    const hook = path.join(server.runtimeDir, 'report-undici.cjs');
    await writeFile(
      hook,
      "process.on('exit', () => process.stderr.write('undici loaded: ' + process.moduleLoadList.some((m) => m.endsWith('/undici/undici')) + '\\n'));\n",
    );
    const runWithHook = async (args: string[]) => {
      const child = spawn(process.execPath, ['--require', hook, STRATCTL_BIN, ...args], {
        env: cliEnv({ CONTROL_PLANE_URL: server.url, CONTROL_PLANE_TOKEN: TEST_TOKEN }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const [code] = await once(child, 'close');
      return { code, stdout, stderr };
    };
    const status = await runWithHook(['status']);
    expect(status).toMatchObject({ code: 0, stderr: 'undici loaded: false\n' });
    expect(status.stdout).toMatch(/^active strategy:\s+momentum$/m);
    expect(await runWithHook(['activate', 'gold'])).toEqual({
      code: 0,
      stdout: 'activated gold (was momentum); config version 2\n',
      stderr: 'undici loaded: false\n',
    });
    // The check can fail: one fetch under the same preload, and it says true.
    const probe = spawn(process.execPath, ['--require', hook, '-e', `fetch(${JSON.stringify(server.url)}).then((r) => r.text())`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let probed = '';
    probe.stderr.on('data', (chunk: Buffer) => (probed += chunk.toString()));
    await once(probe, 'close');
    expect(probed).toBe('undici loaded: true\n');
  });

  it('output that cannot be written (a full disk: /dev/full) fails the command: exit 1, said on stderr (it exited 0)', async () => {
    const server = await startTestServer();
    const shell = spawn('sh', ['-c', '"$0" "$1" status --json > /dev/full', process.execPath, STRATCTL_BIN], {
      env: cliEnv({ CONTROL_PLANE_URL: server.url }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    shell.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(shell, 'exit');
    expect(code).toBe(1);
    expect(stderr).toBe('stratctl: the output could not be written (ENOSPC)\n');
  });

  it.each([[[]], [['--json']]])(
    'status --watch into output that cannot be written (/dev/full): stops, exit 1, said on stderr (it ran on silently) %j',
    async (json) => {
      const server = await startTestServer({ runner: false });
      const shell = spawn('sh', ['-c', `"$0" "$1" status --watch ${json.join(' ')} > /dev/full`, process.execPath, STRATCTL_BIN], {
        env: cliEnv({ CONTROL_PLANE_URL: server.url }),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      onTestFinished(() => {
        shell.kill('SIGKILL');
      });
      let stderr = '';
      shell.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const [code] = await once(shell, 'exit');
      expect(code).toBe(1);
      expect(stderr).toBe('stratctl: the output could not be written (ENOSPC); the watch stopped\n');
    },
  );

  it.each([
    ['SIGTERM', 143, false],
    ['SIGINT', 130, false],
    ['SIGTERM', 143, true],
  ] as const)(
    '%s while a change is out (no answer yet): exit %i, saying it may or may not have been applied (it was silent); --json: %s',
    async (signal, code, json) => {
      // A server that takes the request and never answers: the change's outcome is unknown.
      const arrived: IncomingMessage[] = [];
      const silent = createServer((req) => arrived.push(req));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      onTestFinished(() => new Promise<void>((resolve) => silent.close(() => resolve())).then(() => silent.closeAllConnections()));
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/graphql`;
      const activate = spawnStratctl(['activate', 'gold', '--url', url, '--token', TEST_TOKEN, ...(json ? ['--json'] : [])]);
      await vi.waitFor(() => expect(arrived).toHaveLength(1), { timeout: 10_000, interval: 20 });
      expect(await activate.stop(signal)).toBe(code);
      await activate.closed;
      const message = `stopped by ${signal} after the change was sent to ${url}, before its answer came: it may or may not have been applied`;
      expect(activate.stderr()).toBe(`stratctl: ${message}; check with stratctl status or stratctl history\n`);
      // Under --json, as every other failure: one object on stdout (there was none: a script read nothing).
      expect(activate.stdout()).toBe(json ? `${JSON.stringify({ error: { code: 'INTERRUPTED', message, outcome: 'UNKNOWN' } })}\n` : '');
    },
  );

  // 128 + the signal's number, as every other stratctl command stopped by one (README's exit codes);
  // exit 0 told a script (`set -e`, `&&`) that a watch stopped by Ctrl-C or a CI timeout had ended by itself.
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('status --watch: %s to the process ends it with exit %i', async (signal, code) => {
    const server = await startTestServer();
    const watch = spawnStratctl(['status', '--watch', '--json'], { CONTROL_PLANE_URL: server.url });
    await watch.waitFor(/"activeStrategyKey":"momentum"/);
    expect(await watch.stop(signal)).toBe(code);
    await watch.closed;
    expect(watch.stderr()).toBe('');
  });

  it('--json over 64 KiB into a pipe that is read late: all of it arrives, and stratctl waits for it before exiting', async () => {
    const server = await startTestServer({ runner: false });
    for (let i = 0; i < 300; i++) {
      const key = i % 2 === 0 ? 'gold' : 'range';
      expect((await server.gql(`mutation { activateStrategy(strategyKey: "${key}") { configVersion } }`)).body.errors).toBeUndefined();
    }
    // A shell pipe (64 KiB; node's own stdio pipes are socket pairs, which hold more) whose reader
    // starts reading only when told to. Over 100 entries takes a token.
    const dir = server.runtimeDir;
    const script = `( "$0" "$1" audit --last 300 --json; echo $? > "$2/rc" ) | ( while [ ! -e "$2/go" ]; do sleep 0.02; done; cat > "$2/out" )`;
    const shell = spawn('sh', ['-c', script, process.execPath, STRATCTL_BIN, dir], {
      env: cliEnv({ CONTROL_PLANE_URL: server.url, CONTROL_PLANE_TOKEN: TEST_TOKEN }),
      stdio: 'ignore',
    });
    onTestFinished(() => {
      shell.kill('SIGKILL');
    });
    const done = once(shell, 'exit');
    // With the pipe full and unread, stratctl must still be there: process.exit dropped the rest (it
    // exited 0 with 64 KiB written). The 2 s cannot make this pass wrongly: a stratctl that waits
    // for its reader never exits before the reader reads.
    let early: 'exited' | 'waiting' = 'waiting';
    for (let waited = 0; waited < 2_000; waited += 50) {
      if (existsSync(path.join(dir, 'rc'))) {
        early = 'exited';
        break;
      }
      await delay(50);
    }
    await writeFile(path.join(dir, 'go'), '');
    await done;
    expect(early).toBe('waiting');
    expect((await readFile(path.join(dir, 'rc'), 'utf8')).trim()).toBe('0');
    const text = await readFile(path.join(dir, 'out'), 'utf8');
    expect(text.length).toBeGreaterThan(64 * 1024);
    expect(JSON.parse(text)).toHaveLength(300);
  });

  it('status --watch | head -1: the reader going away ends the watch with exit 0, no EPIPE stack', async () => {
    const server = await startTestServer({ runner: false });
    const child = spawn(process.execPath, [STRATCTL_BIN, 'status', '--watch', '--json'], {
      env: cliEnv({ CONTROL_PLANE_URL: server.url }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = once(child, 'exit').then(([code]) => code as number | null);
    // As head does: read the first line, then close the pipe.
    const [first] = (await once(child.stdout, 'data')) as [Buffer];
    expect(JSON.parse(first.toString('utf8').split('\n')[0] as string).activeStrategyKey).toBe('momentum');
    child.stdout.destroy();
    // The next change makes the watch write into the closed pipe.
    expect((await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }')).body.errors).toBeUndefined();
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/EPIPE|node:events|Unhandled/);
  });
});
