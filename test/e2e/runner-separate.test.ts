import { readdir, readFile, rename, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRunnerStateFile } from '../../src/runner/state-file.js';
import { faultyAuditFs } from '../helpers/faulty-audit-fs.js';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir, writeWhole } from '../helpers/runtime-dir.js';
import { spawnServer, spawnStratctl, startTestServer } from '../helpers/server.js';
import { stratctl } from '../helpers/stratctl.js';
import { waitUntil } from '../helpers/wait.js';

const TOKEN = 'separate-runner-token-0123456789';
// Long enough that a loaded machine does not starve a live runner into STALE (at 500 ms, a runner
// process held 1.5 s would read STALE); short enough to test quickly.
const HEARTBEAT_MS = 1000;
const STATUS = `{ status { configVersion configDigest configError { message }
  runner { state inSync appliedConfigVersion appliedPresetsVersion appliedConfigDigest appliedStrategyKey lastScanAt error staleAfterMs pid feed heartbeatAt
    lastSignals { instrument strategyKey direction } } } }`;

/** `stratctl serve --no-runner` and `stratctl runner` as two processes sharing only the runtime dir. */
async function startSeparate(runnerArgs: string[] = []) {
  const dir = await tempRuntimeDir();
  const api = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: TOKEN });
  const runner = spawnStratctl(['runner', '--runtime-dir', dir, '--heartbeat-ms', String(HEARTBEAT_MS), ...runnerArgs]);
  await runner.waitFor(/strategy runner started/);
  const status = async () => (await gql(api.url, STATUS)).body.data?.status;
  return { dir, api, runner, status };
}

