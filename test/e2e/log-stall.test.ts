import { describe, expect, it } from 'vitest';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, TEST_TOKEN } from '../helpers/server.js';

/**
 * The real server with a stderr pipe the test stops reading after the listening line (a paused
 * `| less`, a log driver that stalls). Its log is driven well past the kernel's 64 KiB pipe and the
 * server's 4 MiB bound (log.ts LOG_BUFFER_MAX_CHARS) by requests that log ~1 KB each at debug
 * (the access line of a 404 holds 200 characters of its path, twice).
 */
async function stalledServer() {
  const dir = await tempRuntimeDir();
  const server = await spawnServer(dir, ['--log-format', 'json', '--log-level', 'debug'], { CONTROL_PLANE_TOKEN: TEST_TOKEN });
  const origin = new URL(server.url).origin;
  server.proc.stderr?.pause();
  const readAtStall = server.stderr().length;
  const dropped = async () => {
    const text = await (await fetch(`${origin}/metrics`)).text();
    return Number(text.match(/^control_plane_log_lines_dropped_total (\d+)$/m)?.[1] ?? Number.NaN);
  };
  const activate = async (key: string) => {
    const res = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` },
      body: JSON.stringify({ query: `mutation { activateStrategy(strategyKey: "${key}") { configVersion } }` }),
    });
    return { status: res.status, body: (await res.json()) as { data?: { activateStrategy?: { configVersion: number } } } };
  };
  /** Requests that log, 8 at a time, until the server says it dropped lines (or 12,000: ~12 MB of log, 3x the bound). */
  const flood = async () => {
    const path = `/${'x'.repeat(300)}`;
    let sent = 0;
    while (sent < 12_000) {
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = 0; i < 50; i++) await (await fetch(`${origin}${path}`)).arrayBuffer();
        }),
      );
      sent += 400;
      // Two INFO lines per activation, as an operator's change logs them.
      expect((await activate(sent % 800 ? 'gold' : 'momentum')).status).toBe(200);
      if ((await dropped()) > 0) break;
    }
    return sent;
  };
  /** How long `fn` takes to answer. */
  const timed = async <T>(fn: () => Promise<T>) => {
    const started = performance.now();
    const value = await fn();
    return { value, ms: performance.now() - started };
  };
  return { server, origin, dropped, activate, flood, timed, readAtStall };
}

describe('a server whose stderr is not read', { timeout: 120_000 }, () => {
  it('keeps answering, drops log lines past its bound and counts them, then says how many once stderr is read again', async () => {
    const { server, origin, dropped, activate, flood, timed, readAtStall } = await stalledServer();
    expect(await dropped()).toBe(0);
    const sent = await flood();
    // Far past the pipe's 64 KiB: the kernel holds no more, the server held the rest up to its bound.
    expect(sent * 900).toBeGreaterThan(4 * 1024 * 1024);
    const droppedWhileStalled = await dropped();
    expect(droppedWhileStalled).toBeGreaterThan(0);
    // Nothing of this reached the test: it is not reading.
    expect(server.stderr().length - readAtStall).toBeLessThan(256 * 1024);
    // The event loop is free: a probe and a write answer. A server blocked on its full stderr pipe
    // would never answer (nothing reads it), so the bound is wide: 5 s, as a loaded machine may take
    // more than a second, not a measure of speed.
    const health = await timed(async () => (await fetch(`${origin}/health`)).status);
    expect(health.value).toBe(200);
    expect(health.ms).toBeLessThan(5000);
    const change = await timed(() => activate('gold'));
    expect(change.value.status).toBe(200);
    expect(change.value.body.data?.activateStrategy?.configVersion).toBeGreaterThan(1);
    expect(change.ms).toBeLessThan(5000);

    // The reader is back: what was held comes out, then one WARN line with the count of the spell.
    server.proc.stderr?.resume();
    const [warnLine] = await server.waitFor(/^\{"level":40,[^\n]*log lines? dropped since[^\n]*\}$/m);
    const warn = JSON.parse(warnLine) as { droppedLines: number; droppedSince: string; msg: string };
    expect(warn.droppedLines).toBeGreaterThanOrEqual(droppedWhileStalled);
    expect(Date.parse(warn.droppedSince)).toBeGreaterThan(0);
    expect(warn.msg).toMatch(
      /^\d+ log lines dropped since \S+: stderr was not read \(its reader stalled\) and 4 MiB of lines were waiting; control_plane_log_lines_dropped_total counts them$/,
    );
    // The counter says the same; the lines the server kept are whole JSON lines, in order.
    expect(await dropped()).toBe(warn.droppedLines);
    const lines = server.stderr().split('\n').filter(Boolean);
    const parsed = lines.map((l) => JSON.parse(l) as { level: number; time: number; msg: string });
    expect(parsed.filter((l) => /log lines? dropped since/.test(l.msg))).toHaveLength(1);
    const times = parsed.map((l) => l.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));

    // A normal stop with the reader back: its end line is there, exit 0.
    expect(await server.stop('SIGTERM')).toBe(0);
    await server.closed;
    expect(server.stderr()).toMatch(/"msg":"stopped after \d+\.\d\d s \(exit 0\)"/);
  });

  it('exits promptly on SIGTERM while its stderr is still not read (what it holds is given up after a short wait)', async () => {
    const { server, flood } = await stalledServer();
    // Until lines are dropped (or ~12 MB were logged): far more than the pipe and the bound hold.
    expect(await flood()).toBeGreaterThan(64);
    const exited = server.stop('SIGTERM');
    // LOG_EXIT_FLUSH_MS (1.5 s) after the stop's own work; waiting for the reader, it never exited.
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 8_000).unref())]);
    expect(code).toBe(0);
  });
});
