import { readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, request, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runClientCommand } from '../../src/cli/client-command.js';
import { type CliIo, commandContext } from '../../src/cli/io.js';
import { execute } from '../../src/client/http.js';
import type { ClientSettings } from '../../src/client/settings.js';
import { ActivateStrategyDocument, StatusDocument } from '../../src/generated/graphql.js';
import { handEditPresets, STATUS, UPSERT } from '../helpers/presets.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.js';
import { cliEnv, startStratctl, stratctl } from '../helpers/stratctl.js';

/** The client settings a script would export, pointing at the test server. */
function envFor(server: TestServer, extra: Record<string, string | undefined> = {}) {
  return { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_RUNTIME_DIR: server.runtimeDir, ...extra };
}

const readConfig = (server: TestServer) => readFile(path.join(server.runtimeDir, 'config.yaml'), 'utf8');

// Commands run in-process (runCli) against a real server over HTTP; test/e2e/stratctl-process.test.ts
// runs the built CLI as a separate process.

/** Runs `body` as a client command runs (its failure turned into stderr and an exit code), in this process. */
async function clientRun(url: string, body: (settings: ClientSettings) => Promise<unknown>, flags: { json?: boolean } = {}) {
  let stderr = '';
  let stdout = '';
  const io: CliIo = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: cliEnv(),
    onStopSignal: () => () => {},
    exit: (code) => {
      throw new Error(`exit ${code}: no stop signal is sent here`);
    },
  };
  const code = await runClientCommand({ url, token: TEST_TOKEN, ...flags }, commandContext(io), async (ctx) => {
    await body(ctx.settings);
    return undefined;
  });
  return { code, stderr, stdout };
}

/** `--json`'s failure object on stdout. */
const jsonErrorOf = (stdout: string) => (JSON.parse(stdout) as { error: Record<string, unknown> }).error;