describe('separate runner process (stratctl runner beside serve --no-runner)', () => {
  it('applies an activation made over HTTP; status shows the applied version; waitForRunner sees it', async () => {
    const { api, runner, status } = await startSeparate();
    const first = await waitUntil(status, (s) => s.runner.state === 'RUNNING' && s.runner.lastScanAt !== null, { what: 'runner up' });
    expect(first.runner).toMatchObject({ appliedConfigVersion: 1, appliedStrategyKey: 'momentum', pid: runner.proc.pid, feed: 'sim:42' });
    expect(first.runner.staleAfterMs).toBe(3 * HEARTBEAT_MS);

    const res = await gql(
      api.url,
      'mutation { activateStrategy(strategyKey: "eur_usd_5m_safe", waitForRunner: true, timeoutMs: 15000) { configVersion runnerWait { applied waitedMs } } }',
      undefined,
      { token: TOKEN },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.activateStrategy).toMatchObject({ configVersion: 2, runnerWait: { applied: true } });
    const after = await status();
    expect(after.runner).toMatchObject({ state: 'RUNNING', inSync: true, appliedConfigVersion: 2, appliedStrategyKey: 'eur_usd_5m_safe' });
    expect(after.runner.appliedConfigDigest).toBe(after.configDigest);
    const scanned = await waitUntil(status, (s) => s.runner.lastSignals[0]?.strategyKey === 'eur_usd_5m_safe', { what: 'rescan' });
    expect(scanned.runner.lastSignals.map((s: { instrument: string }) => s.instrument)).toEqual(['EUR_USD']);
    // The runner tells an API write from a hand edit by the API's audit line: who made it, not "config changed" (source handEdit).
    await runner.waitFor(
      /config version 2: activateStrategy by admin, through the API \(activeStrategyKey: "momentum" -> "eur_usd_5m_safe"\)/,
    );
    expect(runner.stdout() + runner.stderr()).not.toContain('config changed');
    expect(runner.stdout() + runner.stderr()).not.toContain('handEdit');
  });

  it('a config hand edit naming a preset not there yet goes in once the preset is added through the API: a read after the answer sees it, and the runner applies it and the preset changes after it', async () => {
    const { dir, api, status } = await startSeparate();
    await waitUntil(status, (s) => s.runner.state === 'RUNNING' && s.runner.appliedConfigVersion === 1, { what: 'runner up' });
    const file = path.join(dir, 'config.yaml');
    await writeWhole(file, (await readFile(file, 'utf8')).replace(/^active_strategy_key: .*$/m, 'active_strategy_key: new_p'));
    const invalid = await waitUntil(status, (s) => s.configError !== null, { what: 'the edit reported invalid' });
    expect(invalid.configError.message).toContain('Invalid strategy key: new_p');
    const upsert = (tunables: string) =>
      gql(
        api.url,
        `mutation { upsertPreset(input: { key: "new_p", base: "range", name: "New P", tunables: ${tunables} }) { presetsVersion changed } }`,
        undefined,
        { token: TOKEN },
      );
    expect((await upsert('{}')).body.data?.upsertPreset).toEqual({ presetsVersion: 1, changed: true });
    // It stayed invalid, /ready 503 and every config change refused, until serve was restarted.
    const inForce = await status();
    expect(inForce).toMatchObject({ configError: null, configVersion: 2 });
    expect((await fetch(`${new URL(api.url).origin}/ready`)).status).toBe(200);
    await waitUntil(status, (s) => s.runner.appliedStrategyKey === 'new_p' && s.runner.inSync, { what: 'the runner on new_p' });
    // A later change of the preset in force reaches the runner (it stayed on presets version 1,
    // waiting for the API to record a hand edit it never would).
    expect((await upsert('{ band_std_dev: 3 }')).body.data?.upsertPreset).toEqual({ presetsVersion: 2, changed: true });
    const applied = await waitUntil(status, (s) => s.runner.appliedPresetsVersion === 2, { what: 'presets version 2 applied' });
    expect(applied.runner).toMatchObject({ state: 'RUNNING', inSync: true, error: null, appliedStrategyKey: 'new_p' });
  });

  it('goes STALE within the documented time (3 heartbeats) when the runner is killed; the API’s /ready stays 200', async () => {
    const { api, runner, status } = await startSeparate();
    await waitUntil(status, (s) => s.runner.state === 'RUNNING', { what: 'runner up' });
    // Alive on its own: heartbeats keep it RUNNING well past the stale threshold.
    await new Promise((r) => setTimeout(r, 5 * HEARTBEAT_MS));
    expect((await status()).runner.state).toBe('RUNNING');
    expect((await fetch(`${new URL(api.url).origin}/ready`)).status).toBe(200);
    const killedAt = Date.now();
    await runner.stop('SIGKILL');
    const stale = await waitUntil(status, (s) => s.runner.state === 'STALE', { what: 'STALE', intervalMs: 25, timeoutMs: 10_000 });
    const seenAt = Date.now();
    // Documented: STALE at most 3 heartbeats + 0.25 s after the last heartbeat (plus this poll's own
    // latency, and the API process's on a loaded machine).
    const lastHeartbeat = Date.parse(stale.runner.heartbeatAt);
    expect(lastHeartbeat).toBeLessThanOrEqual(killedAt + 50);
    expect(seenAt - lastHeartbeat).toBeLessThanOrEqual(3 * HEARTBEAT_MS + 250 + 2_500);
    expect(stale.runner.appliedConfigVersion).toBe(1); // what it last applied is still reported
    // The log says it too, once, at WARN, with the runner and its last heartbeat as fields (not only /ready and metrics).
    await api.waitFor(/runner \S+ is STALE: no heartbeat since/, 5_000);
    const staleLines = (api.stdout() + api.stderr()).split('\n').filter((l) => l.includes(' is STALE: no heartbeat since'));
    expect(staleLines).toHaveLength(1);
    expect(staleLines[0]).toMatch(/ WARN {2}runner \S+ is STALE: .* runner=\S+ state=STALE previous=RUNNING heartbeatAt=\S+/);
    expect(staleLines[0]).toContain(`heartbeatAt=${stale.runner.heartbeatAt}`);
    // /ready reflects this process only: a dead runner elsewhere shows in status, never takes the API out of a load balancer.
    const ready = await fetch(`${new URL(api.url).origin}/ready`);
    expect(ready.status).toBe(200);
    expect((await ready.json()).reasons).toEqual([]);
  });

  it('a runner whose --instruments hold none of the active strategy’s stays RUNNING (its account idles) and says so in its log once per change; an instrument no strategy trades is refused at start', async () => {
    // A typo: no strategy trades EUR_UDS, so such a runner would scan nothing whatever is active.
    const typo = await stratctl(['runner', '--runtime-dir', await tempRuntimeDir(), '--instruments', 'EUR_USD,EUR_UDS']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(
      '--instruments: no strategy trades EUR_UDS (the strategies trade AUD_NZD, AUD_USD, EUR_CHF, EUR_GBP, EUR_USD,',
    );

    // momentum (the default) trades EUR_USD, GBP_USD, USD_JPY; gold XAU_USD; range EUR_GBP, AUD_NZD, EUR_CHF.
    // The metals account's runner (README, "Runners, one per account"): idle while an FX strategy is active.
    const { api, runner, status } = await startSeparate(['--instruments', 'XAU_USD']);
    const idle = await waitUntil(status, (s) => s.runner.state === 'RUNNING' && s.runner.lastScanAt !== null, { what: 'runner scanned' });
    expect(idle.runner).toMatchObject({ error: null, lastSignals: [] });
    const env = { CONTROL_PLANE_URL: api.url, CONTROL_PLANE_TOKEN: TOKEN };

    // Its market's strategy: it scans it.
    const gold = await stratctl(['activate', 'gold', '--wait', '--timeout-ms', '15000'], env);
    expect(gold.code, gold.stderr).toBe(0);
    expect(gold.stdout).toMatch(/\nthe runner applied it \(\d+ ms\)\n$/);
    const scanning = await waitUntil(status, (s) => s.runner.lastSignals[0]?.strategyKey === 'gold', { what: 'gold scanned' });
    expect(scanning.runner).toMatchObject({ state: 'RUNNING', error: null });

    // Another market's: taken, and idle again; not an error (the fleet would read ERROR in that normal setup).
    const range = await stratctl(['activate', 'range', '--wait', '--timeout-ms', '15000'], env);
    expect(range.code, range.stderr).toBe(0);
    const after = await waitUntil(status, (s) => s.runner.appliedStrategyKey === 'range' && s.runner.lastSignals.length === 0, {
      what: 'range taken, nothing scanned',
    });
    expect(after.runner).toMatchObject({ state: 'RUNNING', error: null });

    // Logged once per change of the condition (momentum at start, then range), not per publish or scan.
    const warned = await waitUntil(
      async () =>
        runner
          .stderr()
          .split('\n')
          .filter((l) => / WARN {2}runner covers none of/.test(l)),
      (lines) => lines.length >= 2,
      { what: 'the second WARN' },
    );
    expect(warned.map((l) => l.match(/strategy=(\w+)/)?.[1])).toEqual(['momentum', 'range']);
    expect(warned[1]).toContain(
      "covers none of range's instruments (EUR_GBP, AUD_NZD, EUR_CHF): this runner scans only --instruments XAU_USD, so it scans nothing until a strategy trading them is active",
    );
    expect(runner.stderr()).toContain("runner covers gold's instruments again");
  });

  it('control_plane_signals_total counts the signals of scans whose state the API never saw (the API held still while the runner scanned on)', async () => {
    const { api, status } = await startSeparate();
    await waitUntil(status, (s) => s.runner.state === 'RUNNING', { what: 'runner up' });
    const set = await gql(api.url, 'mutation { updateConfig(input: { scanIntervalSeconds: 1 }) { config { version } } }', undefined, {
      token: TOKEN,
    });
    expect(set.body.errors).toBeUndefined();
    const metrics = async () => {
      const text = await (await fetch(`${new URL(api.url).origin}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      const sum = (name: string) =>
        text
          .split('\n')
          .filter((l) => l.startsWith(`${name}{`))
          .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
      return { scans: sum('control_plane_runner_scans_total'), signals: sum('control_plane_signals_total') };
    };
    const before = await waitUntil(metrics, (m) => m.scans >= 2, { what: 'two scans counted' });
    // momentum (in force throughout) has 3 instruments, and the sim feed never fails: 3 signals a scan.
    expect(before.signals).toBe(3 * before.scans);
    // The API stopped while the runner scans about three times a second apart: it sees only the last state.
    api.proc.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 3500));
    api.proc.kill('SIGCONT');
    const after = await waitUntil(metrics, (m) => m.scans >= before.scans + 3, { what: 'the scans meanwhile counted' });
    expect(after.signals).toBe(3 * after.scans);
  });

  it('reports STOPPED after a clean stop (SIGTERM)', async () => {
    const { api, runner, status } = await startSeparate();
    await waitUntil(status, (s) => s.runner.state === 'RUNNING', { what: 'runner up' });
    expect(await runner.stop('SIGTERM')).toBe(0);
    await waitUntil(status, (s) => s.runner.state === 'STOPPED', { what: 'STOPPED', timeoutMs: 5_000 });
    // A wait with no runner running waits for one to start: the answer says so, and names the stopped one.
    const res = await gql(
      api.url,
      'mutation { activateStrategy(strategyKey: "gold", waitForRunner: true, timeoutMs: 300) { runnerWait { applied notWaitedFor message } } }',
      undefined,
      { token: TOKEN },
    );
    const id = `${hostname()}:${runner.proc.pid}`;
    expect(res.body.data?.activateStrategy.runnerWait).toEqual({
      applied: false,
      notWaitedFor: [`${id} STOPPED`],
      message: `timed out after 300 ms: no live runner to wait for (${id} STOPPED, last applied version 1); the change is saved, and a runner applies it when one starts`,
    });
  });

  it('a no-op --wait with the only runner STOPPED: no live runner to wait for, naming its state and the version it applied (this one), exit 6', async () => {
    const { api, runner, status } = await startSeparate();
    await waitUntil(status, (s) => s.runner.state === 'RUNNING' && s.runner.inSync, { what: 'runner up, in sync' });
    expect(await runner.stop('SIGTERM')).toBe(0);
    await waitUntil(status, (s) => s.runner.state === 'STOPPED', { what: 'STOPPED', timeoutMs: 5_000 });
    const id = `${hostname()}:${runner.proc.pid}`;
    const env = { CONTROL_PLANE_TOKEN: TOKEN };
    const url = ['--url', api.url];
    const said = (timeoutMs: number) =>
      `timed out after ${timeoutMs} ms: no live runner to wait for (${id} STOPPED, last applied version 1: this one); nothing changed (version 1 was already in force), and a runner applies it when one starts`;
    const next =
      'No runner is live (RUNNING or ERROR) to apply it: start one ("stratctl runner", or "stratctl serve" without --no-runner), or see "stratctl status"; --timeout-ms waits longer for one that is starting.\n';
    // It said "the runner has not applied it" of the runner that applied version 1 before it stopped.
    const activate = spawnStratctl(['activate', 'momentum', '--wait', '--timeout-ms', '300', ...url], env);
    expect(await activate.exited).toBe(6);
    await activate.closed;
    expect(activate.stdout()).toBe(`momentum was already active (config version 1)\n${said(300)}\n`);
    expect(activate.stderr()).toBe(`error: momentum was already active (config version 1), but ${said(300)}\n${next}`);
    const set = spawnStratctl(['config', 'set', 'scan_interval_seconds=30', '--wait', '--timeout-ms', '200', ...url], env);
    expect(await set.exited).toBe(6);
    await set.closed;
    expect(set.stdout()).toMatch(/^nothing changed; config version 1\n/);
    expect(set.stdout().endsWith(`\n${said(200)}\n`), set.stdout()).toBe(true);
    expect(set.stderr()).not.toContain('has not applied');
    expect(set.stderr()).toContain(said(200));
    const json = spawnStratctl(['activate', 'momentum', '--wait', '--timeout-ms', '100', '--json', ...url], env);
    expect(await json.exited).toBe(6);
    await json.closed;
    expect(JSON.parse(json.stdout())).toMatchObject({
      changed: false,
      runnerWait: { applied: false, runnerState: 'STOPPED', waitedFor: [], notWaitedFor: [`${id} STOPPED`], message: said(100) },
      error: { code: 'WAIT_TIMEOUT', message: said(100) },
    });
    expect((await status()).configVersion).toBe(1);
  });

  it('never applies a change the API refused because its audit line could not be written (renamed into place, then undone)', async () => {
    const faults = faultyAuditFs();
    const dir = await tempRuntimeDir();
    const api = await startTestServer({ runtimeDir: dir, runner: false, fs: faults.fs });
    const runner = spawnStratctl(['runner', '--runtime-dir', dir, '--heartbeat-ms', String(HEARTBEAT_MS)]);
    await runner.waitFor(/strategy runner started/);
    const activate = (key: string) => api.gql(`mutation { activateStrategy(strategyKey: "${key}") { configVersion } }`);
    expect((await activate('gold')).body.data?.activateStrategy.configVersion).toBe(2);
    await runner.waitFor(/runner applied config version 2 .*: gold/);
    // The audit append fails after 400 ms: the refused config sits in config.yaml that long, then is undone.
    faults.fail('append', 'ENOSPC', 400);
    for (const key of ['range', 'momentum_v2']) {
      const refused = await activate(key);
      expect(refused.status).toBe(503);
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('CONFIG_WRITE_FAILED');
    }
    faults.heal();
    expect((await activate('eur_usd_5m_safe')).body.data?.activateStrategy.configVersion).toBe(3);
    await runner.waitFor(/runner applied config version 3 .*: eur_usd_5m_safe/);
    const applied = runner.stderr().match(/runner applied config version \d+ \([^)]*\), presets version \d+: \w+/g);
    expect(applied?.map((line) => line.replace(/ \(.*\)/, ''))).toEqual([
      'runner applied config version 1, presets version 0: momentum',
      'runner applied config version 2, presets version 0: gold',
      'runner applied config version 3, presets version 0: eur_usd_5m_safe',
    ]);
  });

  /** audit.log replaced by a symlink to a file outside the runtime dir: the API can no longer open it (O_NOFOLLOW). */
  async function auditLogUnwritable(dir: string): Promise<() => Promise<void>> {
    const log = path.join(dir, 'audit.log');
    const elsewhere = path.join(await tempRuntimeDir(), 'audit.log');
    await rename(log, elsewhere);
    await symlink(elsewhere, log);
    return async () => {
      await unlink(log);
      await rename(elsewhere, log);
    };
  }
  const appliedLines = (runner: { stderr(): string }) =>
    (runner.stderr().match(/runner applied config version \d+ \([^)]*\), presets version \d+: \w+/g) ?? []).map((line) =>
      line.replace(/ \(.*\)/, ''),
    );
  /** Until the runner applied the edit, or says it waits for the API to record it. */
  const waitedOrApplied = (status: () => Promise<any>, key: string) =>
    waitUntil(status, (s) => s.runner.appliedStrategyKey === key || /waiting for the API/.test(s.runner.error ?? ''), {
      what: `the runner to apply ${key} or wait for the API`,
    });

  it('never applies a hand edit the API keeps out because its audit line cannot be written (audit.log replaced), and applies it once the API records it', async () => {
    const { dir, runner, status } = await startSeparate();
    await waitUntil(status, (s) => s.runner.state === 'RUNNING' && s.runner.appliedConfigVersion === 1, { what: 'runner up' });
    const restore = await auditLogUnwritable(dir);
    const config = path.join(dir, 'config.yaml');
    await writeWhole(config, (await readFile(config, 'utf8')).replace('active_strategy_key: momentum', 'active_strategy_key: gold'));
    // The API keeps it out (configError), and says why.
    const refused = await waitUntil(status, (s) => s.configError !== null, { what: 'the API to keep the edit out' });
    expect(refused.configError.message).toContain('this hand edit is not in force: it could not be recorded in audit.log (audit open,');
    // Past the runner's grace (2 s) with nothing recorded: the runner waits for the API, it does not run gold.
    const waiting = await waitedOrApplied(status, 'gold');
    expect(waiting.runner).toMatchObject({ state: 'ERROR', inSync: true, appliedConfigVersion: 1, appliedStrategyKey: 'momentum' });
    expect(waiting.runner.error).toMatch(
      /^config file invalid, keeping version 1: config\.yaml: invalid config\n {2}this hand edit is not applied yet: waiting for the API to record this hand edit in audit\.log \(process \d+ on \S+ serves this runtime directory\); applied once its line is there$/,
    );
    expect(waiting).toMatchObject({ configVersion: 1, configDigest: waiting.runner.appliedConfigDigest });
    // Said once in the runner's log (the check runs every second), at WARN.
    await runner.waitFor(/WARN {2}a hand edit of config\.yaml is not applied: waiting for the API to record this hand edit in audit\.log/);
    // audit.log back: the API records the edit (version 2) and puts it in force; the runner follows.
    await restore();
    const agreed = await waitUntil(
      status,
      (s) => s.configVersion === 2 && s.runner.appliedConfigVersion === 2 && s.runner.state === 'RUNNING' && s.runner.error === null,
      { what: 'both at version 2' },
    );
    expect(agreed).toMatchObject({ configError: null, runner: { inSync: true, appliedStrategyKey: 'gold' } });
    expect((await auditLines(dir)).map((l) => `${l.version} ${l.operation} ${l.actor}`)).toEqual(['1 baseline system', '2 handEdit file']);
    expect(appliedLines(runner)).toEqual([
      'runner applied config version 1, presets version 0: momentum',
      'runner applied config version 2, presets version 0: gold',
    ]);
    expect(runner.stderr().match(/a hand edit of config\.yaml is not applied/g)).toHaveLength(1);
  });

  it('a full disk (ENOSPC at the audit append): a hand edit of strategies.yaml the API cannot record is not applied by the runner either, until the API records it', async () => {
    const faults = faultyAuditFs();
    const dir = await tempRuntimeDir();
    const api = await startTestServer({ runtimeDir: dir, runner: false, fs: faults.fs });
    const upsert = await api.gql(
      'mutation { upsertPreset(input: { key: "gold_fast", base: "gold", name: "Gold fast" }) { presetsVersion } }',
    );
    expect(upsert.body.data?.upsertPreset.presetsVersion).toBe(1);
    const runner = spawnStratctl(['runner', '--runtime-dir', dir, '--heartbeat-ms', String(HEARTBEAT_MS)]);
    const PRESETS = '{ status { presetsVersion strategiesError { message } runner { appliedPresetsVersion } } }';
    const presets = async () => (await api.gql(PRESETS)).body.data?.status;
    await waitUntil(presets, (s) => s.runner.appliedPresetsVersion === 1, { what: 'runner at presets 1' });
    faults.fail('append', 'ENOSPC');
    const file = path.join(dir, 'strategies.yaml');
    await writeWhole(file, (await readFile(file, 'utf8')).replace('name: Gold fast', 'name: Gold faster'));
    const refused = await waitUntil(presets, (s) => s.strategiesError !== null, { what: 'the API to keep the edit out' });
    expect(refused.strategiesError.message).toContain(
      'this hand edit is not in force: it could not be recorded in audit.log (audit append, ENOSPC)',
    );
    // Past the runner's grace: it waits for the API (its log says so once), it does not apply presets version 2.
    const decided = await waitUntil(
      async () => ({ status: await presets(), log: runner.stderr() }),
      (v) => v.status.runner.appliedPresetsVersion === 2 || /a hand edit of strategies\.yaml is not applied/.test(v.log),
      { what: 'the runner to apply presets 2 or wait for the API' },
    );
    expect(decided.status).toMatchObject({ presetsVersion: 1, runner: { appliedPresetsVersion: 1 } });
    expect(decided.log).toContain(
      'a hand edit of strategies.yaml is not applied: waiting for the API to record this hand edit in audit.log (process',
    );
    // Space again: the API records the edit at its next check, and the runner follows.
    faults.heal();
    const agreed = await waitUntil(presets, (s) => s.presetsVersion === 2 && s.runner.appliedPresetsVersion === 2, {
      what: 'both at presets 2',
    });
    expect(agreed.strategiesError).toBeNull();
  });

  it('a backup copied back over config.yaml (the bytes of an earlier recorded version) while audit.log cannot be written: not applied either', async () => {
    const { dir, api, runner, status } = await startSeparate();
    await waitUntil(status, (s) => s.runner.state === 'RUNNING', { what: 'runner up' });
    const config = path.join(dir, 'config.yaml');
    const backup = await readFile(config, 'utf8'); // version 1, momentum: recorded by the baseline line
    const gold = await gql(api.url, 'mutation { activateStrategy(strategyKey: "gold") { configVersion } }', undefined, { token: TOKEN });
    expect(gold.body.data?.activateStrategy.configVersion).toBe(2);
    await waitUntil(status, (s) => s.runner.appliedConfigVersion === 2, { what: 'runner at 2' });
    await auditLogUnwritable(dir);
    await writeWhole(config, backup);
    const refused = await waitUntil(status, (s) => s.configError !== null, { what: 'the API to keep the backup out' });
    expect(refused.configVersion).toBe(2); // gold, the API's: the backup is kept out
    const waiting = await waitedOrApplied(status, 'momentum');
    expect(waiting.runner).toMatchObject({ state: 'ERROR', inSync: true, appliedConfigVersion: 2, appliedStrategyKey: 'gold' });
    expect(waiting.runner.error).toContain('waiting for the API to record this hand edit in audit.log');
    expect(appliedLines(runner)).toEqual([
      'runner applied config version 1, presets version 0: momentum',
      'runner applied config version 2, presets version 0: gold',
    ]);
  });

  it('a hand edit the API could not record goes in force as it stands once no API serves the directory (a runner alone keeps the 2 s grace)', async () => {
    const { dir, api, runner, status } = await startSeparate();
    await waitUntil(status, (s) => s.runner.state === 'RUNNING', { what: 'runner up' });
    await auditLogUnwritable(dir);
    const config = path.join(dir, 'config.yaml');
    await writeWhole(config, (await readFile(config, 'utf8')).replace('active_strategy_key: momentum', 'active_strategy_key: range'));
    const waiting = await waitedOrApplied(status, 'range');
    expect(waiting.runner).toMatchObject({ appliedStrategyKey: 'momentum' });
    expect(await api.stop('SIGTERM')).toBe(0);
    // Nobody holds .lock now: the edit is a hand edit with no API running, taken as it stands (numbered last audited + 1).
    await runner.waitFor(/runner applied config version 2 .*: range/);
    const state = await waitUntil(
      () => readRunnerStateFile(dir),
      (s) => s?.applied?.strategyKey === 'range' && s.error === null,
      { what: 'the runner state file at range, no error' },
    );
    expect(state?.applied).toMatchObject({ configVersion: 2, strategyKey: 'range' });
  });

  it('numbers a hand edit that leaves `version` alone as the API does (last audited + 1), for the config and the presets', async () => {
    const { dir, api, runner, status } = await startSeparate();
    await waitUntil(status, (s) => s.runner.state === 'RUNNING', { what: 'runner up' });
    const write = (query: string, variables?: Record<string, unknown>) => gql(api.url, query, variables, { token: TOKEN });
    for (const key of ['gold', 'range']) {
      expect(
        (await write('mutation($k: String!) { activateStrategy(strategyKey: $k) { configVersion } }', { k: key })).body.errors,
      ).toBeUndefined();
    }
    const upsert = await write(
      'mutation { upsertPreset(input: { key: "gold_fast", base: "gold", name: "Gold fast" }) { presetsVersion } }',
    );
    expect(upsert.body.data?.upsertPreset.presetsVersion).toBe(1);
    const VERSIONS =
      '{ status { configVersion configDigest presetsVersion runner { appliedConfigVersion appliedConfigDigest appliedPresetsVersion } } }';
    const versions = async () => (await gql(api.url, VERSIONS)).body.data?.status;
    await waitUntil(versions, (s) => s.runner.appliedConfigVersion === 3 && s.runner.appliedPresetsVersion === 1, {
      what: 'runner at 3 and 1',
    });

    // Hand edits that keep the file's `version` (3; presets 1): the API audits them as 4 and 2, and so must the runner.
    const config = path.join(dir, 'config.yaml');
    await writeWhole(config, (await readFile(config, 'utf8')).replace(/scan_interval_seconds: \d+/, 'scan_interval_seconds: 21'));
    const presets = path.join(dir, 'strategies.yaml');
    await writeWhole(presets, (await readFile(presets, 'utf8')).replace('name: Gold fast', 'name: Gold faster'));
    const after = await waitUntil(
      versions,
      (s) => s.configVersion === 4 && s.presetsVersion === 2 && s.runner.appliedConfigDigest === s.configDigest,
      {
        what: 'both edits in force on both sides',
      },
    );
    await waitUntil(versions, (s) => s.runner.appliedPresetsVersion === 2, { what: 'the runner at presets 2' }).catch(() => undefined);
    const final = await versions();
    expect(final.runner).toEqual({ appliedConfigVersion: 4, appliedConfigDigest: after.configDigest, appliedPresetsVersion: 2 });
    // The runner's log: the API's changes by who made them (the API's audit lines), the hand edits as changes from the files.
    const said = (runner.stdout() + runner.stderr())
      .split('\n')
      .flatMap(
        (line) => line.match(/(?:config|presets) (?:version \d+: \w+ by \w+, through the API|changed; now in force: version \d+)/) ?? [],
      );
    // Version 2 may be passed over (the runner reads the files once both activations are written), and
    // changes read together come in either order.
    expect(said.filter((line) => line !== 'config version 2: activateStrategy by admin, through the API').sort()).toEqual([
      'config changed; now in force: version 4',
      'config version 3: activateStrategy by admin, through the API',
      'presets changed; now in force: version 2',
      'presets version 1: upsertPreset by admin, through the API',
    ]);
  });

  it('keeps scanning the last good config through an invalid hand edit, reports it, and recovers', async () => {
    const { dir, status } = await startSeparate();
    const good = await waitUntil(status, (s) => s.runner.state === 'RUNNING', { what: 'runner up' });
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, 'active_strategy_key: momentum\ntrading_enabled: maybe\n');
    // Two processes notice the edit, each on its own schedule: the runner (ERROR) and the API (configError).
    const broken = await waitUntil(status, (s) => s.runner.state === 'ERROR' && s.configError !== null, { what: 'ERROR' });
    expect(broken.runner.error).toMatch(/config file invalid, keeping version 1/);
    expect(broken.runner.appliedConfigDigest).toBe(good.runner.appliedConfigDigest);
    expect(broken.configError).not.toBeNull();
    await writeFile(
      file,
      'active_strategy_key: gold\ntrading_enabled: true\nscan_interval_seconds: 30\ntunable_overrides: {}\nversion: 1\nupdated_at: 2026-11-28T00:00:00Z\n',
    );
    const fixed = await waitUntil(status, (s) => s.runner.appliedStrategyKey === 'gold' && s.runner.state === 'RUNNING', {
      what: 'recovery',
    });
    expect(fixed.runner).toMatchObject({ error: null, inSync: true });
  });

  it('replays candles from a CSV file (--feed csv:<file>) and reports the signals they give', async () => {
    const dir = await tempRuntimeDir();
    const csv = path.join(dir, 'gold.csv');
    // 60 rising bars of XAU_USD: fast MA above slow MA, so gold says LONG on the replayed candles.
    const rows = Array.from({ length: 60 }, (_, i) => {
      const t = new Date(Date.parse('2026-03-02T13:00:00Z') + i * 60_000).toISOString();
      return `${t},XAU_USD,${2000 + i - 1},${2000 + i + 0.5},${2000 + i - 1.5},${2000 + i}`;
    });
    await writeFile(csv, `time,instrument,open,high,low,close\n${rows.join('\n')}\n`);
    await writeFile(
      path.join(dir, 'config.yaml'),
      'active_strategy_key: gold\ntrading_enabled: true\nscan_interval_seconds: 1\ntunable_overrides: {}\nversion: 1\nupdated_at: 2026-11-28T00:00:00Z\n',
    );
    const api = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: TOKEN });
    const runner = spawnStratctl(['runner', '--runtime-dir', dir, '--feed', `csv:${csv}`]);
    await runner.waitFor(/strategy runner started .* feed csv:/);
    const q = '{ status { runner { feed lastSignals { instrument strategyKey direction reason candleTime } } } }';
    const s = await waitUntil(
      async () => (await gql(api.url, q)).body.data?.status,
      (st) => st.runner.lastSignals[0]?.candleTime === '2026-03-02T13:59:00.000Z',
      { what: 'replay to the last candle', timeoutMs: 15_000 },
    );
    expect(s.runner.feed).toBe('csv:gold.csv');
    expect(s.runner.lastSignals[0]).toMatchObject({ instrument: 'XAU_USD', strategyKey: 'gold', direction: 'LONG' });
  });

  it('says when a CSV replay has ended: the last window is scanned again, the runner ERROR with why, one WARN in its log', async () => {
    const dir = await tempRuntimeDir();
    const csv = path.join(dir, 'gold.csv');
    // 60 rising bars (gold says LONG), fewer than the warm-up: the first scan sees them all, the next none new.
    const rows = Array.from({ length: 60 }, (_, i) => {
      const t = new Date(Date.parse('2026-03-02T13:00:00Z') + i * 60_000).toISOString();
      return `${t},XAU_USD,${2000 + i - 1},${2000 + i + 0.5},${2000 + i - 1.5},${2000 + i}`;
    });
    await writeFile(csv, `time,instrument,open,high,low,close\n${rows.join('\n')}\n`);
    await writeFile(
      path.join(dir, 'config.yaml'),
      'active_strategy_key: gold\ntrading_enabled: true\nscan_interval_seconds: 1\ntunable_overrides: {}\nversion: 1\nupdated_at: 2026-11-28T00:00:00Z\n',
    );
    const api = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: TOKEN });
    const runner = spawnStratctl(['runner', '--runtime-dir', dir, '--feed', `csv:${csv}`]);
    await runner.waitFor(/strategy runner started .* feed csv:/);
    const q = '{ status { runner { state error lastScanAt lastSignals { instrument direction candleTime error } } } }';
    const status = async () => (await gql(api.url, q)).body.data?.status;
    const note = 'csv feed ended at 2026-03-02T13:59:00.000Z for XAU_USD: the last window is scanned again';
    const ended = await waitUntil(status, (st) => st.runner.state === 'ERROR', { what: 'the replay ended', timeoutMs: 15_000 });
    // The signal stands (what the last bars say), marked as not new; the runner says why it is ERROR.
    expect(ended.runner.error).toBe(note);
    expect(ended.runner.lastSignals).toEqual([
      { instrument: 'XAU_USD', direction: 'LONG', candleTime: '2026-03-02T13:59:00.000Z', error: note },
    ]);
    await runner.waitFor(/WARN {2}csv feed ended at 2026-03-02T13:59:00\.000Z for XAU_USD: the last window is scanned again/);
    // Scans go on (a file appended to is not read again: a restart replays it); the log says it once, not every scan.
    const later = await waitUntil(status, (st) => st.runner.lastScanAt !== ended.runner.lastScanAt, {
      what: 'a later scan',
      timeoutMs: 15_000,
    });
    expect(later.runner).toMatchObject({ state: 'ERROR', error: note });
    // (and the state's change to ERROR once, as for any error).
    const lines = (runner.stdout() + runner.stderr()).split('\n').filter((l) => l.includes('csv feed ended at'));
    expect(lines.filter((l) => l.includes(' WARN '))).toHaveLength(1);
    expect(lines.filter((l) => l.includes(' ERROR runner '))).toHaveLength(1);
    expect(lines).toHaveLength(2);
  });

  it('refuses a feed it cannot read with exit code 2 and the reason', async () => {
    const dir = await tempRuntimeDir();
    const runner = spawnStratctl(['runner', '--runtime-dir', dir, '--feed', `csv:${path.join(dir, 'missing.csv')}`]);
    expect(await runner.exited).toBe(2);
    expect(runner.stderr()).toMatch(/cannot open the feed: cannot read .*missing\.csv/);
  });

  it('refuses a runtime directory that does not exist (a typo): exit 2, and nothing is made there', async () => {
    const missing = path.join(await tempRuntimeDir(), 'runtiem');
    const runner = spawnStratctl(['runner', '--runtime-dir', missing]);
    expect(await runner.exited).toBe(2);
    expect(runner.stderr()).toContain(`${missing} is not a runtime directory (no such directory)`);
    await expect(stat(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('starts on an invalid config.yaml: reports it in its state, and starts scanning once the file is fixed', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, 'active_strategy_key: golden\n');
    const runner = spawnStratctl(['runner', '--runtime-dir', dir, '--heartbeat-ms', String(HEARTBEAT_MS)]);
    const waiting = await waitUntil(
      () => readRunnerStateFile(dir),
      (s) => s?.error != null,
      { what: 'error state' },
    );
    expect(waiting?.error).toMatch(/^config file invalid: config\.yaml: invalid config/);
    expect(waiting?.applied).toBeNull();
    expect(runner.proc.exitCode).toBeNull();
    await writeFile(
      file,
      'active_strategy_key: range\ntrading_enabled: true\nscan_interval_seconds: 30\ntunable_overrides: {}\nversion: 3\nupdated_at: 2026-11-28T00:00:00Z\n',
    );
    await runner.waitFor(/strategy runner started/);
    const running = await waitUntil(
      () => readRunnerStateFile(dir),
      (s) => s?.lastScanAt != null,
      { what: 'first scan' },
    );
    expect(running).toMatchObject({ error: null, applied: { strategyKey: 'range', configVersion: 3 } });
  });

  it('alone in an empty runtime dir it writes nothing: it reports config.yaml missing (as itself: --runner-id, --instruments) and starts once serve writes it', async () => {
    const dir = await tempRuntimeDir();
    const runner = spawnStratctl([
      'runner',
      '--runtime-dir',
      dir,
      '--heartbeat-ms',
      String(HEARTBEAT_MS),
      '--runner-id',
      'acct-gold',
      '--instruments',
      'XAU_USD',
    ]);
    const waiting = await waitUntil(
      () => readRunnerStateFile(dir),
      (s) => s?.error != null,
      { what: 'the runner waiting' },
    );
    expect(waiting).toMatchObject({ id: 'acct-gold', instruments: ['XAU_USD'], applied: null, pid: runner.proc.pid });
    expect(waiting?.error).toMatch(/^config file invalid: config\.yaml: .*the file is missing; a runner does not write it/s);
    await new Promise((r) => setTimeout(r, 1500));
    expect(runner.proc.exitCode).toBeNull();
    expect((await readdir(dir)).filter((f) => !f.startsWith('.')).sort()).toEqual(['runner-state.json']);

    const api = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: TOKEN });
    await runner.waitFor(/strategy runner started/);
    const running = await waitUntil(
      () => readRunnerStateFile(dir),
      (s) => s?.lastScanAt != null,
      { what: 'first scan' },
    );
    expect(running).toMatchObject({ id: 'acct-gold', error: null, applied: { configVersion: 1, strategyKey: 'momentum' } });
    expect((await auditLines(dir)).map((l) => `${l.version} ${l.operation} ${l.actor}`)).toEqual(['1 baseline system']);
    expect((await gql(api.url, '{ status { configVersion } }')).body.data?.status.configVersion).toBe(1);
  });

  it('waiting on an invalid config.yaml that is then deleted, it writes neither config.yaml nor audit.log: the API does, once, at its next change', async () => {
    const { dir, api, runner, status } = await startSeparate();
    await waitUntil(status, (s) => s.runner.state === 'RUNNING', { what: 'runner up' });
    expect(await runner.stop('SIGTERM')).toBe(0);
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, 'active_strategy_key: momentum\ntrading_enabled: maybe\n');
    await waitUntil(status, (s) => s.configError !== null, { what: 'the API reports the invalid file' });
    const second = spawnStratctl(['runner', '--runtime-dir', dir, '--heartbeat-ms', String(HEARTBEAT_MS)]);
    await waitUntil(
      () => readRunnerStateFile(dir),
      (s) => s?.pid === second.proc.pid && /config file invalid/.test(s?.error ?? ''),
      { what: 'the runner waiting' },
    );
    await unlink(file);
    await waitUntil(status, (s) => /the file is missing/.test(s.configError?.message ?? ''), { what: 'the API reports it missing' });
    await waitUntil(
      () => readRunnerStateFile(dir),
      (s) => /the file is missing/.test(s?.error ?? ''),
      { what: 'the runner reports it missing' },
    );
    // Past the runner's retries and the settle window: still nothing written by it.
    await new Promise((r) => setTimeout(r, 1500));
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await auditLines(dir)).map((l) => `${l.version} ${l.operation}`)).toEqual(['1 baseline']);
    expect(second.stdout()).not.toMatch(/strategy runner started/);

    const res = await gql(api.url, 'mutation { activateStrategy(strategyKey: "gold") { configVersion } }', undefined, { token: TOKEN });
    expect(res.body.data?.activateStrategy).toEqual({ configVersion: 2 });
    await second.waitFor(/strategy runner started/);
    await waitUntil(status, (s) => s.runner.appliedConfigVersion === 2 && s.runner.state === 'RUNNING', { what: 'runner on 2' });
    expect((await auditLines(dir)).map((l) => `${l.version} ${l.operation} ${l.actor}`)).toEqual([
      '1 baseline system',
      '2 activateStrategy admin',
    ]);
  });
  it('stopped (SIGTERM) while it waits for a valid config, it reports STOPPED at once (not ERROR, then STALE for good)', async () => {
    const dir = await tempRuntimeDir();
    const api = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: TOKEN });
    const file = path.join(dir, 'config.yaml');
    await writeWhole(file, (await readFile(file, 'utf8')).replace(/active_strategy_key: \w+/, 'active_strategy_key: nosuch'));
    const status = async () => (await gql(api.url, STATUS)).body.data?.status;
    await waitUntil(status, (s) => s.configError !== null, { what: 'the API reports the invalid file' });
    const runner = spawnStratctl(['runner', '--runtime-dir', dir, '--heartbeat-ms', String(HEARTBEAT_MS)]);
    const waiting = await waitUntil(status, (s) => s.runner.state === 'ERROR' && s.runner.pid === runner.proc.pid, {
      what: 'the runner waiting',
    });
    expect(waiting.runner.error).toMatch(/^config file invalid: /);
    expect(await runner.stop('SIGTERM')).toBe(0);
    // Its last word, written before it exited: nothing later can turn it into STALE.
    const last = await readRunnerStateFile(dir);
    expect(last).toMatchObject({ pid: runner.proc.pid, stopped: true, applied: null });
    expect(last?.error).toMatch(/^config file invalid: /);
    const stopped = await waitUntil(status, (s) => s.runner.state !== 'ERROR', { what: 'the API sees the stop' });
    expect(stopped.runner).toMatchObject({ state: 'STOPPED', pid: runner.proc.pid });
    // Past the stale threshold (3 heartbeats): still STOPPED, and the API never called it STALE.
    await new Promise((r) => setTimeout(r, 3 * HEARTBEAT_MS + 500));
    expect((await status()).runner.state).toBe('STOPPED');
    expect(api.stdout() + api.stderr()).not.toMatch(/ is STALE/);
    expect(runner.stdout()).not.toMatch(/strategy runner started/);
  });

  it('stopped (SIGINT) in an empty runtime dir, before any serve wrote config.yaml, it reports STOPPED as itself', async () => {
    const dir = await tempRuntimeDir();
    const runner = spawnStratctl(['runner', '--runtime-dir', dir, '--heartbeat-ms', String(HEARTBEAT_MS), '--runner-id', 'acct-gold']);
    await waitUntil(
      () => readRunnerStateFile(dir),
      (s) => /the file is missing/.test(s?.error ?? ''),
      { what: 'the runner waiting' },
    );
    expect(await runner.stop('SIGINT')).toBe(0);
    expect(await readRunnerStateFile(dir)).toMatchObject({ id: 'acct-gold', pid: runner.proc.pid, stopped: true, applied: null });
    // serve, started later, shows it STOPPED (not STALE).
    const api = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: TOKEN });
    expect((await gql(api.url, STATUS)).body.data?.status.runner).toMatchObject({ state: 'STOPPED', pid: runner.proc.pid });
  });
});

async function auditLines(dir: string): Promise<{ version: number; operation: string; actor: string }[]> {
  return (await readFile(path.join(dir, 'audit.log'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}
