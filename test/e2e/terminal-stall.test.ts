import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACCESS_LINE } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { LISTENING, ROOT, TEST_TOKEN } from '../helpers/server.js';
import { cliEnv } from '../helpers/stratctl.js';

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

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A process's state letter from /proc (Z: exited, not yet reaped), or null once it is gone. */
function processState(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] ?? null;
  } catch {
    return null;
  }
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
      await until('the listening line', () => LISTENING.test(output), 30_000);
      const url = output.match(LISTENING)![1]!;
      const serverPid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim());
      expect(readFileSync(`/proc/${serverPid}/cmdline`, 'utf8')).toContain('dist/cli.js');
      const accessLines = () => output.split('\n').filter((line) => ACCESS_LINE.test(line)).length;

      // The terminal stalls: a paused stream stops reading its pipe once its own buffer is full.
      child.stdout.pause();
      for (let i = 0; i < REQUESTS; i++) expect(await post(url)).toBe(200);
      // ~500 lines fill the pipe and the terminal: most of these are still waiting in the server.
      expect(accessLines()).toBeLessThan(REQUESTS);

      // Read again: every line comes out, in order (well under the 4 MiB bound: none dropped).
      child.stdout.resume();
      await until(`${REQUESTS} access lines`, () => accessLines() >= REQUESTS, 30_000);
      expect(accessLines()).toBe(REQUESTS);
      expect(output).not.toMatch(/log lines? dropped/);

      // Stalled again, then stopped: it exits within its stop and the log flush bound (1.5 s), without waiting for the terminal.
      child.stdout.pause();
      for (let i = 0; i < REQUESTS; i++) expect(await post(url)).toBe(200);
      process.kill(serverPid, 'SIGTERM');
      // Exited (a zombie until script, itself stuck writing to the pipe, reaps it) or gone.
      await until('the server to exit', () => [null, 'Z'].includes(processState(serverPid)), 20_000);
      child.stdout.resume();
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);
});
