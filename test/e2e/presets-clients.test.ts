import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GraphQLError, print } from 'graphql';
import { createClient } from 'graphql-sse';
import type { Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { SET_ATTEMPTS } from '../../src/cli/preset.js';
import { gql } from '../helpers/http.js';
import { UPSERT } from '../helpers/presets.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, spawnStratctl, startTestServer, type TestServer } from '../helpers/server.js';
import { STORE_BACKENDS } from '../helpers/store-backends.js';
import { stratctl } from '../helpers/stratctl.js';
import { waitUntil } from '../helpers/wait.js';

const envFor = (server: TestServer, extra: Record<string, string | undefined> = {}) => ({
  CONTROL_PLANE_URL: server.url,
  CONTROL_PLANE_TOKEN: server.token,
  ...extra,
});

for (const backend of STORE_BACKENDS) {
  backend.describe(`presets through stratctl (${backend.name} store)`, () => {
    it('preset set adds and edits (only the fields given), list shows them, delete removes; exit codes per DESIGN', {
      timeout: 60_000,
    }, async () => {
      const server = await backend.start();
      const env = envFor(server);
      const added = await stratctl(
        ['preset', 'set', 'gold_fast', 'base=gold', 'name=Gold Trend (fast)', 'tunables.fast_ma_period=8', 'tunables.slow_ma_period=21'],
        env,
      );
      expect(added.code, added.stderr).toBe(0);
      expect(added.stdout).toBe('added preset gold_fast (gold_fast.base, gold_fast.name, gold_fast.tunables); presets version 1\n');

      // Only what is given changes: the name and the other tunable stay; null puts a field back to the base's.
      const edited = await stratctl(
        ['preset', 'set', 'gold_fast', 'tunables.fast_ma_period=9', 'risk_level=medium', 'instruments=[XAU_USD]'],
        env,
      );
      expect(edited.code, edited.stderr).toBe(0);
      expect(edited.stdout).toBe(
        'changed preset gold_fast (gold_fast.instruments, gold_fast.risk_level, gold_fast.tunables); presets version 2\n',
      );
      const text = (await server.readPresets()) ?? '';
      expect(text).toMatch(/name: Gold Trend \(fast\)/);
      expect(text).toMatch(/fast_ma_period: 9\n\s+slow_ma_period: 21/);
      const back = await stratctl(['preset', 'set', 'gold_fast', 'risk_level=null', '--json'], env);
      expect(JSON.parse(back.stdout)).toMatchObject({ changed: true, presetsVersion: 3, strategy: { riskLevel: 'HIGH' } });
      const same = await stratctl(['preset', 'set', 'gold_fast', 'tunables.fast_ma_period=9'], env);
      expect(same.stdout).toBe('nothing changed; presets version 3\n');

      await stratctl(['activate', 'gold_fast'], env);
      const list = await stratctl(['preset', 'list'], env);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/^\s+KEY\s+BASE\s+NAME\s+INSTRUMENTS\s+TUNABLES \(own\)$/m);
      expect(list.stdout).toMatch(/^\*\s+gold_fast\s+gold\s+Gold Trend \(fast\)\s+XAU_USD\s+fast_ma_period=9,slow_ma_period=21$/m);
      expect(list.stdout).toMatch(/^presets version 3$/m);
      const strategies = await stratctl(['strategies', '--json'], env);
      expect(JSON.parse(strategies.stdout).at(-1)).toMatchObject({ key: 'gold_fast', source: 'PRESET', base: 'gold', isActive: true });

      // Refusals: in use (2), out of bounds (2), a new preset without base (2, before any request), stale --if-version (4), no token (3).
      const inUse = await stratctl(['preset', 'delete', 'gold_fast'], env);
      expect(inUse.code).toBe(2);
      expect(inUse.stderr).toMatch(/^error: Refused: the config in force uses/);
      // The message says what to do; the hint adds no "fix the values" (none were given) and no other command.
      expect(inUse.stderr).toMatch(/\nNothing was changed\.\n$/);
      const unknown = await stratctl(['preset', 'delete', 'no_such'], env);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/unknown preset "no_such" .*\nNothing was changed\. "stratctl preset list" lists the presets\.\n$/);
      const staticKey = await stratctl(['preset', 'set', 'momentum_v2', 'name=X'], env);
      expect(staticKey.code).toBe(2);
      expect(staticKey.stderr).toMatch(
        /momentum_v2 is a static strategy, not a preset: a preset needs a key of its own, e\.g\. momentum_v2_custom with base=momentum_v2/,
      );
      const bounds = await stratctl(['preset', 'set', 'gold_fast', 'tunables.fast_ma_period=0'], env);
      expect(bounds.code).toBe(2);
      expect(bounds.stderr).toMatch(/tunables\.fast_ma_period: must be an integer in \[2, 200\], got 0/);
      const noBase = await stratctl(['preset', 'set', 'new_one', 'name=New'], env);
      expect(noBase.code).toBe(2);
      expect(noBase.stderr).toMatch(/a new one needs base=<static strategy> and name=<text>/);
      const badKey = await stratctl(['preset', 'set', 'gold_fast', 'colour=red'], env);
      expect(badKey.code).toBe(2);
      expect(badKey.stderr).toMatch(/unknown key "colour"/);
      const stale = await stratctl(['preset', 'set', 'gold_fast', 'name=X', '--if-version', '1'], env);
      expect(stale.code).toBe(4);
      expect(stale.stderr).toMatch(/Presets version conflict: expected 1, current 3\n.*retry with --if-version 3/);
      const noToken = await stratctl(['preset', 'delete', 'gold_fast'], { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_TOKEN: '' });
      expect(noToken.code).toBe(3);

      await stratctl(['activate', 'gold'], env);
      const deleted = await stratctl(['preset', 'delete', 'gold_fast', '--if-version', '3'], env);
      expect(deleted.code, deleted.stderr).toBe(0);
      expect(deleted.stdout).toBe('deleted preset gold_fast (Gold Trend (fast)); presets version 4\n');
      // An empty list is said on stderr, as history, audit and token list say it; stdout keeps the version.
      const none = await stratctl(['preset', 'list'], env);
      expect([none.stdout, none.stderr]).toEqual(['presets version 4\n', 'no presets\n']);
      // A rollback to a version whose active preset is gone: the message says what to do; nothing to "fix above".
      const history = await server.gql<{ configHistory: { version: number; config: { activeStrategyKey: string } }[] }>(
        '{ configHistory { version config { activeStrategyKey } } }',
      );
      const withPreset = history.body.data?.configHistory.find((e) => e.config.activeStrategyKey === 'gold_fast')?.version;
      const rollback = await stratctl(['rollback', String(withPreset)], env);
      expect(rollback.code).toBe(2);
      expect(rollback.stderr).toMatch(
        /^error: Cannot roll back to version \d+: its active strategy gold_fast is not a strategy now.*\nNothing was changed\.\n$/s,
      );
    });
  });

  backend.describe(`presets over REST and subscriptions (${backend.name} store)`, () => {
    it('GET /api/strategies lists presets after the static ones; POST /api/strategy/activate takes a preset key', async () => {
      const server = await backend.start();
      await server.gql(UPSERT, { input: { key: 'gold_fast', base: 'gold', name: 'Gold fast', tunables: { fast_ma_period: 8 } } });
      const list = await fetch(`${server.origin}/api/strategies`);
      const { strategies } = (await list.json()) as { strategies: Record<string, unknown>[] };
      expect(strategies.at(-1)).toMatchObject({
        key: 'gold_fast',
        name: 'Gold fast',
        source: 'preset',
        base: 'gold',
        instruments: ['XAU_USD'],
        risk_level: 'high',
        tunables: { fast_ma_period: 8, slow_ma_period: 50 },
      });
      expect(strategies[0]).toMatchObject({ key: 'momentum', source: 'static', base: null });
      const activate = await fetch(`${server.origin}/api/strategy/activate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ strategy_key: 'gold_fast' }),
      });
      expect(activate.status).toBe(200);
      expect(await activate.json()).toMatchObject({ active_strategy_key: 'gold_fast', previous_strategy_key: 'momentum' });
    });

    it('strategiesChanged fires when the set changes, through the API and by hand', async () => {
      const server = await backend.start();
      const client = createClient({ url: server.url, retryAttempts: 0 });
      const received: string[][] = [];
      const errors: unknown[] = [];
      let onConnected!: () => void;
      const connected = new Promise<void>((resolve) => {
        onConnected = resolve;
      });
      const dispose = client.subscribe<{ strategiesChanged: { key: string }[] }>(
        { query: 'subscription { strategiesChanged { key source } }' },
        {
          next: (r) => received.push((r.data?.strategiesChanged ?? []).map((s) => s.key)),
          error: (e) => errors.push(e),
          complete: () => {},
        },
        { connected: () => onConnected() },
      );
      try {
        await connected;
        await server.gql(UPSERT, { input: { key: 'gold_fast', base: 'gold', name: 'Gold fast' } });
        await waitUntil(
          async () => received,
          (r) => r.some((keys) => keys.includes('gold_fast')),
          { what: 'the upsert heard' },
        );
        await server.editPresets((t) => `${t}  range_wide:\n    base: range\n    name: Range (wide)\n`);
        await waitUntil(
          async () => received,
          (r) => r.some((keys) => keys.at(-1) === 'range_wide'),
          { what: 'the hand edit heard' },
        );
        expect(received.at(-1)).toEqual(['momentum', 'gold', 'range', 'eur_usd_5m_safe', 'momentum_v2', 'gold_fast', 'range_wide']);
        expect(errors).toEqual([]);
      } finally {
        dispose();
        client.dispose();
      }
    });
  });
}

describe('presets through stratctl', { timeout: 60_000 }, () => {
  it('preset set re-reads and retries when the set moved on between its read and its write', async () => {
    const server = await startTestServer();
    await server.gql(UPSERT, { input: { key: 'calm', base: 'range', name: 'Calm' } });
    // Many concurrent edits of different tunables: each lands, none overwrites another's.
    const tunables = ['band_period=30', 'band_std_dev=2.5', 'stop_loss_pips=20'];
    const results = await Promise.all(tunables.map((t) => stratctl(['preset', 'set', 'calm', `tunables.${t}`], envFor(server))));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    const own = (await server.gql('{ strategy(key: "calm") { preset { tunables } } }')).body.data?.strategy.preset.tunables;
    expect(own).toEqual({ band_period: 30, band_std_dev: 2.5, stop_loss_pips: 20 });
  });

  it('12 scripts adding different presets at once all succeed (with 3 attempts, 7 of 12 exited 4)', async () => {
    const server = await startTestServer();
    const keys = Array.from({ length: 12 }, (_, i) => `batch_${i}`);
    const results = await Promise.all(
      keys.map((key) => stratctl(['preset', 'set', key, 'base=gold', `name=Batch ${key}`], envFor(server))),
    );
    expect(results.map((r) => [r.code, r.stderr])).toEqual(keys.map(() => [0, '']));
    const { strategies, status } = (await server.gql('{ strategies { key } status { presetsVersion } }')).body.data ?? {};
    expect(
      strategies
        .map((s: { key: string }) => s.key)
        .filter((k: string) => k.startsWith('batch_'))
        .sort(),
    ).toEqual([...keys].sort());
    expect(status.presetsVersion).toBe(12);
  });

  it('preset set that loses every attempt to other writers says so (exit 4), not "retry with --if-version"', async () => {
    let upserts = 0;
    // Another writer wins each time: every upsert is answered as the server answers a stale version.
    const busy: Plugin = {
      onExecute({ args, setResultAndStopExecution }) {
        if (!print(args.document).includes('upsertPreset')) return;
        upserts += 1;
        const conflict = { code: 'CONFLICT', http: { status: 409 }, currentVersion: upserts + 1, expectedVersion: upserts };
        setResultAndStopExecution({
          data: null,
          errors: [new GraphQLError(`Presets version conflict: expected ${upserts}, current ${upserts + 1}`, { extensions: conflict })],
        });
      },
    };
    const server = await startTestServer({ yogaPlugins: [busy] });
    const result = await stratctl(['preset', 'set', 'calm', 'base=range', 'name=Calm'], envFor(server));
    expect(result.code).toBe(4);
    expect(upserts).toBe(SET_ATTEMPTS);
    expect(result.stderr).toContain(
      `error: the presets changed ${SET_ATTEMPTS} times while this was being set (between reading the preset and writing it back): nothing was written`,
    );
    expect(result.stderr).toContain('Other changes to the presets won each time: run the same command again.');
    expect(result.stderr).not.toContain('--if-version');
  });
});

describe('presets across a restart', () => {
  it('a preset (and its activation) survive a restart with the same versions and no new audit entries', async () => {
    const first = await startTestServer();
    await first.gql(UPSERT, { input: { key: 'gold_fast', base: 'gold', name: 'Gold fast', tunables: { fast_ma_period: 8 } } });
    await first.gql('mutation { activateStrategy(strategyKey: "gold_fast") { configVersion } }');
    const audit = '{ auditLog(last: 50) { subject version operation } }';
    const trail = (await first.gql(audit)).body.data?.auditLog;
    await first.close();
    const second = await startTestServer({ runtimeDir: first.runtimeDir, runner: { heartbeatMs: 200 } });
    const s = await waitUntil(
      async () =>
        (await second.gql('{ status { activeStrategyKey presetsVersion runner { appliedStrategyKey inSync } } }')).body.data?.status,
      (st) => st.runner.inSync,
      { what: 'the runner on the restarted server' },
    );
    expect(s).toEqual({ activeStrategyKey: 'gold_fast', presetsVersion: 1, runner: { appliedStrategyKey: 'gold_fast', inSync: true } });
    expect((await second.gql(audit)).body.data?.auditLog).toEqual(trail);
  });

  it('serve refuses to start on an invalid strategies.yaml: exit 78, the file and line named, the file left as it is', async () => {
    const dir = await tempRuntimeDir();
    const text = 'version: 1\npresets:\n  gold_fast:\n    base: gold\n    name: Gold fast\n    tunables: { fast_ma_period: 0 }\n';
    await writeFile(path.join(dir, 'strategies.yaml'), text);
    const serve = spawnStratctl(['serve', '--port', '0', '--runtime-dir', dir, '--no-runner']);
    expect(await serve.exited).toBe(78);
    expect(serve.stdout() + serve.stderr()).toMatch(
      /strategies\.yaml is invalid: line 6, column \d+: presets\.gold_fast\.tunables\.fast_ma_period: must be an integer in \[2, 200\], got 0/,
    );
    expect(await readFile(path.join(dir, 'strategies.yaml'), 'utf8')).toBe(text);
  });
});

describe('presets with the runner in its own process', () => {
  it('stratctl runner (beside serve --no-runner) reads strategies.yaml too: it runs a preset added through the API, and its edits', async () => {
    const dir = await tempRuntimeDir();
    const api = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: 'separate-presets-token-0123456789' });
    const runner = spawnStratctl(['runner', '--runtime-dir', dir, '--heartbeat-ms', '500']);
    await runner.waitFor(/strategy runner started/);
    const call = (query: string, variables?: Record<string, unknown>) =>
      gql(api.url, query, variables, { token: 'separate-presets-token-0123456789' });
    // The simulated feed's direction is anyone's guess; the tunable shows in the signal's values.
    const preset = { key: 'gold_fast', base: 'gold', name: 'Gold fast', tunables: { min_separation_pct: 0.01 } };
    expect((await call(UPSERT, { input: preset })).body.errors).toBeUndefined();
    const activated = await call(
      'mutation { activateStrategy(strategyKey: "gold_fast", waitForRunner: true, timeoutMs: 15000) { runnerWait { applied } } }',
    );
    expect(activated.body.data?.activateStrategy.runnerWait).toEqual({ applied: true });
    const status = async () =>
      (await call('{ status { runner { inSync appliedPresetsVersion lastSignals { strategyKey values } } } }')).body.data?.status.runner;
    await waitUntil(status, (r) => r.lastSignals[0]?.values.minSeparationPct === 0.01, { what: 'a scan of gold_fast' });
    await call(UPSERT, { input: { ...preset, tunables: { min_separation_pct: 0.02 } } });
    const edited = await waitUntil(status, (r) => r.lastSignals[0]?.values.minSeparationPct === 0.02, { what: 'the edit applied' });
    expect(edited).toMatchObject({ inSync: true, appliedPresetsVersion: 2, lastSignals: [{ strategyKey: 'gold_fast' }] });
    // Recorded once, by the API process: the runner process reads the same files and records nothing.
    const trail = (await readFile(path.join(dir, 'audit.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { subject: string; operation: string; version: number });
    expect(trail.map((e) => `${e.subject} ${e.version} ${e.operation}`)).toEqual([
      'CONFIG 1 baseline',
      'PRESETS 1 upsertPreset',
      'CONFIG 2 activateStrategy',
      'PRESETS 2 upsertPreset',
    ]);
  });
});
