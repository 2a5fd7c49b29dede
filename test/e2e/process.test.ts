import { readFileSync } from 'node:fs';
import { describe, expect, it, onTestFailed } from 'vitest';
import { gql } from '../helpers/http.js';
import { isRunning, portIsFree, processTree } from '../helpers/processes.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { LISTENING, spawnProcess } from '../helpers/server.js';
import { cliEnv } from '../helpers/stratctl.js';
import { waitUntil } from '../helpers/wait.js';

/** Sends `signal` to `pid`, then waits until the port is free and no process of `tree` is left; returns how long that took. */
async function stopAndWatch(pid: number, signal: NodeJS.Signals, port: number, tree: number[]) {
  const sentAt = Date.now();
  process.kill(pid, signal);
  // 11 s: DESIGN's 10 s drain at most, and a second for the process to go.
  await waitUntil(() => portIsFree(port), Boolean, { timeoutMs: 11_000, intervalMs: 50, what: `port ${port} to be free` });
  const freedMs = Date.now() - sentAt;
  const left = await waitUntil(
    async () => tree.filter(isRunning),
    (pids) => pids.length === 0,
    { timeoutMs: 11_000, intervalMs: 50, what: 'every process of the tree to exit' },
  );
  return { freedMs, left };
}

describe('the server process', () => {
  it('SIGTERM to `npm start` (npm itself): the port is free and no process of the tree is left', async () => {
    const dir = await tempRuntimeDir();
    // Started without an allocator setting of its own: the script's default applies.
    const { MALLOC_MMAP_THRESHOLD_: _, ...env } = cliEnv({ CONTROL_PLANE_PORT: '0', CONTROL_PLANE_RUNTIME_DIR: dir });
    const npm = spawnProcess('npm', ['start'], { env });
    const [, url] = await npm.waitFor(LISTENING, 30_000);
    const port = Number(new URL(url as string).port);
    const tree = processTree(npm.proc.pid as number);
    // The helpers' cleanup kills npm only: should an assertion below fail, node would be left serving.
    onTestFailed(() => {
      for (const pid of tree.filter(isRunning)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone meanwhile.
        }
      }
    });
    // npm, and node in place of `sh -c` (the script `exec`s): a tree of two.
    expect(tree).toHaveLength(2);
    // The script's allocator setting reached node (README, "Memory"): malloc's mmap threshold, fixed.
    const environ = readFileSync(`/proc/${tree[1]}/environ`, 'utf8').split('\0');
    expect(environ).toContain('MALLOC_MMAP_THRESHOLD_=131072');
    // And its node flag (README, "Memory"): V8's collector on the main thread only.
    expect(readFileSync(`/proc/${tree[1]}/cmdline`, 'utf8').split('\0').slice(1, 4)).toEqual([
      '--single-threaded-gc',
      'dist/cli.js',
      'serve',
    ]);
    expect((await gql(url as string, '{ status { configVersion } }')).body.data?.status.configVersion).toBe(1);
    const { left } = await stopAndWatch(npm.proc.pid as number, 'SIGTERM', port, tree);
    expect(left).toEqual([]);
    // The whole output (a CI run once read it before the last lines had come through the pipe), and
    // how npm ended: 0 as node did after its drain (npm re-raises a signal that killed node).
    await npm.closed;
    expect({ code: await npm.exited, signal: npm.proc.signalCode, stderr: npm.stderr() }).toEqual({
      code: 0,
      signal: null,
      stderr: expect.stringMatching(/SIGTERM: finishing in-flight requests/),
    });
  });

  it('SIGINT to node itself (Ctrl-C): drains, exits 0', async () => {
    const dir = await tempRuntimeDir();
    const node = spawnProcess(process.execPath, ['dist/cli.js', 'serve', '--port', '0', '--runtime-dir', dir], { env: cliEnv() });
    const [, url] = await node.waitFor(LISTENING);
    const port = Number(new URL(url as string).port);
    const { left } = await stopAndWatch(node.proc.pid as number, 'SIGINT', port, [node.proc.pid as number]);
    expect(left).toEqual([]);
    expect(await node.exited, `${node.stdout()}${node.stderr()}${node.proc.signalCode}`).toBe(0);
  });

  it('--log-format json: every stdout and stderr line, from start to the first answered request and on to the stop, is JSON with level, time, msg', async () => {
    const dir = await tempRuntimeDir();
    const node = spawnProcess(process.execPath, ['dist/cli.js', 'serve', '--port', '0', '--runtime-dir', dir, '--log-format', 'json'], {
      env: cliEnv(),
    });
    const [, url] = await node.waitFor(/"url":"(http:\/\/[^"]+)"/);
    expect((await fetch(new URL('/health', url as string))).status).toBe(200);
    expect((await gql(url as string, '{ status { configVersion } }')).status).toBe(200);
    expect(await node.stop('SIGTERM')).toBe(0);
    const lines = `${node.stdout()}${node.stderr()}`.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) {
      const entry = JSON.parse(line);
      expect(entry, line).toMatchObject({ level: expect.any(Number), time: expect.any(Number), msg: expect.any(String) });
    }
    const listening = lines.map((l) => JSON.parse(l)).find((e) => e.url !== undefined);
    expect(listening).toMatchObject({ level: 30, url, msg: `listening on ${url}` });
    // The admin token's path is logged, never the token.
    const token = (await import('node:fs')).readFileSync(`${dir}/admin.token`, 'utf8').trim();
    expect(lines.join('\n')).not.toContain(token);
  });
});
