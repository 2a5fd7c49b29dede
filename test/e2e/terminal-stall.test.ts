import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACCESS_LINE } from '../helpers/http.js';
import { isRunning, processTree } from '../helpers/processes.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { LISTENING, ROOT, TEST_TOKEN } from '../helpers/server.js';
import { cliEnv } from '../helpers/stratctl.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * A server run in a terminal whose reader stops taking output (Ctrl-S, a stalled ssh or `script`
 * session). `script` (util-linux) gives the server a real terminal (a pty) and copies what it writes
 * to its own stdout, a pipe this test stops reading: once that pipe and the terminal's buffer are
 * full, the terminal takes nothing more. Node writes to a terminal synchronously, so before
 * src/log.ts writeTerminalWithoutBlocking the server's event loop stopped in write(2) after ~500
 * debug lines and no request was answered (measured: the first part below timed out).
 */
const REQUESTS = 2000;
const ANSWER_WITHIN_MS = 5_000;

const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

async function post(url: string): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ strategies { key } }' }),
    signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('a server whose terminal stops taking output', () => {
  it('answers every request, its lines waiting (then all written once the terminal is read again), and stops on SIGTERM', async () => {
    const dir = await tempRuntimeDir();
    const serve = [process.execPath, path.join(ROOT, 'dist/cli.js'), 'serve', '--port', '0', '--runtime-dir', dir, '--log-level', 'debug'];
    // exec: the server is script's own child (its pid is the one signalled below), not a shell's.
    const child = spawn('script', ['-qfec', `exec ${serve.map(shellQuote).join(' ')}`, '/dev/null'], {
      env: cliEnv({ CONTROL_PLANE_TOKEN: TEST_TOKEN }),
      // stdin stays open (never ended): script forwards it to the terminal and would stop at its end.
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = (await waitUntil(async () => output.match(LISTENING), Boolean, { timeoutMs: 30_000, what: 'the listening line' }))![1]!;
      const [serverPid] = processTree(child.pid!)
        .slice(1) // script itself: its command line holds the server's
        .filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dist/cli.js'));
      expect(serverPid).toBeDefined();
      const accessLines = () => output.split('\n').filter((line) => ACCESS_LINE.test(line)).length;

      // The terminal stalls: a paused stream stops reading its pipe once its own buffer is full.
      child.stdout.pause();
      for (let i = 0; i < REQUESTS; i++) expect(await post(url)).toBe(200);
      // ~500 lines fill the pipe and the terminal: most of these are still waiting in the server.
      expect(accessLines()).toBeLessThan(REQUESTS);

      // Read again: every line comes out, in order (well under the 4 MiB bound: none dropped).
      child.stdout.resume();
      expect(
        await waitUntil(
          async () => accessLines(),
          (n) => n >= REQUESTS,
          { timeoutMs: 30_000, what: `${REQUESTS} access lines` },
        ),
      ).toBe(REQUESTS);
      expect(output).not.toMatch(/log lines? dropped/);

      // Stalled again, then stopped: it exits within its stop and the log flush bound (1.5 s), without waiting for the terminal.
      child.stdout.pause();
      for (let i = 0; i < REQUESTS; i++) expect(await post(url)).toBe(200);
      process.kill(serverPid!, 'SIGTERM');
      // Exited (a zombie until script, itself stuck writing to the pipe, reaps it, counts as gone).
      await waitUntil(
        async () => isRunning(serverPid!),
        (running) => !running,
        { timeoutMs: 20_000, what: 'the server to exit' },
      );
      child.stdout.resume();
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);
});