describe('stratctl against a real server', { timeout: 60_000 }, () => {
  it('strategies: a table by default, JSON with --json, filters', async () => {
    const server = await startTestServer();
    const [human, json, lowRisk, none] = await Promise.all([
      stratctl(['strategies'], envFor(server)),
      stratctl(['strategies', '--json'], envFor(server)),
      stratctl(['strategies', '--json', '--risk-level', 'low'], envFor(server)),
      stratctl(['strategies', '--instrument', 'XAU'], envFor(server)),
    ]);
    // A filter that matches none: no bare header, and stderr says so (as history and audit do).
    expect([none.code, none.stdout, none.stderr]).toEqual([
      0,
      '',
      'no strategy matches --instrument XAU ("stratctl strategies" lists them all)\n',
    ]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^\s+KEY\s+NAME\s+RISK\s+SESSION\s+INSTRUMENTS/);
    expect(human.stdout).toMatch(/^\*\s+momentum\s+Momentum\s+medium/m);
    for (const key of ['gold', 'range', 'eur_usd_5m_safe', 'momentum_v2']) expect(human.stdout).toMatch(new RegExp(`^ +${key} `, 'm'));
    expect(json.code).toBe(0);
    const strategies = JSON.parse(json.stdout) as { key: string; isActive: boolean; instruments: string[] }[];
    expect(strategies.map((s) => s.key)).toEqual(['momentum', 'gold', 'range', 'eur_usd_5m_safe', 'momentum_v2']);
    expect(strategies.find((s) => s.key === 'gold')?.instruments).toEqual(['XAU_USD']);
    expect(JSON.parse(lowRisk.stdout).map((s: { key: string }) => s.key)).toEqual(['range', 'eur_usd_5m_safe']);
  });

  it('strategies --instrument "" (a script\'s unset variable) is refused, exit 2, as --risk-level "" is: not a filter matching nothing', async () => {
    const server = await startTestServer();
    for (const json of [[], ['--json']]) {
      const [empty, blank, risk] = await Promise.all([
        stratctl(['strategies', ...json, '--instrument', ''], envFor(server)),
        stratctl(['strategies', ...json, '--instrument', '  '], envFor(server)),
        stratctl(['strategies', ...json, '--risk-level', ''], envFor(server)),
      ]);
      expect(risk.code).toBe(2);
      for (const refused of [empty, blank]) {
        expect(refused.code, refused.stdout).toBe(2);
        expect(refused.stderr).toContain('--instrument must not be empty');
        if (json.length > 0) expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: JSON.parse(risk.stdout).error.code } });
        else expect(refused.stdout).toBe('');
      }
    }
  });

  it('strategies <key>: one strategy with defaults and the tunables in force; unknown key exits 2', async () => {
    const server = await startTestServer();
    await server.gql('mutation { updateConfig(input: { tunableOverrides: { momentum: { lookback_bars: 40 } } }) { changedFields } }');
    const [human, json, unknown] = await Promise.all([
      stratctl(['strategies', 'momentum'], envFor(server)),
      stratctl(['strategies', 'gold', '--json'], envFor(server)),
      stratctl(['strategies', 'nope'], envFor(server)),
    ]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^momentum: Momentum \(active\)$/m);
    expect(human.stdout).toMatch(/^lookback_bars\s+20\s+40$/m);
    expect(JSON.parse(json.stdout)).toMatchObject({ key: 'gold', instruments: ['XAU_USD'], isActive: false });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('there is no strategy "nope"');
  });

  it('strategies <key> of a preset says which static strategy it is a preset of', async () => {
    const server = await startTestServer({ runner: false });
    await server.gql(UPSERT, { input: { key: 'gold_fast', base: 'gold', name: 'Gold (fast)', tunables: { fast_ma_period: 3 } } });
    const [preset, shipped] = await Promise.all([
      stratctl(['strategies', 'gold_fast'], envFor(server)),
      stratctl(['strategies', 'gold'], envFor(server)),
    ]);
    expect(preset.code, preset.stderr).toBe(0);
    expect(preset.stdout).toMatch(/^gold_fast: Gold \(fast\)\npreset of gold\n/);
    expect(preset.stdout).toMatch(/^fast_ma_period\s+3\s+3$/m);
    expect(shipped.code, shipped.stderr).toBe(0);
    expect(shipped.stdout).not.toContain('preset of');
  });

  it('status: human and --json', async () => {
    const server = await startTestServer();
    const [human, json] = await Promise.all([stratctl(['status'], envFor(server)), stratctl(['status', '--json'], envFor(server))]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^active strategy:\s+momentum$/m);
    expect(human.stdout).toMatch(/^config version:\s+1$/m);
    expect(JSON.parse(json.stdout)).toMatchObject({ activeStrategyKey: 'momentum', configVersion: 1, configError: null });
  });

  it('activate: token from <runtime-dir>/admin.token, the file changes, --if-version guards', async () => {
    const server = await startTestServer({ adminTokenFile: true });
    const activated = await stratctl(['activate', 'gold', '--if-version', '1'], envFor(server));
    expect(activated.code, activated.stderr).toBe(0);
    expect(activated.stdout).toBe('activated gold (was momentum); config version 2\n');
    expect(await readConfig(server)).toMatch(/^active_strategy_key: gold$/m);

    const stale = await stratctl(['activate', 'range', '--if-version', '1', '--json'], envFor(server));
    expect(stale.code).toBe(4);
    expect(stale.stderr).toContain('Config version conflict: expected 1, current 2');
    expect(stale.stderr).toContain('retry with --if-version 2');
    expect(await readConfig(server)).toMatch(/^active_strategy_key: gold$/m);

    const json = await stratctl(['activate', 'range', '--json'], envFor(server));
    expect(JSON.parse(json.stdout)).toEqual({
      activeStrategyKey: 'range',
      previousStrategyKey: 'gold',
      configVersion: 3,
      changed: true,
      runnerWait: null,
    });
  });

  it('activate --wait: exit 0 once the runner applied it; status shows what the runner applied', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    const applied = await stratctl(
      ['activate', 'gold', '--wait', '--timeout-ms', '60000'],
      envFor(server, { CONTROL_PLANE_TOKEN: TEST_TOKEN }),
    );
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^activated gold \(was momentum\); config version 2\nthe runner applied it \(\d+ ms\)\n$/);
    // The same again writes nothing: said so, not "the runner applied it (0 ms)".
    const again = await stratctl(['activate', 'gold', '--wait'], envFor(server, { CONTROL_PLANE_TOKEN: TEST_TOKEN }));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('gold was already active (config version 2)\nnothing to apply: the runner already had this version\n');

    const [status, statusJson] = await Promise.all([stratctl(['status'], envFor(server)), stratctl(['status', '--json'], envFor(server))]);
    const runnerId = server.services.runners.views()[0]?.state?.id as string;
    expect(
      status.stdout
        .split('\n')
        .find((l) => l.startsWith('runner:'))
        ?.replace(/\s+/, ' '),
    ).toBe(`runner: RUNNING, in sync (applied version 2, gold) [${runnerId}]`);
    expect(status.stdout).toMatch(/^last scan:\s+\d{4}-/m);
    expect(JSON.parse(statusJson.stdout).runner).toMatchObject({ inSync: true, appliedConfigVersion: 2, appliedStrategyKey: 'gold' });
  });

  it('status says when the server cannot reach its store, in text, --json and --watch', async () => {
    const server = await startTestServer({ runner: false });
    const healthy = await stratctl(['status'], envFor(server));
    expect(healthy.stdout).toMatch(/^store:\s+file$/m);
    expect(healthy.stdout).not.toContain('STORE UNREACHABLE');
    // The store as it reads with etcd's quorum gone: connected false, its last contact kept.
    const store = server.services.store;
    const info = store.info.bind(store);
    vi.spyOn(store, 'info').mockImplementation(() => ({ ...info(), connected: false, lastContactAt: '2026-11-30T03:00:00.000Z' }));
    const [text, json] = await Promise.all([stratctl(['status'], envFor(server)), stratctl(['status', '--json'], envFor(server))]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^STORE UNREACHABLE:\s+the server cannot reach its file store \(last contact 2026-11-30T03:00:00\.000Z\): what it shows is the state it last saw, and changes are refused until the store is back$/m,
    );
    expect(JSON.parse(json.stdout).store).toEqual({ kind: 'FILE', connected: false, lastContactAt: '2026-11-30T03:00:00.000Z' });
    const watch = startStratctl(['status', '--watch'], envFor(server));
    await watch.waitFor(/STORE UNREACHABLE: the server cannot reach its file store/);
    watch.signal('SIGINT');
    expect(await watch.exited).toBe(130);
  });

  it('activate --wait: exit 6 when the runner has not applied it in time; the change itself stands', async () => {
    const server = await startTestServer({ runner: false });
    const env = envFor(server, { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    const [timedOut, timedOutJson, usage, stopped] = await Promise.all([
      stratctl(['activate', 'gold', '--wait', '--timeout-ms', '300'], env),
      stratctl(['activate', 'range', '--wait', '--timeout-ms', '300', '--json'], env),
      stratctl(['activate', 'gold', '--timeout-ms', '10'], env),
      stratctl(['status'], env),
    ]);
    expect(timedOut.code).toBe(6);
    expect(timedOut.stderr).toContain('no live runner to wait for');
    expect(timedOut.stderr).toContain('No runner is live (RUNNING or ERROR)');
    expect(timedOut.stderr).toContain('stratctl status');
    expect(timedOutJson.code).toBe(6);
    expect(JSON.parse(timedOutJson.stdout).runnerWait).toMatchObject({ applied: false, timedOut: true, runnerState: 'STOPPED' });
    expect((await server.gql('{ status { configVersion } }')).body.data?.status.configVersion).toBe(3);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--timeout-ms goes with --wait');
    expect(stopped.stdout).toMatch(/^runner:\s+STOPPED, NOT in sync \(nothing applied yet\)$/m);
    // A no-op that times out says it was already active, not "activated ...".
    const active = JSON.parse((await stratctl(['status', '--json'], env)).stdout).activeStrategyKey as string;
    const noop = await stratctl(['activate', active, '--wait', '--timeout-ms', '200'], env);
    expect(noop.code).toBe(6);
    expect(noop.stderr).toMatch(
      new RegExp(
        `^error: ${active} was already active \\(config version 3\\), but timed out after 200 ms: no live runner to wait for.*nothing changed`,
      ),
    );
  });

  it('--wait timing out in text mode: stdout says what was accepted (its version) and that no live runner applied it; exit 6', async () => {
    const server = await startTestServer({ runner: false });
    const env = envFor(server, { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    const activated = await stratctl(['activate', 'gold', '--wait', '--timeout-ms', '200'], env);
    expect(activated.code, activated.stderr).toBe(6);
    expect(activated.stdout).toMatch(
      /^activated gold \(was momentum\); config version 2\ntimed out after 200 ms: no live runner to wait for \(none has reported\); the change is saved, and a runner applies it when one starts\n$/,
    );
    const set = await stratctl(['config', 'set', 'scan_interval_seconds=15', '--wait', '--timeout-ms', '200'], env);
    expect(set.code, set.stderr).toBe(6);
    expect(set.stdout).toMatch(/^changed scan_interval_seconds; config version 3\nactive_strategy_key: gold\n/);
    expect(set.stdout).toMatch(/\ntimed out after 200 ms: no live runner to wait for .*the change is saved.*\n$/);
    const rolledBack = await stratctl(['rollback', '1', '--wait', '--timeout-ms', '200'], env);
    expect(rolledBack.code, rolledBack.stderr).toBe(6);
    expect(rolledBack.stdout).toMatch(
      /^rolled back to version 1's settings: config version 4 \(changed .*\)\ntimed out after 200 ms: no live runner to wait for .*\n$/,
    );
    // stderr keeps the error and what to do next; the changes stand.
    for (const r of [activated, set, rolledBack])
      expect(r.stderr).toMatch(/^error: .*, but timed out after 200 ms: no live runner to wait for /);
    expect((await server.gql('{ status { configVersion } }')).body.data?.status.configVersion).toBe(4);
  });

  it('config set --wait: exit 0 once applied, exit 6 without a runner; --wait is refused on config get', async () => {
    const withRunner = await startTestServer({ runner: { heartbeatMs: 200 } });
    const noRunner = await startTestServer({ runner: false });
    const [applied, timedOut, getWait] = await Promise.all([
      stratctl(
        ['config', 'set', 'scan_interval_seconds=15', '--wait', '--timeout-ms', '60000'],
        envFor(withRunner, { CONTROL_PLANE_TOKEN: TEST_TOKEN }),
      ),
      stratctl(
        ['config', 'set', 'scan_interval_seconds=15', '--wait', '--timeout-ms', '300', '--json'],
        envFor(noRunner, { CONTROL_PLANE_TOKEN: TEST_TOKEN }),
      ),
      stratctl(['config', 'get', '--wait'], envFor(noRunner)),
    ]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^changed scan_interval_seconds; config version 2\n/);
    expect(applied.stdout).toMatch(/\nthe runner applied it \(\d+ ms\)\n$/);
    expect(timedOut.code).toBe(6);
    expect(timedOut.stderr).toContain('config saved as version 2, but timed out after 300 ms: no live runner to wait for');
    expect(JSON.parse(timedOut.stdout).runnerWait).toMatchObject({ applied: false, timedOut: true, runnerState: 'STOPPED' });
    expect(noRunner.store.state().config.config.scanIntervalSeconds).toBe(15);
    expect(getWait.code).toBe(2);
    expect(getWait.stderr).toContain('--wait goes with config set');
  });

  it('status --watch: the status, then each change over SSE (statusChanged); Ctrl-C exits 130', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    const watch = startStratctl(['status', '--watch', '--json'], envFor(server));
    await watch.waitFor(/"activeStrategyKey":"momentum"/);
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    await watch.waitFor(/"activeStrategyKey":"gold","configVersion":2,.*"appliedConfigVersion":2/);
    const lines = watch
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ activeStrategyKey: 'momentum', configVersion: 1 });
    // One shape on every line (the first comes from a query, the rest from the subscription).
    for (const line of lines) expect(Object.keys(line).sort()).toEqual(Object.keys(lines[0]).sort());
    expect(lines.at(-1)).toMatchObject({ tradingEnabled: true, configUpdatedAt: expect.any(String) });
    watch.signal('SIGINT');
    expect(await watch.exited).toBe(130);
  });

  it('status --watch --json: a scan or a heartbeat alone is no line (README: a line each time the status changes), a change is', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 100 } });
    await server.gql('mutation { updateConfig(input: { scanIntervalSeconds: 1 }) { config { version } } }');
    const watch = startStratctl(['status', '--watch', '--json'], envFor(server));
    await watch.waitFor(/"configVersion":2,.*"appliedConfigVersion":2/);
    const lines = () => watch.stdout().trim().split('\n');
    const before = lines().length;
    const scanned = async () => (await server.gql('{ status { runner { lastScanAt } } }')).body.data?.status.runner.lastScanAt;
    // Three scans and ~30 heartbeats later (each an event: before, each scan was a line).
    const first = await scanned();
    for (let seen = 0, at = first; seen < 3; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const now = await scanned();
      if (now !== at) [seen, at] = [seen + 1, now];
    }
    expect(lines()).toHaveLength(before);
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    await watch.waitFor(/"activeStrategyKey":"gold","configVersion":3,.*"appliedConfigVersion":3/);
    // The line printed holds the times as they are (only the comparison leaves them out).
    expect(JSON.parse(lines().at(-1) as string).runner).toMatchObject({ lastScanAt: expect.any(String), heartbeatAt: expect.any(String) });
    watch.signal('SIGINT');
    expect(await watch.exited).toBe(130);
  });

  it('status --watch shows the kill switch: turning trading off is a line of its own', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    const human = startStratctl(['status', '--watch'], envFor(server));
    await human.waitFor(/active momentum .* trading on/);
    expect((await server.gql('mutation { updateConfig(input: { tradingEnabled: false }) { changed } }')).body.errors).toBeUndefined();
    await human.waitFor(/active momentum {2}config v2 .* TRADING OFF/);
    human.signal('SIGINT');
    expect(await human.exited).toBe(130);
  });

  it('status --watch reconnects when the server restarts, and prints the state it finds', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    const port = Number(new URL(server.url).port);
    const human = startStratctl(['status', '--watch'], envFor(server));
    await human.waitFor(/active momentum {2}config v1 {2}runner RUNNING in sync \(applied v1 momentum\) {2}presets v0 {2}trading on/);
    await server.close();
    // While it is down, the config changes on disk: the watcher must show it once the server is back.
    const file = path.join(server.runtimeDir, 'config.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('active_strategy_key: momentum', 'active_strategy_key: range'));
    await startTestServer({ runtimeDir: server.runtimeDir, port, runner: { heartbeatMs: 200 } });
    await human.waitFor(/active range {2}config v\d+ {2}runner RUNNING in sync \(applied v\d+ range\)/);
    expect(human.stderr()).toMatch(/ended the event stream|lost the event stream/);
    expect(human.stderr()).toContain(`reconnected to ${server.url}`);
    human.signal('SIGTERM');
    expect(await human.exited).toBe(143);
  });

  it('status --watch exits 5 at once when nothing listens at the start: nothing was lost, nothing to wait for', async () => {
    const closed = await startTestServer();
    await closed.close();
    // The default reconnect window is 60 s: an exit well inside it is the refusal, not the window running out.
    const watch = startStratctl(['status', '--watch'], envFor(closed));
    const code = await Promise.race([watch.exited, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 30_000))]);
    if (code !== 5) watch.signal('SIGINT'); // not left running past the test
    expect(code).toBe(5);
    // Said as status says it, with why (the connection refused).
    expect(watch.stderr()).toContain(`cannot reach ${closed.url} (ECONNREFUSED)`);
    expect(watch.stderr()).toContain('Is the control plane running');
    expect(watch.stderr()).not.toContain('lost the event stream');
  });

  it('status --watch exits 5 when the server stays away past --reconnect-timeout-ms', async () => {
    const server = await startTestServer();
    const watch = startStratctl(['status', '--watch', '--reconnect-timeout-ms', '300'], envFor(server));
    await watch.waitFor(/active momentum/);
    await server.close();
    expect(await watch.exited).toBe(5);
    expect(watch.stderr()).toMatch(/did not come back within 300 ms/);
  });

  it('status --watch never goes backwards: changes the stream delivered while the status was being read are older than that read, and are not printed after it', async () => {
    const server = await startTestServer({ runner: false });
    const upstream = new URL(server.url);
    // A proxy that holds the watch's status read (not the stream) until released: changes made
    // meanwhile reach the watch on the stream first, then the read answers with the newest.
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = 0;
    const proxy = createServer(async (req, res) => {
      const stream = (req.headers.accept ?? '').includes('text/event-stream');
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      if (!stream && body.toString().includes('query Status ')) {
        held += 1;
        await released;
      }
      const forward = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/graphql`;
    try {
      const watch = startStratctl(['status', '--watch', '--json', '--url', url], envFor(server));
      await vi.waitFor(() => expect(held).toBe(1), { timeout: 10_000, interval: 10 });
      for (const key of ['gold', 'range', 'momentum_v2'])
        await server.gql(`mutation { activateStrategy(strategyKey: "${key}") { configVersion } }`);
      // The three events are on their way to the watch (the server sent them before the read goes on).
      release();
      await watch.waitFor(/"configVersion":4/);
      await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
      await watch.waitFor(/"configVersion":5/);
      const versions = watch
        .stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).configVersion);
      // Before: 4 (the read), then 2, 3, 4 (the stream's, older), then 5.
      expect(versions).toEqual([4, 5]);
      watch.signal('SIGINT');
      expect(await watch.exited).toBe(130);
    } finally {
      release();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('status --watch behind a proxy that takes the stream but answers the re-read 503 (a rolling restart): keeps reconnecting within --reconnect-timeout-ms, then exit 5', async () => {
    const server = await startTestServer();
    const upstream = new URL(server.url);
    // A load balancer: while "restarting" it drops event streams and answers plain POSTs 503, but
    // still passes a new event stream to the server (another instance took it).
    let restarting = false;
    let refused = 0;
    const streams = new Set<ServerResponse>();
    const proxy = createServer((req, res) => {
      const stream = (req.headers.accept ?? '').includes('text/event-stream');
      if (restarting && !stream) {
        refused += 1;
        req.resume();
        res.writeHead(503, { 'content-type': 'text/plain' }).end('upstream restarting');
        return;
      }
      const forward = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      if (stream) {
        streams.add(res);
        res.on('close', () => streams.delete(res));
      }
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/graphql`;
    const restart = () => {
      restarting = true;
      for (const res of streams) res.destroy();
    };
    try {
      const watch = startStratctl(['status', '--watch', '--url', url, '--reconnect-timeout-ms', '60000'], envFor(server));
      await watch.waitFor(/active momentum {2}config v1/);
      restart();
      // Reconnected, refused the re-read, and reconnected again: still watching.
      await vi.waitFor(() => expect(refused).toBeGreaterThanOrEqual(3), { timeout: 20_000, interval: 20 });
      expect(await Promise.race([watch.exited, Promise.resolve('still watching')])).toBe('still watching');
      // The outage said once (the loss, then the 503 once), not "reconnected" and the 503 on every retry:
      // no status was read, so it has not reconnected.
      const said = (text: string) => watch.stderr().split(text).length - 1;
      expect(said('reconnecting (for up to 60000 ms)')).toBe(1);
      expect(said(`${url} answered HTTP 503 from something in front of the control plane`)).toBe(1);
      expect(said('reconnected to')).toBe(0);
      expect(watch.stderr()).not.toContain('error:');
      // The server is back behind the proxy, with a change made meanwhile: the watch shows it, and says it is back, once.
      expect((await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }')).body.errors).toBeUndefined();
      restarting = false;
      await watch.waitFor(/active gold {2}config v2/);
      expect(said(`reconnected to ${url}`)).toBe(1);
      watch.signal('SIGINT');
      expect(await watch.exited).toBe(130);

      // Never back: exit 5 once the timeout has passed since the stream was lost, not at the first refusal.
      const short = startStratctl(['status', '--watch', '--url', url, '--reconnect-timeout-ms', '1500'], envFor(server));
      await short.waitFor(/active gold/);
      const lostAt = performance.now();
      refused = 0;
      restart();
      expect(await short.exited).toBe(5);
      expect(performance.now() - lostAt).toBeGreaterThanOrEqual(1500);
      expect(refused).toBeGreaterThanOrEqual(2);
      expect(short.stderr()).toMatch(
        /answered HTTP 503 from something in front of the control plane.*, and it did not come back within 1500 ms/,
      );
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });

  it('status --watch exits 3 with no token or a wrong one where reads need a token, as plain status does', async () => {
    const server = await startTestServer({ readsRequireToken: true });
    // No admin.token in this runtime dir: no token at all.
    const env = { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_RUNTIME_DIR: await tempRuntimeDir() };
    // The server refuses the stream in its own media type (text/event-stream), not JSON.
    const [plain, none, wrong] = await Promise.all([
      stratctl(['status'], env),
      stratctl(['status', '--watch', '--reconnect-timeout-ms', '0'], env),
      stratctl(['status', '--watch', '--json', '--token', 'not-the-token-0123456789'], env),
    ]);
    expect(plain.code).toBe(3);
    expect(none.code, none.stderr).toBe(3);
    expect(none.stderr).toBe(plain.stderr);
    expect(none.stderr).toMatch(/^error: Authentication required\nPass --token/);
    expect(wrong.code, wrong.stderr).toBe(3);
    expect(JSON.parse(wrong.stdout)).toEqual({ error: { code: 'UNAUTHENTICATED', message: 'Authentication required' } });
  });

  it('a change whose answer is lost (sent, never answered): exit 5, saying it may or may not have been applied', async () => {
    const server = await startTestServer();
    // A proxy that forwards each request to the server and never answers.
    const forwarded: Promise<Response>[] = [];
    const proxy = createServer(async (req) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' };
      forwarded.push(fetch(server.url, { method: 'POST', headers, body: Buffer.concat(chunks) }));
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/graphql`;
    // What `stratctl activate` / `status` run, with the request timeout (30 s) cut to 1 s.
    const run = (body: (settings: ClientSettings) => Promise<unknown>) =>
      clientRun(url, (settings) => body({ ...settings, timeoutMs: 1000 }), { json: true });
    try {
      const [write, read] = await Promise.all([
        run((settings) => execute(settings, ActivateStrategyDocument, { strategyKey: 'gold' })),
        run((settings) => execute(settings, StatusDocument)),
      ]);
      // Under --json, "maybe done" is a field a script reads, not only words in the message.
      expect(jsonErrorOf(write.stdout)).toMatchObject({ code: 'UNREACHABLE', outcome: 'UNKNOWN' });
      expect(jsonErrorOf(read.stdout)).not.toHaveProperty('outcome');
      expect(jsonErrorOf(read.stdout).code).toBe('UNREACHABLE');
      expect(write.code).toBe(5);
      expect(write.stderr).toContain(`no answer from ${url} within 1000 ms after the change was sent: it may or may not have been applied`);
      expect(write.stderr).toContain('Check with "stratctl status" or "stratctl history" whether it was applied');
      expect(write.stderr).not.toContain('Is the control plane running');
      await Promise.all(forwarded);
      // It was: the server committed the change whose answer never came.
      expect(server.store.state().config.config.activeStrategyKey).toBe('gold');
      // A read that gets no answer changed nothing: it stays "cannot reach".
      expect(read.code).toBe(5);
      expect(read.stderr).toContain(`cannot reach ${url} (no answer in time)`);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });

  it.each([false, true])(
    'a stop signal while a change is out is heard through the io, not the process: says so, exits 143 at once (--json: %s)',
    async (json) => {
      // A server that takes the request and never answers.
      const arrived: unknown[] = [];
      const silent = createServer((req) => arrived.push(req));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/graphql`;
      const processListeners = () => (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => process.listenerCount(s));
      const before = processListeners();
      try {
        const activate = startStratctl(['activate', 'gold', '--url', url, '--token', TEST_TOKEN, ...(json ? ['--json'] : [])]);
        await vi.waitFor(() => expect(arrived).toHaveLength(1), { timeout: 10_000, interval: 20 });
        // The command's one listener is on its io; the process (here, the test's) gained none, so a
        // Ctrl-C meant for the caller is not taken for the command's (the client once listened on
        // the process itself, and would have exited the test's process).
        expect(activate.stopListeners()).toBe(1);
        expect(processListeners()).toEqual(before);
        activate.signal('SIGTERM');
        expect(await activate.exited).toBe(143);
        const message = `stopped by SIGTERM after the change was sent to ${url}, before its answer came: it may or may not have been applied`;
        expect(activate.stderr()).toBe(`stratctl: ${message}; check with stratctl status or stratctl history\n`);
        expect(activate.stdout()).toBe(json ? `${JSON.stringify({ error: { code: 'INTERRUPTED', message, outcome: 'UNKNOWN' } })}\n` : '');
      } finally {
        silent.closeAllConnections();
        silent.close();
      }
    },
  );

  it('a change answered leaves no stop-signal listener behind: a stop after it is the command\'s own, not "may or may not"', async () => {
    const server = await startTestServer();
    const activate = startStratctl(['activate', 'gold', '--url', server.url, '--token', TEST_TOKEN]);
    expect(await activate.exited).toBe(0);
    expect(activate.stopListeners()).toBe(0);
    expect(server.store.state().config.config.activeStrategyKey).toBe('gold');
  });

  it('a change whose connection ends after it was sent: exit 5, it may or may not have been applied; a refused connection: cannot reach', async () => {
    // A server that reads the whole request, then drops the connection without a word.
    let requests = 0;
    const dropper = createNetServer((socket) => {
      socket.once('data', () => {
        requests += 1;
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(dropper.address() as AddressInfo).port}/graphql`;
    const run = (target: string) =>
      clientRun(target, (settings) => execute(settings, ActivateStrategyDocument, { strategyKey: 'gold' }), { json: true });
    try {
      const dropped = await run(url);
      expect(requests).toBeGreaterThan(0);
      expect(dropped.code).toBe(5);
      expect(jsonErrorOf(dropped.stdout)).toMatchObject({ code: 'UNREACHABLE', outcome: 'UNKNOWN' });
      expect(dropped.stderr).toMatch(
        new RegExp(
          `the connection to ${url.replace(/[.]/g, '\\.')} ended without an answer \\(\\w+\\) after the change was sent: it may or may not have been applied`,
        ),
      );
      expect(dropped.stderr).not.toContain('Is the control plane running');
    } finally {
      dropper.close();
    }
    // The same port, closed now: the connection is refused, nothing was sent.
    const refused = await run(url);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain(`cannot reach ${url} (ECONNREFUSED)`);
    // Nothing was sent: no outcome to check.
    expect(jsonErrorOf(refused.stdout)).toEqual({ code: 'UNREACHABLE', message: `cannot reach ${url} (ECONNREFUSED)` });
  });

  it('an answer cut off halfway: a change may or may not have been applied (it said "not what stratctl expects"); a read says it was cut off', async () => {
    const halfway = createNetServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{"data":{"activ');
        setTimeout(() => socket.destroy(), 50);
      });
    });
    await new Promise<void>((resolve) => halfway.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(halfway.address() as AddressInfo).port}/graphql`;
    try {
      const write = await clientRun(url, (settings) => execute(settings, ActivateStrategyDocument, { strategyKey: 'gold' }));
      expect(write.code).toBe(5);
      expect(write.stderr).toContain(`the connection to ${url} ended without the whole answer`);
      expect(write.stderr).toContain('after the change was sent: it may or may not have been applied');
      const read = await clientRun(url, (settings) => execute(settings, StatusDocument));
      expect(read.code).toBe(5);
      expect(read.stderr).toContain(`the answer from ${url} was cut off`);
    } finally {
      halfway.close();
    }
  });

  it("a change the server's store may or may not have applied (503 UNAVAILABLE, outcome UNKNOWN): exit 7, and --json carries the outcome", async () => {
    // What a replica answers when etcd lost the answer to its commit (test/e2e/etcd-lost-answer.test.ts),
    // and what it answers when etcd is simply away (nothing was sent: no outcome).
    let outcome: string | undefined = 'UNKNOWN';
    const replica = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const extensions = { code: 'UNAVAILABLE', ...(outcome && { outcome }) };
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '2' });
        res.end(JSON.stringify({ errors: [{ message: 'Config store unavailable', extensions }] }));
      });
    });
    await new Promise<void>((resolve) => replica.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(replica.address() as AddressInfo).port}/graphql`;
    const run = () => clientRun(url, (settings) => execute(settings, ActivateStrategyDocument, { strategyKey: 'gold' }), { json: true });
    try {
      const unknown = await run();
      expect(unknown.code).toBe(7);
      expect(jsonErrorOf(unknown.stdout)).toEqual({ code: 'UNAVAILABLE', message: 'Config store unavailable', outcome: 'UNKNOWN' });
      expect(unknown.stderr).toContain('check with "stratctl status" or "stratctl history" whether it was applied before trying again');
      outcome = undefined;
      const refused = await run();
      expect(refused.code).toBe(7);
      expect(jsonErrorOf(refused.stdout)).toEqual({ code: 'UNAVAILABLE', message: 'Config store unavailable' });
      expect(refused.stderr).toContain('The config store is unreachable from the server: retry shortly (nothing was changed).');
    } finally {
      replica.close();
    }
  });

  it('config get while the file on disk is a broken hand edit: the config in force on stdout, and a line saying the file is not it', async () => {
    const server = await startTestServer();
    // Written whole (temp + rename): written in place, the file can be read empty first, a different
    // invalid state ("must be a YAML mapping", line 1) that the wait below then takes for this one.
    const broken = path.join(server.runtimeDir, 'config.yaml.broken');
    await writeFile(broken, 'active_strategy_key: [unclosed\n');
    await rename(broken, path.join(server.runtimeDir, 'config.yaml'));
    await vi.waitFor(
      async () => expect((await server.gql('{ status { configError { message } } }')).body.data?.status.configError).not.toBeNull(),
      {
        timeout: 10_000,
      },
    );
    const get = await stratctl(['config', 'get'], envFor(server));
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toMatch(/^active_strategy_key: momentum\n/);
    expect(get.stderr).toMatch(
      /^the config file on disk is invalid; this is the last good config, still in force:\nconfig\.yaml: invalid config\n {2}line 2, column 1: /,
    );
  });

  it('strategies while strategies.yaml is invalid: the list is the last good set, and stderr says so (text and --json)', async () => {
    const server = await startTestServer({ runner: false });
    await server.gql(UPSERT, { input: { key: 'gold_fast', base: 'gold', name: 'Gold (fast)', tunables: { fast_ma_period: 3 } } });
    const fine = await stratctl(['strategies'], envFor(server));
    expect([fine.code, fine.stderr]).toEqual([0, '']);
    await handEditPresets(server, (t) => t.replace('fast_ma_period: 3', 'fast_ma_period: 1'));
    await vi.waitFor(async () => expect((await server.gql(STATUS)).body.data?.status.strategiesError).not.toBeNull(), { timeout: 10_000 });
    const [text, json, status] = await Promise.all([
      stratctl(['strategies'], envFor(server)),
      stratctl(['strategies', '--json'], envFor(server)),
      stratctl(['status', '--json'], envFor(server)),
    ]);
    const problem = JSON.parse(status.stdout).strategiesError.message as string;
    expect(problem).toMatch(/^strategies\.yaml: invalid presets/);
    const warning = `warning: the presets listed are the last good set, still in force; the stored presets are not (see "stratctl status"):\n${problem}\n`;
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ +gold_fast +Gold \(fast\) /m);
    expect(text.stderr).toBe(warning);
    // --json: stdout stays the array it was (scripts read it as one); the warning goes to stderr.
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { key: string }[]).map((s) => s.key)).toContain('gold_fast');
    expect(json.stderr).toBe(warning);
  });

  it('config get --json marks the last good config while the file is invalid, as status --json does (configError)', async () => {
    const server = await startTestServer();
    const good = await stratctl(['config', 'get', '--json'], envFor(server));
    expect(good.code, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ activeStrategyKey: 'momentum', version: 1, configError: null });
    const broken = path.join(server.runtimeDir, 'config.yaml.broken');
    await writeFile(broken, 'active_strategy_key: gold\nscan_every: 3\n');
    await rename(broken, path.join(server.runtimeDir, 'config.yaml'));
    await vi.waitFor(
      async () => expect((await server.gql('{ status { configError { message } } }')).body.data?.status.configError).not.toBeNull(),
      { timeout: 10_000 },
    );
    const [get, status] = await Promise.all([
      stratctl(['config', 'get', '--json'], envFor(server)),
      stratctl(['status', '--json'], envFor(server)),
    ]);
    expect(get.code, get.stderr).toBe(0);
    const shown = JSON.parse(get.stdout);
    // The last good config (momentum, not the file's gold), and the marker status has, word for word.
    expect(shown).toMatchObject({ activeStrategyKey: 'momentum', version: 1 });
    expect(shown.configError).toEqual(JSON.parse(status.stdout).configError);
    expect(shown.configError.message).toMatch(/^config\.yaml: invalid config\n/);
  });

  it('an answer without the fields stratctl reads (another service at --url): one line saying so, exit 1, no stack', async () => {
    const other = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { status: { activeStrategyKey: 'gold' } } }));
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}/graphql`;
    try {
      const status = await stratctl(['status', '--url', url]);
      expect(status.code).toBe(1);
      expect(status.stderr).toMatch(
        new RegExp(`^error: the answer from ${url.replace(/[.]/g, '\\.')} is not what stratctl expects \\(.+\\)\\n`),
      );
      expect(status.stderr).not.toMatch(/\n\s+at /);
    } finally {
      other.close();
    }
  });

  it('config get prints the file keys; config set takes them, dotted overrides, YAML scalars', async () => {
    const server = await startTestServer();
    const env = envFor(server, { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    const set = await stratctl(
      ['config', 'set', 'scan_interval_seconds=15', 'trading_enabled=false', 'tunable_overrides.momentum.lookback_bars=20'],
      env,
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^changed .*scan_interval_seconds.*; config version 2$/m);
    const onDisk = await readConfig(server);
    expect(onDisk).toMatch(/^scan_interval_seconds: 15$/m);
    expect(onDisk).toMatch(/^trading_enabled: false$/m);
    expect(onDisk).toMatch(/^ {4}lookback_bars: 20$/m);

    const [get, getJson] = await Promise.all([stratctl(['config', 'get'], env), stratctl(['config', 'get', '--json'], env)]);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toMatch(/^active_strategy_key: momentum\ntrading_enabled: false\nscan_interval_seconds: 15\n/);
    expect(JSON.parse(getJson.stdout)).toMatchObject({ scanIntervalSeconds: 15, tunableOverrides: { momentum: { lookback_bars: 20 } } });

    const stale = await stratctl(['config', 'set', 'scan_interval_seconds=20', '--if-version', '1'], env);
    expect(stale.code).toBe(4);
    expect(stale.stderr).toContain('Config version conflict: expected 1, current 2');
    expect(await readConfig(server)).toMatch(/^scan_interval_seconds: 15$/m);

    const removed = await stratctl(['config', 'set', 'tunable_overrides.momentum.lookback_bars=null', '--if-version', '2', '--json'], env);
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout).config.tunableOverrides).toEqual({});
  });

  it('exit 2 for invalid input and usage, and says what to do next', async () => {
    const server = await startTestServer();
    const env = envFor(server, { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    const before = await readConfig(server);
    const [badKey, badRange, notInt32, unknownKey, notScalar, noKey, badFlag, badVersion, bigVersion] = await Promise.all([
      stratctl(['activate', 'invalid_strategy'], env),
      stratctl(['config', 'set', 'scan_interval_seconds=0'], env),
      // Over GraphQL's 32-bit Int: refused here, in the bound's words (GraphQL said only "Int cannot represent ...").
      stratctl(['config', 'set', 'scan_interval_seconds=3000000000', '--json'], env),
      stratctl(['config', 'set', 'scan_every=3'], env),
      stratctl(['config', 'set', 'trading_enabled=maybe'], env),
      stratctl(['activate'], env),
      stratctl(['status', '--colour'], env),
      stratctl(['activate', 'gold', '--if-version', 'two'], env),
      stratctl(['activate', 'gold', '--if-version', '99999999999'], env),
    ]);
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain('Invalid strategy key: invalid_strategy');
    expect(badKey.stderr).toContain('stratctl strategies');
    expect(badRange.code).toBe(2);
    // Named as config set takes it (and as its own checks name it: `scan_interval_seconds=abc`), not as GraphQL does.
    expect(badRange.stderr).toContain('error: Invalid config: scan_interval_seconds: ');
    expect(badRange.stderr).not.toContain('scanIntervalSeconds');
    expect(notInt32.code, notInt32.stderr).toBe(2);
    expect(JSON.parse(notInt32.stdout).error).toEqual({
      code: 'USAGE',
      message: 'stratctl config set: scan_interval_seconds: must be at most 86400 seconds (one day), not 3000000000',
    });
    expect(notInt32.stdout + notInt32.stderr).not.toContain('Int cannot represent');
    expect(unknownKey.code).toBe(2);
    expect(unknownKey.stderr).toContain('unknown key "scan_every"');
    expect(notScalar.code).toBe(2);
    expect(notScalar.stderr).toContain('expected true or false');
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toBe("stratctl activate: missing required argument 'strategy-key'\nsee stratctl activate --help\n");
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toBe("stratctl status: unknown option '--colour'\nsee stratctl status --help\n");
    expect(badVersion.code).toBe(2);
    // Over GraphQL's Int: the CLI's own words (it was the server's 'Variable "$expectedVersion" got invalid value').
    expect(bigVersion.code).toBe(2);
    expect(bigVersion.stderr).toContain('--if-version must be a config version (a whole number up to 2147483647), not "99999999999"');
    expect(await readConfig(server)).toBe(before);
  });

  it('exit 3 without a token or with a wrong one; the message says where tokens come from', async () => {
    const server = await startTestServer();
    const [none, wrong, read] = await Promise.all([
      stratctl(['activate', 'gold'], envFor(server)),
      stratctl(['activate', 'gold', '--token', 'not-the-token-0123456789'], envFor(server)),
      stratctl(['status', '--token', 'not-the-token-0123456789'], envFor(server)),
    ]);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('Authentication required');
    expect(none.stderr).toContain('--token');
    expect(none.stderr).toContain(path.join(server.runtimeDir, 'admin.token'));
    expect(wrong.code).toBe(3);
    // A token the user gave goes with reads too, so a wrong one fails a read loudly (test/e2e/stratctl-tokens.test.ts).
    expect(read.code).toBe(3);
    expect(read.stderr).toContain('Authentication required');
  });

  it('exit 2 when --url is not the GraphQL endpoint (the server answers 404 or 405), saying what --url must be', async () => {
    const server = await startTestServer();
    const [root, health, typo, json, json404] = await Promise.all([
      stratctl(['status', '--url', `${server.origin}/`]),
      stratctl(['status', '--url', `${server.origin}/health`]),
      stratctl(['activate', 'gold', '--url', `${server.origin}/graphq`, '--token', TEST_TOKEN]),
      stratctl(['status', '--json', '--url', server.origin]),
      stratctl(['status', '--json', '--url', `${server.origin}/graphql/`]),
    ]);
    expect(root.code, root.stderr).toBe(2);
    expect(root.stderr).toBe(
      `error: ${server.origin}/ is not a GraphQL endpoint: it answered HTTP 405 (Method Not Allowed)\n` +
        `--url / CONTROL_PLANE_URL must be the GraphQL endpoint itself, e.g. http://127.0.0.1:8787/graphql (now ${server.origin}/).\n`,
    );
    expect(health.code).toBe(2);
    expect(health.stderr).toContain(`${server.origin}/health is not a GraphQL endpoint: it answered HTTP 405`);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(`${server.origin}/graphq is not a GraphQL endpoint: it answered HTTP 404 (Not Found)`);
    expect(json.code).toBe(2);
    // One code for one mistake, however the wrong path answers (it was the server's own METHOD_NOT_ALLOWED or NOT_FOUND).
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        code: 'NOT_AN_ENDPOINT',
        message: `${server.origin} is not a GraphQL endpoint: it answered HTTP 405 (Method Not Allowed)`,
      },
    });
    expect(json404.code).toBe(2);
    expect(JSON.parse(json404.stdout).error.code).toBe('NOT_AN_ENDPOINT');
    expect(await readConfig(server)).not.toContain('gold');
  });

  it('exit 5 when nothing listens, exit 1 for an answer that is not GraphQL or a broken config file', async () => {
    const server = await startTestServer();
    const closed = await startTestServer();
    const closedUrl = closed.url;
    await closed.close();
    // Something that answers 200 with a web page (a proxy's, a wrong service's), not GraphQL.
    const page = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>'));
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    const pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}/graphql`;
    const [unreachable, notGraphql] = await Promise.all([
      stratctl(['status'], { CONTROL_PLANE_URL: closedUrl }),
      stratctl(['status', '--url', pageUrl]).finally(() => page.close()),
    ]);
    expect(unreachable.code).toBe(5);
    expect(unreachable.stderr).toContain(`cannot reach ${closedUrl}`);
    expect(unreachable.stderr).toContain('Is the control plane running');
    expect(notGraphql.code).toBe(1);
    expect(notGraphql.stderr).toContain(`${pageUrl} answered HTTP 200 with something other than GraphQL JSON`);

    await writeFile(path.join(server.runtimeDir, 'config.yaml'), 'active_strategy_key: [oops\n');
    await expect
      .poll(async () => (await server.gql('{ status { configError { message } } }')).body.data?.status.configError)
      .not.toBeNull();
    const refused = await stratctl(['activate', 'gold', '--token', TEST_TOKEN], envFor(server));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('config file on the server is invalid');
    // status says so once, naming the file once (the API's message already begins with it). Exit 0:
    // status got the status it reports (DESIGN's codes have none for "the system is unhealthy"; README).
    const status = await stratctl(['status'], envFor(server));
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^CONFIG FILE INVALID:\s+config\.yaml: invalid config$/m);
    expect(status.stdout).toMatch(/^\s+line \d+, column \d+: Flow sequence/m);
  });
});
